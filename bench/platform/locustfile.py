"""The runbook's load-test profile for kiln's platform API (issue 11, item 7):

    locust -f bench/platform/locustfile.py --users 100 --spawn-rate 10 --headless -t 60s \
        --host http://HOST:PORT

Each user mostly predicts through an endpoint (POST /api/v1/endpoints/{name}/predict) with a
light mix of GET /health and GET /api/v1/endpoints/{name} (the endpoint's status), weights
20 : 1 : 1. Settings (environment variables):

  KILN_ENDPOINT        endpoint name (default "driver", what bench/platform/run.sh creates)
  KILN_PAYLOAD         the predict body as JSON text, sent as is, or
  KILN_PAYLOAD_FILE    a file holding it; neither set: {"entities": {"driver_id": [id]}} with id
                       cycling over KILN_ENTITY_COUNT (default 1000) drivers from
                       KILN_ENTITY_FIRST (default 1001)
  KILN_ENTITY_KEY      the entity join key for the generated bodies (default "driver_id")
  LOCUST_FAST_HTTP=1   FastHttpUser instead of HttpUser (see below)
  LOCUST_WAIT_MIN/MAX  seconds each user waits between calls (default 0.5 / 1.5: ~100 req/s for
                       100 users, the runbook's scale)

A non-2xx answer, or a predict answer without "predictions", is a failure. The runbook asks avg
< 200 ms, P95 < 500 ms, < 1 % errors; issue 11's target is avg < 5 ms, P95 < 10 ms, 0 errors.
bench/platform/run.sh locust runs it against a fresh kiln and prints avg, P95 and error %.
"""
import itertools
import json
import os

from locust import FastHttpUser, HttpUser, between, task

ENDPOINT = os.environ.get("KILN_ENDPOINT", "driver")
ENTITY_KEY = os.environ.get("KILN_ENTITY_KEY", "driver_id")
FIRST = int(os.environ.get("KILN_ENTITY_FIRST", "1001"))
COUNT = int(os.environ.get("KILN_ENTITY_COUNT", "1000"))
WAIT_MIN = float(os.environ.get("LOCUST_WAIT_MIN", "0.5"))
WAIT_MAX = float(os.environ.get("LOCUST_WAIT_MAX", "1.5"))


def _fixed_payload():
    if os.environ.get("KILN_PAYLOAD"):
        return os.environ["KILN_PAYLOAD"]
    path = os.environ.get("KILN_PAYLOAD_FILE")
    if path:
        with open(path) as f:
            return f.read()
    return None


FIXED = _fixed_payload()
if FIXED is not None:
    json.loads(FIXED)  # fail at start, not on every request, when the payload is not JSON
_ids = itertools.count()


# The runbook's users are plain HttpUser (python-requests); LOCUST_FAST_HTTP=1 swaps in locust's
# geventhttpclient user, whose own per-request overhead is smaller (the latency then shows more of
# the server and less of the client sharing its cores).
_Base = FastHttpUser if os.environ.get("LOCUST_FAST_HTTP") == "1" else HttpUser


class PlatformUser(_Base):
    wait_time = between(WAIT_MIN, WAIT_MAX)

    def _body(self):
        if FIXED is not None:
            return FIXED
        return '{"entities":{"%s":[%d]}}' % (ENTITY_KEY, FIRST + next(_ids) % COUNT)

    @task(20)
    def predict(self):
        with self.client.post(f"/api/v1/endpoints/{ENDPOINT}/predict", data=self._body(),
                              headers={"Content-Type": "application/json"},
                              name="/api/v1/endpoints/{name}/predict", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")
            elif "predictions" not in r.text:
                r.failure(f"no predictions in {r.text[:200]}")

    @task(1)
    def health(self):
        self.client.get("/health", name="/health")

    @task(1)
    def status(self):
        self.client.get(f"/api/v1/endpoints/{ENDPOINT}", name="/api/v1/endpoints/{name}")
