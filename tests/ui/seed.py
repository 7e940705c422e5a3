"""Seeds a running kiln for the browser tests and prints what it made as JSON.

A small experiment ("ui-small") is written through the unmodified `mlflow`
client (params, metrics, tags, one run per learning rate; "loss" with a
3-step history) so the tests can filter, sort, group and read last/min/max
on known values. The 100,000-run experiment ("ui-100k") is
written over MLflow's REST API (runs/create, then runs/log-batch for a few
runs) on several keep-alive connections in parallel: the mlflow client makes
one create_run call per run, ~100,000 round trips through its retry layer,
which took minutes here.

    python seed.py http://127.0.0.1:PORT [N_RUNS]
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlparse

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient


def seed_small(client: MlflowClient) -> str:
    exp_id = client.create_experiment("ui-small")
    base = 1_700_000_000_000
    for i, lr in enumerate(["0.001", "0.01", "0.1", "0.3", "1.0"]):
        run = client.create_run(exp_id, run_name=f"lr-{lr}", start_time=base + i * 1000,
                                tags={"team": "vision" if i % 2 == 0 else "nlp"})
        client.log_batch(run.info.run_id,
                         # loss has a history (max first, min in the middle, last at step 2) so the
                         # table's last/min/max differ: last 1/(i+1), min 0.8/(i+1), max 1.5/(i+1).
                         metrics=[Metric("accuracy", 0.5 + i * 0.1, base + i, 0),
                                  Metric("loss", 1.5 / (i + 1), base + i, 0), Metric("loss", 0.8 / (i + 1), base + i, 1),
                                  Metric("loss", 1.0 / (i + 1), base + i, 2)],
                         params=[Param("lr", lr), Param("optimizer", "adam" if i < 3 else "sgd")],
                         tags=[RunTag("mlflow.user", "seed")])
        client.set_terminated(run.info.run_id, end_time=base + i * 1000 + 500)
    return exp_id


class Poster:
    """One keep-alive HTTP connection (not thread-safe: one per thread)."""

    def __init__(self, url: str):
        u = urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)

    def post(self, path: str, body: dict) -> dict:
        self.conn.request("POST", "/api/2.0/mlflow" + path, body=json.dumps(body),
                          headers={"Content-Type": "application/json"})
        res = self.conn.getresponse()
        data = res.read()
        if res.status != 200:
            raise RuntimeError(f"{path}: {res.status} {data[:200]!r}")
        return json.loads(data)


def seed_many(url: str, exp_id: str, n: int, threads: int = 16) -> None:
    base = 1_600_000_000_000
    errors: list[BaseException] = []

    def work(start: int) -> None:
        try:
            p = Poster(url)
            for i in range(start, n, threads):
                run = p.post("/runs/create", {"experiment_id": exp_id, "run_name": f"run-{i:06d}",
                                             "start_time": base + i * 1000,
                                             "tags": [{"key": "shard", "value": str(i % 10)}]})
                if i % 1000 == 0:  # a few runs with values to show in columns
                    p.post("/runs/log-batch", {"run_id": run["run"]["info"]["run_id"],
                                               "params": [{"key": "lr", "value": str(i)}],
                                               "metrics": [{"key": "loss", "value": i / n, "timestamp": base, "step": 0}]})
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def main() -> None:
    url = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    mlflow.set_tracking_uri(url)
    client = MlflowClient(url)
    t0 = time.monotonic()
    small = seed_small(client)
    t1 = time.monotonic()
    big = client.create_experiment("ui-100k")
    seed_many(url, big, n)
    t2 = time.monotonic()
    print(json.dumps({"small": small, "big": big, "big_runs": n,
                      "small_seconds": round(t1 - t0, 2), "big_seconds": round(t2 - t1, 2)}))


if __name__ == "__main__":
    main()
