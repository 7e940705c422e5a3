"""Redis online store: kiln and Feast share one Redis in Feast's own layout.

A real redis-server (Debian's 7.0, password required, one instance TLS-only
with a certificate made here) holds the online rows. Both sides use kiln's
registry (Feast's remote registry on kiln's gRPC port), so they know the same
views; the rows travel only through Redis:

(a) the unmodified Feast SDK with Feast's own Redis online store materializes
    (no kiln in the write) and kiln's feature server reads the same rows;
(b) kiln writes (/write-to-online-store, /push, /materialize) and the Feast
    SDK reads them from Redis directly;
(c) a password (in the URI or a file) and TLS (rediss:// with a CA file),
    and kiln refusing to start on a wrong password or an untrusted server;
(d) writers on two kiln replicas racing on the same entities never replace
    a newer row with an older one.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from feast_fixtures import (
    CUSTOMER_IDS,
    DRIVER_IDS,
    PROJECT,
    feast_cli,
    feature_store,
    start_feast_kiln,
    utc_now_s,
    write_default_data,
    write_feast_repo,
)
from redis_server import PASSWORD, RedisServer, make_tls

pytestmark = pytest.mark.kiln_only

DRIVER_FEATURES = ["driver_hourly_stats:conv_rate", "driver_hourly_stats:acc_rate",
                   "driver_hourly_stats:avg_daily_trips"]
CUSTOMER_FEATURES = ["customer_profile:name", "customer_profile:age", "customer_profile:score",
                     "customer_profile:vip", "customer_profile:tags"]
ALL_FEATURES = DRIVER_FEATURES + CUSTOMER_FEATURES
UNKNOWN_DRIVER = 4242


@pytest.fixture
def redis_server(tmp_path):
    srv = RedisServer(tmp_path / "redis").start()
    yield srv
    srv.stop()


def redis_repo(kiln_repo: Path, directory: Path, redis: RedisServer, **online) -> Path:
    """The same Feast repo (definitions, data, kiln's registry) with Feast's
    own Redis online store instead of kiln's feature server."""
    directory.mkdir(parents=True, exist_ok=True)
    text = (kiln_repo / "feature_store.yaml").read_text()
    head, _, rest = text.partition("online_store:\n")
    rest = rest.split("\n", 2)[2]  # drop the remote store's type and path lines
    extra = "".join(f"  {k}: {json.dumps(v)}\n" for k, v in online.items())
    (directory / "feature_store.yaml").write_text(
        head + "online_store:\n  type: redis\n"
        f"  connection_string: {json.dumps(redis.feast_connection_string())}\n" + extra + rest)
    (directory / "features.py").write_text((kiln_repo / "features.py").read_text())
    return directory


def start_on_redis(kiln_factory, redis: RedisServer, *extra: str):
    return start_feast_kiln(kiln_factory, "--online-store-uri", redis.kiln_uri(), *extra)


def setup_repos(kiln_factory, redis, tmp_path, *kiln_args, uri=None):
    args = ("--online-store-uri", uri or redis.kiln_uri(), *kiln_args)
    srv = start_feast_kiln(kiln_factory, *args)
    kiln_repo = write_feast_repo(tmp_path / "kiln-repo", srv)
    feast_cli(kiln_repo, "apply")
    data = write_default_data(kiln_repo)
    direct = redis_repo(kiln_repo, tmp_path / "redis-repo", redis)
    return srv, kiln_repo, direct, data


def entity_rows():
    return [{"driver_id": d, "customer_id": c}
            for d, c in zip(DRIVER_IDS + [UNKNOWN_DRIVER], CUSTOMER_IDS + ["c1", "c2", "nobody"])]


FLOAT32 = {"conv_rate"}
FLOATS = {"conv_rate", "acc_rate", "score"}


def kiln_columns(srv, features, rows):
    """kiln's /get-online-features answer as {name: values}, values decoded
    the way Feast's SDK returns them (float32 widened, JSON's Infinity/NaN
    spellings as floats). Raw HTTP: the SDK's remote store cannot parse an
    empty list value ("Couldn't infer value type from empty value")."""
    entities = {k: [r[k] for r in rows] for k in rows[0]}
    cols = kiln_online(srv, features, entities)
    out = {}
    for name, res in cols.items():
        values = []
        for v in res["values"]:
            if name in FLOATS and isinstance(v, str):
                v = float(v)  # "Infinity", "-Infinity", "NaN"
            if name in FLOAT32 and v is not None:
                v = float(np.float32(v))
            values.append(v)
        out[name] = values
    return out


def assert_same_rows(srv, redis_store, rows=None, features=ALL_FEATURES):
    """kiln (reading Redis) and Feast's SDK (reading Redis itself) give the
    same value for every feature of every row."""
    rows = rows or entity_rows()
    via_kiln = kiln_columns(srv, features, rows)
    via_redis = redis_store.get_online_features(features=features, entity_rows=rows).to_dict()
    assert sorted(via_kiln) == sorted(via_redis)
    for name in via_redis:
        assert via_kiln[name] == via_redis[name], name
    return via_redis


def kiln_online(srv, features, entities):
    r = requests.post(srv.url + "/get-online-features", json={"features": features, "entities": entities},
                      timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    return {name: res for name, res in zip(body["metadata"]["feature_names"], body["results"])}


def rfc3339(seconds: int, nanos: int) -> str:
    t = datetime.fromtimestamp(seconds, tz=timezone.utc) + timedelta(microseconds=nanos // 1000)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if t.microsecond:
        text += f".{t.microsecond:06d}".rstrip("0")
    return text + "Z"


# --- (a) Feast writes, kiln reads ------------------------------------------

def test_feast_materializes_into_redis_and_kiln_serves_the_same_rows(kiln_factory, redis_server, tmp_path):
    srv, kiln_repo, direct, data = setup_repos(kiln_factory, redis_server, tmp_path)
    redis_store = feature_store(direct)
    now = data["now"]
    # Feast's own materialization: offline Parquet -> Feast's Redis store.
    redis_store.materialize(start_date=now - timedelta(days=3), end_date=now + timedelta(minutes=1))
    assert redis_server.client().dbsize() == len(DRIVER_IDS) + len(CUSTOMER_IDS)

    got = assert_same_rows(srv, redis_store)
    newest = data["drivers"].sort_values("event_timestamp").groupby("driver_id").last()
    assert got["avg_daily_trips"] == [int(newest.loc[d, "avg_daily_trips"]) for d in DRIVER_IDS] + [None]
    assert got["conv_rate"][:5] == [float(np.float32(newest.loc[d, "conv_rate"])) for d in DRIVER_IDS]
    assert got["tags"] == [["a", "b"], [], ["c"], ["a", "b"], [], None]

    # Event timestamps: kiln's answer carries the Timestamp Feast stored.
    feast_resp = redis_store.get_online_features(features=DRIVER_FEATURES,
                                                 entity_rows=[{"driver_id": d} for d in DRIVER_IDS]).proto
    names = list(feast_resp.metadata.feature_names.val)
    feast_ts = feast_resp.results[names.index("avg_daily_trips")].event_timestamps
    cols = kiln_online(srv, DRIVER_FEATURES, {"driver_id": DRIVER_IDS + [UNKNOWN_DRIVER]})
    trips = cols["avg_daily_trips"]
    assert trips["event_timestamps"][:5] == [rfc3339(t.seconds, t.nanos) for t in feast_ts]
    assert trips["statuses"][:4] == ["PRESENT"] * 4
    assert trips["statuses"][4] == "OUTSIDE_MAX_AGE"  # 1005: 2 days old, 24 h ttl (value still returned)
    assert trips["statuses"][5] == "NOT_FOUND"        # kiln's status; Feast's Python server says PRESENT
    assert trips["values"][5] is None


# --- (b) kiln writes, Feast reads ------------------------------------------

def test_kiln_writes_and_feast_reads_them_from_redis(kiln_factory, redis_server, tmp_path):
    srv, kiln_repo, direct, data = setup_repos(kiln_factory, redis_server, tmp_path)
    kiln_store, redis_store = feature_store(kiln_repo), feature_store(direct)
    now = data["now"]
    # /materialize on kiln: kiln reads the Parquet and writes Redis.
    kiln_store.materialize(start_date=now - timedelta(days=3), end_date=now + timedelta(minutes=1))
    assert_same_rows(srv, redis_store)

    # /write-to-online-store and /push through kiln.
    t = now - timedelta(minutes=10)
    written = pd.DataFrame({"driver_id": [1001, 1002], "event_timestamp": [t, t], "created": [now, now],
                            "conv_rate": np.array([0.125, 2.5], dtype="float32"), "acc_rate": [1e-300, None],
                            "avg_daily_trips": [-7, 2**53 + 1]})
    kiln_store.write_to_online_store("driver_hourly_stats", written)
    pushed = pd.DataFrame({"driver_id": [1003], "event_timestamp": [t], "created": [now],
                           "conv_rate": np.array([0.5], dtype="float32"), "acc_rate": [3.25],
                           "avg_daily_trips": [33]})
    kiln_store.push("driver_stats_push", pushed)
    customers = pd.DataFrame({"customer_id": ["c9"], "event_timestamp": [t], "created": [now],
                              "name": ["Zoë ✓"], "age": [0], "score": [-1.5e308], "vip": [False],
                              "tags": [["x", "", "ü"]]})
    kiln_store.write_to_online_store("customer_profile", customers)

    rows = [{"driver_id": d, "customer_id": c} for d, c in [(1001, "c9"), (1002, "c1"), (1003, "c2")]]
    got = assert_same_rows(srv, redis_store, rows)
    assert got["conv_rate"] == [0.125, 2.5, 0.5]
    assert got["acc_rate"] == [1e-300, None, 3.25]
    assert got["avg_daily_trips"] == [-7, 2**53 + 1, 33]
    assert got["name"][0] == "Zoë ✓" and got["score"][0] == -1.5e308 and got["tags"][0] == ["x", "", "ü"]

    # The hashes are Feast's: serialized entity key + project, _ts:<view> fields.
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.infra.online_stores.helpers import _mmh3
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value
    from google.protobuf.timestamp_pb2 import Timestamp

    key = serialize_entity_key(EntityKey(join_keys=["driver_id"], entity_values=[Value(int64_val=1001)]),
                               entity_key_serialization_version=3) + PROJECT.encode()
    h = redis_server.client().hgetall(key)
    ts = Timestamp()
    ts.ParseFromString(h[b"_ts:driver_hourly_stats"])
    assert ts.ToDatetime(tzinfo=timezone.utc) == t
    v = Value()
    v.ParseFromString(h[_mmh3("driver_hourly_stats:avg_daily_trips")])
    assert v.int64_val == -7


def test_an_older_row_does_not_replace_a_newer_one_from_either_side(kiln_factory, redis_server, tmp_path):
    srv, kiln_repo, direct, data = setup_repos(kiln_factory, redis_server, tmp_path)
    kiln_store, redis_store = feature_store(kiln_repo), feature_store(direct)
    now = data["now"]

    def row(trips, ts):
        return pd.DataFrame({"driver_id": [1001], "event_timestamp": [ts], "created": [now],
                             "conv_rate": np.array([0.5], dtype="float32"), "acc_rate": [0.5],
                             "avg_daily_trips": [trips]})

    def trips():
        return redis_store.get_online_features(features=["driver_hourly_stats:avg_daily_trips"],
                                               entity_rows=[{"driver_id": 1001}]).to_dict()["avg_daily_trips"][0]

    redis_store.write_to_online_store("driver_hourly_stats", row(1, now - timedelta(hours=1)))  # Feast
    kiln_store.write_to_online_store("driver_hourly_stats", row(2, now - timedelta(hours=2)))   # older: kept 1
    assert trips() == 1
    kiln_store.write_to_online_store("driver_hourly_stats", row(3, now - timedelta(hours=1)))   # equal: kept 1
    assert trips() == 1
    kiln_store.write_to_online_store("driver_hourly_stats", row(4, now - timedelta(minutes=30)))
    assert trips() == 4
    redis_store.write_to_online_store("driver_hourly_stats", row(5, now - timedelta(hours=1)))  # Feast: older
    assert trips() == 4
    assert_same_rows(srv, redis_store, [{"driver_id": 1001, "customer_id": "c1"}])


# --- (c) password and TLS ---------------------------------------------------

def run_kiln_expecting_failure(tmp_path, *args) -> str:
    from conftest import kiln_binary

    proc = subprocess.run([str(kiln_binary()), "serve", "--host", "127.0.0.1", "--port", "0",
                           "--data-dir", str(tmp_path / "refused"), *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def test_password_from_the_uri_or_a_file_and_wrong_ones_refused(kiln_factory, redis_server, tmp_path):
    out = run_kiln_expecting_failure(tmp_path, "--online-store-uri", redis_server.kiln_uri(with_password=False))
    assert "needs a password" in out
    out = run_kiln_expecting_failure(tmp_path, "--online-store-uri",
                                     redis_server.kiln_uri().replace("kiln%20redis%20pw", "wrong"))
    assert "refused the password" in out and "wrong" not in out.replace("--online-store-uri", "")

    pw_file = tmp_path / "redis.pw"
    pw_file.write_text(PASSWORD + "\n")
    srv = start_feast_kiln(kiln_factory, "--online-store-uri", redis_server.kiln_uri(with_password=False),
                           "--redis-password-file", str(pw_file))
    assert PASSWORD not in srv.log_text()
    kiln_repo = write_feast_repo(tmp_path / "kiln-repo", srv)
    feast_cli(kiln_repo, "apply")
    data = write_default_data(kiln_repo)
    kiln_store = feature_store(kiln_repo)
    kiln_store.materialize(start_date=data["now"] - timedelta(days=3), end_date=data["now"])
    direct = redis_repo(kiln_repo, tmp_path / "redis-repo", redis_server)
    assert_same_rows(srv, feature_store(direct))


def test_tls_with_a_ca_file(kiln_factory, tmp_path):
    tls = make_tls(tmp_path / "tls")
    redis = RedisServer(tmp_path / "redis-tls", tls=tls).start()
    try:
        out = run_kiln_expecting_failure(tmp_path, "--online-store-uri", redis.kiln_uri())
        assert "TLS" in out  # the system CAs do not trust the test CA
        out = run_kiln_expecting_failure(tmp_path, "--online-store-uri", redis.kiln_uri().replace("rediss", "redis"))
        assert "cannot open the online store" in out  # plain text to a TLS port

        srv, kiln_repo, direct, data = setup_repos(kiln_factory, redis, tmp_path, "--redis-ca-file", str(tls.ca))
        redis_store = feature_store(direct)
        redis_store.materialize(start_date=data["now"] - timedelta(days=3), end_date=data["now"])
        assert_same_rows(srv, redis_store)
    finally:
        redis.stop()


# --- (d) concurrent writers -------------------------------------------------

def test_concurrent_writers_on_two_replicas_keep_the_newest_row(kiln_factory, redis_server, tmp_path):
    srv_a, kiln_repo, direct, data = setup_repos(kiln_factory, redis_server, tmp_path)
    # A second replica on the same Redis; with the embedded metadata store it
    # has a registry of its own, so the views are applied there too.
    srv_b = start_on_redis(kiln_factory, redis_server)
    repo_b = write_feast_repo(tmp_path / "repo-b", srv_b)
    feast_cli(repo_b, "apply")
    now = data["now"]
    drivers = [1001, 1002, 1003]
    newest: dict[int, tuple[datetime, int]] = {}
    lock = threading.Lock()
    errors: list[str] = []

    def writer(seed: int, url: str):
        rng = random.Random(seed)
        session = requests.Session()
        for i in range(60):
            d = rng.choice(drivers)
            # Distinct event times (seed and i in the microseconds).
            ts = now - timedelta(seconds=rng.randrange(0, 80000), microseconds=seed * 1000 + i)
            value = seed * 100000 + i
            body = {"feature_view_name": "driver_hourly_stats",
                    "df": {"driver_id": [d], "event_timestamp": [ts.replace(tzinfo=None).isoformat()],
                           "created": [now.replace(tzinfo=None).isoformat()], "conv_rate": [0.5],
                           "acc_rate": [0.5], "avg_daily_trips": [value]}}
            r = session.post(url + "/write-to-online-store", json=body, timeout=30)
            if r.status_code != 200:
                errors.append(r.text)
                return
            with lock:
                if d not in newest or ts > newest[d][0]:
                    newest[d] = (ts, value)

    threads = [threading.Thread(target=writer, args=(s, (srv_a if s % 2 else srv_b).url)) for s in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    redis_store = feature_store(direct)
    got = redis_store.get_online_features(features=["driver_hourly_stats:avg_daily_trips"],
                                          entity_rows=[{"driver_id": d} for d in drivers]).to_dict()
    assert got["avg_daily_trips"] == [newest[d][1] for d in drivers]
    cols = kiln_online(srv_b, ["driver_hourly_stats:avg_daily_trips"], {"driver_id": drivers})
    assert cols["avg_daily_trips"]["values"] == [newest[d][1] for d in drivers]
