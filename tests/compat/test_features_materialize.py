"""Materialization through kiln with the unmodified Feast SDK and CLI.

With `online_store: {type: remote}` Feast 0.67's store.materialize() and
materialize_incremental() do not read the offline store themselves: they
POST /materialize and /materialize-incremental to the feature server, which
is kiln here. kiln reads the FileSource (Parquet or CSV, honouring
timestamp_field, created_timestamp_column and field_mapping), writes the
latest row per entity key in the window into its online store and records
the window in the registry.

The values kiln serves afterwards are compared with the values Feast itself
stores when it materializes the same Parquet file into its own sqlite online
store (a local Feast repo with a registry file: Feast alone, no kiln).
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from conftest import ServerProcess, backend_args, kiln_binary
from feast_fixtures import feast_cli, feature_store, utc_now_s, write_feast_repo

pytestmark = pytest.mark.kiln_only

PROJECT = "kmat"
BIG_KEYS = 600_000  # two rows each: a scan long enough to interrupt

DEFINITIONS = '''
from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Array, Bool, Bytes, Float32, Float64, Int32, Int64, String, UnixTimestamp

driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.STRING)

driver_src = FileSource(name="driver_src", path="{data_dir}/drivers.parquet",
                        timestamp_field="event_timestamp", created_timestamp_column="created",
                        field_mapping={"conv": "conv_rate"})
driver_stats = FeatureView(
    name="driver_stats", entities=[driver], ttl=timedelta(days=2),
    schema=[Field(name="conv_rate", dtype=Float32), Field(name="acc_rate", dtype=Float64),
            Field(name="trips", dtype=Int64), Field(name="label", dtype=String),
            Field(name="active", dtype=Bool), Field(name="last_seen", dtype=UnixTimestamp),
            Field(name="trips_f", dtype=Float32)],
    source=driver_src)
driver_offline = FeatureView(
    name="driver_offline", entities=[driver], ttl=timedelta(days=2),
    schema=[Field(name="acc_rate", dtype=Float64)], source=driver_src, online=False)
list_src = FileSource(name="list_src", path="{data_dir}/lists.parquet", timestamp_field="event_timestamp")
list_stats = FeatureView(
    name="list_stats", entities=[driver], ttl=timedelta(days=2),
    schema=[Field(name="tags", dtype=Array(String)), Field(name="ints", dtype=Array(Int64)),
            Field(name="small", dtype=Array(Int32)), Field(name="f32", dtype=Array(Float32)),
            Field(name="f64", dtype=Array(Float64)), Field(name="f32_as_f64", dtype=Array(Float64)),
            Field(name="flags", dtype=Array(Bool)), Field(name="blobs", dtype=Array(Bytes)),
            Field(name="times", dtype=Array(UnixTimestamp))],
    source=list_src)
{extra}
'''

KILN_ONLY_DEFINITIONS = '''
user_src = FileSource(name="user_src", path="{data_dir}/users.csv", timestamp_field="ts",
                      created_timestamp_column="created_ts", field_mapping={"score_raw": "score"})
user_stats = FeatureView(
    name="user_stats", entities=[user], ttl=timedelta(days=2),
    schema=[Field(name="score", dtype=Float64), Field(name="visits", dtype=Int64)], source=user_src)
incr_src = FileSource(name="incr_src", path="{data_dir}/incr.parquet", timestamp_field="event_timestamp")
incr_stats = FeatureView(
    name="incr_stats", entities=[driver], ttl=timedelta(days=2),
    schema=[Field(name="v", dtype=Int64)], source=incr_src)
big_src = FileSource(name="big_src", path="{data_dir}/big.parquet", timestamp_field="event_timestamp")
big = FeatureView(
    name="big", entities=[driver], ttl=timedelta(days=2),
    schema=[Field(name="x", dtype=Float64), Field(name="y", dtype=Int64)], source=big_src)
'''

DRIVERS = [1, 2, 3, 4, 5, 6]


def write_data(data: Path, now) -> None:
    rows = []
    for d in DRIVERS[:5]:
        for age_h, k in ((3, 0), (1, 1)):
            ts = now - timedelta(hours=age_h)
            rows.append({"driver_id": d, "event_timestamp": ts, "created": ts, "conv": np.float32(0.1 * d + k),
                         "acc_rate": 0.25 * d + k, "trips": 10 * d + k, "label": f"d{d}-{k}",
                         "active": bool((d + k) % 2), "last_seen": ts - timedelta(seconds=0.75),
                         "trips_f": 10 * d + k})
    # equal event timestamps: the later created timestamp wins
    tie = now - timedelta(hours=1)
    rows.append({"driver_id": 2, "event_timestamp": tie, "created": tie + timedelta(seconds=5),
                 "conv": np.float32(9.5), "acc_rate": 9.5, "trips": 95, "label": "tie-winner", "active": True,
                 "last_seen": tie, "trips_f": 95})
    # after the window's end, and (driver 6) before its start
    rows.append({"driver_id": 3, "event_timestamp": now + timedelta(hours=1), "created": now,
                 "conv": np.float32(7.0), "acc_rate": 7.0, "trips": 70, "label": "future", "active": True,
                 "last_seen": now, "trips_f": 70})
    old = now - timedelta(days=3)
    rows.append({"driver_id": 6, "event_timestamp": old, "created": old, "conv": np.float32(6.0),
                 "acc_rate": 6.0, "trips": 60, "label": "old", "active": False, "last_seen": old, "trips_f": 60})
    df = pd.DataFrame(rows)
    df["conv"] = df["conv"].astype("float32")
    df.to_parquet(data / "drivers.parquet", index=False)

    write_lists(data, now)

    users = pd.DataFrame({
        "user_id": ["u1", "u1", "u2", "u3"],
        "ts": [now - timedelta(hours=5), now - timedelta(hours=2), now - timedelta(hours=2), now - timedelta(hours=2)],
        "created_ts": [now - timedelta(hours=5), now - timedelta(hours=2), now - timedelta(hours=2),
                       now - timedelta(hours=1)],
        "score_raw": [1.5, 2.5, 3.25, 4.0],
        "visits": [1, 2, 3, 4],
    })
    users.to_csv(data / "users.csv", index=False)

    pd.DataFrame({"driver_id": [1, 2], "event_timestamp": [now - timedelta(days=3), now - timedelta(days=1)],
                  "v": [1, 2]}).to_parquet(data / "incr.parquet", index=False)

    ids = np.arange(BIG_KEYS, dtype=np.int64)
    big = pd.DataFrame({"driver_id": np.concatenate([ids, ids]),
                        "event_timestamp": [now - timedelta(hours=2)] * BIG_KEYS + [now - timedelta(hours=1)] * BIG_KEYS,
                        "x": np.concatenate([ids * 0.5, ids * 1.5]),
                        "y": np.concatenate([ids, ids * 3])})
    big.to_parquet(data / "big.parquet", index=False)


LIST_FEATURES = ["tags", "ints", "small", "f32", "f64", "f32_as_f64", "flags", "blobs", "times"]


def write_lists(data: Path, now) -> None:
    """One row per driver 1..5 with lists of every element type: values,
    empty lists, NULL lists and NULL elements (where Feast stores something
    for them), plus an older row per driver that must lose."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    naive = now.replace(tzinfo=None)
    t1 = naive - timedelta(hours=2, seconds=0.75)
    pre_epoch = datetime(1969, 12, 31, 23, 59, 59, 500000)  # -0.5 s: Feast truncates toward zero
    latest = {
        "tags": [["a", "b"], [], None, ["x", None, ""], ["é", "long " * 20]],
        "ints": [[1, -2, 2**40], [], None, [0], [-(2**63)]],
        "small": [[1, -2], [], None, [2**31 - 1], [-(2**31)]],
        "f32": [[1.5, None, -0.0], [], None, [float("inf")], [3.4e38]],
        "f64": [[0.1, None, 1e300], [], None, [float("-inf"), 5e-324], [2.5]],
        "f32_as_f64": [[0.1, None], [], None, [1.0], [-2.75]],
        "flags": [[True, None, False], [], None, [False], [True, True]],
        "blobs": [[b"\x00\xff", None, b""], [], None, [b"kiln"], [bytes(range(256))]],
        "times": [[t1, None, pre_epoch], [], None, [datetime(2000, 1, 1)], [naive]],
    }
    types = {"tags": pa.list_(pa.string()), "ints": pa.list_(pa.int64()), "small": pa.list_(pa.int32()),
             "f32": pa.list_(pa.float32()), "f64": pa.list_(pa.float64()), "f32_as_f64": pa.list_(pa.float32()),
             "flags": pa.list_(pa.bool_()), "blobs": pa.list_(pa.binary()), "times": pa.list_(pa.timestamp("us"))}
    ids = DRIVERS[:5]
    older = {k: [[] if t != pa.list_(pa.string()) else ["old"] for _ in ids] for k, t in types.items()}
    cols = {"driver_id": pa.array(ids + ids, pa.int64()),
            "event_timestamp": pa.array([now - timedelta(hours=1)] * 5 + [now - timedelta(hours=3)] * 5,
                                        pa.timestamp("us", tz="UTC"))}
    for k, t in types.items():
        cols[k] = pa.array(latest[k] + older[k], t)
    pq.write_table(pa.table(cols), data / "lists.parquet")


class World:
    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True)
        self.now = utc_now_s()
        write_data(self.data, self.now)
        self.kiln_data = root / "kiln-data"
        self.srv: ServerProcess | None = None
        self.repo = root / "repo"
        self.start()
        feast_cli(self.repo, "apply")

    def definitions(self) -> str:
        return DEFINITIONS.replace("{extra}", KILN_ONLY_DEFINITIONS).replace("{data_dir}", str(self.data))

    def start(self):
        self.srv = ServerProcess("kiln", self.kiln_data, ["--grpc-port", "0"]).start()
        write_feast_repo(self.repo, self.srv, project=PROJECT, definitions=self.definitions())

    def stop(self):
        self.srv.stop(check=True)

    def store(self):
        return feature_store(self.repo)

    def post(self, path: str, body: dict, **params) -> requests.Response:
        return requests.post(f"http://127.0.0.1:{self.srv.port}{path}", json=body, params=params, timeout=300)

    def jobs(self) -> list:
        r = requests.get(f"http://127.0.0.1:{self.srv.port}/api/v1/features/materialize/jobs", timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["jobs"]

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(kiln_binary()), "features", "materialize", "--data-dir", str(self.kiln_data),
                               *backend_args(self.kiln_data, []), *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("mat"))
    yield w
    w.stop()


@pytest.fixture(scope="module")
def feast_local(world):
    """Feast alone materializes driver_stats into its sqlite store."""
    local = world.root / "local"
    local.mkdir()
    (local / "feature_store.yaml").write_text(textwrap.dedent(f"""\
        project: {PROJECT}
        provider: local
        registry: {local}/registry.db
        online_store: {{type: sqlite, path: {local}/online.db}}
        offline_store: {{type: file}}
        entity_key_serialization_version: 3
        """))
    (local / "features.py").write_text(DEFINITIONS.replace("{extra}", "").replace("{data_dir}", str(world.data)))
    feast_cli(local, "apply")
    store = feature_store(local)
    store.materialize(world.now - timedelta(days=1), world.now, feature_views=["driver_stats"])
    return store


FEATURES = ["driver_stats:conv_rate", "driver_stats:acc_rate", "driver_stats:trips", "driver_stats:label",
            "driver_stats:active", "driver_stats:last_seen", "driver_stats:trips_f"]


def online(store, features=FEATURES, rows=None):
    """to_dict() with UnixTimestamp values as epoch seconds: Feast's local
    sqlite read gives datetimes, its remote read through a feature server the
    seconds themselves; the stored unix_timestamp_val is what is compared."""
    rows = rows or [{"driver_id": d} for d in DRIVERS]
    out = store.get_online_features(features=features, entity_rows=rows).to_dict()
    for k, values in out.items():
        out[k] = [int(v.timestamp()) if isinstance(v, datetime) else v for v in values]
    return out


def test_sdk_materialize_matches_feast(world, feast_local):
    store = world.store()
    store.materialize(world.now - timedelta(days=1), world.now, feature_views=["driver_stats"])
    got = online(store)
    want = online(feast_local)
    assert got == want
    # The rules, independent of Feast: the latest row, the created-timestamp
    # winner of a tie, nothing after the end or before the start.
    assert got["label"] == ["d1-1", "tie-winner", "d3-1", "d4-1", "d5-1", None]
    assert got["trips"][0] == 11 and got["trips_f"][0] == 11.0
    # The window is recorded in the registry as Feast's ApplyMaterialization does.
    fv = store.get_feature_view("driver_stats")
    assert fv.materialization_intervals, "no materialization interval recorded"
    start, end = fv.materialization_intervals[-1]
    assert end == world.now


def stored_values(world, store, feature_view, features, drivers):
    """{(driver, feature): serialized feast.types.Value} as kiln serves them
    over gRPC (Feast's own stubs), re-serialized by Feast's protobuf."""
    import grpc
    from feast.protos.feast.serving import ServingService_pb2 as pb
    from feast.protos.feast.serving import ServingService_pb2_grpc as pb_grpc
    from feast.protos.feast.types.Value_pb2 import RepeatedValue, Value

    with grpc.insecure_channel(f"127.0.0.1:{world.srv.grpc_port}") as ch:
        res = pb_grpc.ServingServiceStub(ch).GetOnlineFeatures(pb.GetOnlineFeaturesRequest(
            features=pb.FeatureList(val=[f"{feature_view}:{f}" for f in features]),
            entities={"driver_id": RepeatedValue(val=[Value(int64_val=d) for d in drivers])}), timeout=30)
    names = list(res.metadata.feature_names.val)
    return {(d, f): res.results[names.index(f)].values[i].SerializeToString()
            for f in features for i, d in enumerate(drivers)}


def feast_sqlite_values(local_root: Path, feature_view, drivers):
    """The same map read from Feast's own sqlite online store."""
    import sqlite3

    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    keys = {serialize_entity_key(EntityKey(join_keys=["driver_id"], entity_values=[Value(int64_val=d)]), 3): d
            for d in drivers}
    con = sqlite3.connect(local_root / "online.db")
    rows = con.execute(f"SELECT entity_key, feature_name, value FROM {PROJECT}_{feature_view}").fetchall()
    con.close()
    return {(keys[bytes(k)], f): bytes(v) for k, f, v in rows if bytes(k) in keys}


def test_list_features_match_feast(world, feast_local):
    """Lists of every element type, materialized by kiln through the SDK,
    equal byte for byte the Values Feast 0.67 itself stores in sqlite."""
    feast_local.materialize(world.now - timedelta(days=1), world.now, feature_views=["list_stats"])
    store = world.store()
    store.materialize(world.now - timedelta(days=1), world.now, feature_views=["list_stats"])
    drivers = DRIVERS[:5]
    want = feast_sqlite_values(world.root / "local", "list_stats", drivers)
    got = stored_values(world, store, "list_stats", LIST_FEATURES, drivers)
    assert len(want) == len(drivers) * len(LIST_FEATURES)
    for key in sorted(want):
        assert got[key] == want[key], key
    # Independent of Feast: NULL list vs empty list vs NULL element.
    from feast.protos.feast.types.Value_pb2 import Value

    tags = [Value.FromString(got[(d, "tags")]) for d in drivers]
    assert [t.WhichOneof("val") for t in tags] == ["string_list_val", "string_list_val", None, "string_list_val",
                                                   "string_list_val"]
    assert list(tags[0].string_list_val.val) == ["a", "b"] and list(tags[3].string_list_val.val) == ["x", "", ""]
    assert list(Value.FromString(got[(1, "times")]).unix_timestamp_list_val.val)[1:] == [-(2**63), 0]


def test_list_features_feast_fails_on_are_refused(world):
    """An integer list with a NULL element: pyarrow turns the batch's integers
    into floats and Feast fails; kiln refuses with the column's name."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = world.data / "lists.parquet"
    saved = path.read_bytes()
    try:
        t = pq.read_table(path)
        i = t.schema.get_field_index("ints")
        t = t.set_column(i, "ints", pa.array([[1, None]] + [[1]] * (t.num_rows - 1), pa.list_(pa.int64())))
        pq.write_table(t, path)
        with pytest.raises(Exception, match="ints"):
            world.store().materialize(world.now - timedelta(days=1), world.now, feature_views=["list_stats"])
        assert requests.get(f"http://127.0.0.1:{world.srv.port}/health", timeout=10).status_code == 200
    finally:
        path.write_bytes(saved)


def test_default_fixture_materializes_every_view(tmp_path):
    """The shared fixture's views (customer_profile has tags: Array(String))
    all materialize with one store.materialize() and serve the lists back."""
    from feast_fixtures import write_default_data

    srv = ServerProcess("kiln", tmp_path / "kiln-data", ["--grpc-port", "0"]).start()
    try:
        repo = write_feast_repo(tmp_path / "repo", srv)
        data = write_default_data(repo)
        feast_cli(repo, "apply")
        store = feature_store(repo)
        store.materialize(data["now"] - timedelta(days=3), data["now"])
        ids = list(data["customers"]["customer_id"])
        # The SDK's remote client cannot read an empty list back (its
        # python_values_to_proto_values cannot infer a type from []; the same
        # with Feast's own feature server), so it reads the non-empty ones...
        out = store.get_online_features(features=["customer_profile:tags", "customer_profile:name"],
                                        entity_rows=[{"customer_id": ids[0]}, {"customer_id": ids[2]}]).to_dict()
        assert out["tags"] == [["a", "b"], ["c"]]
        # ...and the feature server's own JSON shows all three.
        r = requests.post(f"http://127.0.0.1:{srv.port}/get-online-features", timeout=30,
                          json={"features": ["customer_profile:tags"], "entities": {"customer_id": ids}})
        assert r.status_code == 200, r.text
        assert r.json()["results"][1]["values"] == [["a", "b"], [], ["c"]]
        assert r.json()["results"][1]["statuses"] == ["PRESENT"] * 3
    finally:
        srv.stop(check=True)


def test_rerun_is_idempotent(world, feast_local):
    store = world.store()
    before = online(store)
    for _ in range(2):
        store.materialize(world.now - timedelta(days=1), world.now, feature_views=["driver_stats"])
    assert online(store) == before == online(feast_local)


def test_csv_source_with_field_mapping_and_created_timestamp(world):
    store = world.store()
    store.materialize(world.now - timedelta(days=1), world.now, feature_views=["user_stats"])
    got = store.get_online_features(features=["user_stats:score", "user_stats:visits"],
                                    entity_rows=[{"user_id": u} for u in ("u1", "u2", "u3", "u4")]).to_dict()
    assert got["score"] == [2.5, 3.25, 4.0, None]
    assert got["visits"] == [2, 3, 4, None]


def test_materialize_incremental(world):
    store = world.store()
    # Never materialized: Feast starts at now - ttl (2 days), so the 3-day-old row stays out.
    store.materialize_incremental(world.now, feature_views=["incr_stats"])
    rows = [{"driver_id": 1}, {"driver_id": 2}]
    assert online(store, ["incr_stats:v"], rows)["v"] == [None, 2]
    fv = store.get_feature_view("incr_stats")
    assert fv.most_recent_end_time == world.now
    # New rows after the recorded end are picked up by the next run.
    df = pd.read_parquet(world.data / "incr.parquet")
    df = pd.concat([df, pd.DataFrame({"driver_id": [1, 2], "event_timestamp": [world.now + timedelta(minutes=5)] * 2,
                                      "v": [10, 20]})])
    df.to_parquet(world.data / "incr.parquet", index=False)
    store.materialize_incremental(world.now + timedelta(minutes=10), feature_views=["incr_stats"])
    assert online(store, ["incr_stats:v"], rows)["v"] == [10, 20]
    assert store.get_feature_view("incr_stats").most_recent_end_time == world.now + timedelta(minutes=10)


def test_refusals_are_feast_errors(world):
    store = world.store()
    with pytest.raises(Exception, match="not configured to be served online"):
        store.materialize(world.now - timedelta(days=1), world.now, feature_views=["driver_offline"])
    with pytest.raises(Exception, match="nope"):
        store.materialize(world.now - timedelta(days=1), world.now, feature_views=["nope"])
    r = world.post("/materialize", {"start_ts": world.now.isoformat(), "end_ts": (world.now - timedelta(hours=1)).isoformat(),
                                    "feature_views": ["driver_stats"]})
    assert 400 <= r.status_code < 500, r.text
    assert requests.get(f"http://127.0.0.1:{world.srv.port}/health", timeout=10).status_code == 200


def test_cli_materialize_with_progress(world):
    world.stop()
    try:
        start = (world.now - timedelta(days=1)).isoformat()
        proc = world.cli("--start", start, "--end", world.now.isoformat(), "--views", "driver_stats,user_stats")
        assert proc.returncode == 0, proc.stderr
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        assert summary["project"] == PROJECT
        assert summary["views"] == ["driver_stats", "user_stats"]
        assert summary["rows"] == 5 + 3
        assert "rows/s" in proc.stderr and "ETA" in proc.stderr and "100%" in proc.stderr
        bad = world.cli("--start", start, "--end", world.now.isoformat(), "--views", "nope")
        assert bad.returncode == 2 and "nope" in bad.stderr
        inc = world.cli("--incremental", "--end", world.now.isoformat(), "--views", "driver_stats")
        assert inc.returncode == 0, inc.stderr
    finally:
        world.start()
    # While the server holds the online store the CLI refuses, naming why.
    busy = world.cli("--start", (world.now - timedelta(days=1)).isoformat(), "--end", world.now.isoformat(),
                     "--views", "driver_stats")
    assert busy.returncode != 0 and "in use" in busy.stderr


def test_crash_half_way_then_rerun_completes(world):
    """kill -9 of a CLI materialization once its first batches are durable:
    the window is not recorded, and a re-run finishes the copy with every key
    once."""
    world.stop()
    start = (world.now - timedelta(days=1)).isoformat()
    end = world.now.isoformat()
    try:
        cmd = [str(kiln_binary()), "features", "materialize", "--data-dir", str(world.kiln_data),
               *backend_args(world.kiln_data, []),
               "--start", start, "--end", end, "--views", "big",
               # about 6 s for the whole copy: the kill lands long before the
               # end even on a loaded machine, so "nothing recorded" is decided
               "--max-rows-per-second", "100000"]
        # stderr on a terminal: the bar is redrawn every 100 ms (on a pipe
        # only once a second, and a run shorter than that shows nothing
        # between 0 rows and the final line, written after the window is
        # recorded).
        master, slave = pty.openpty()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        seen, pending, killed = "", b"", False
        try:
            while not killed:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                frames = re.split(rb"[\r\n]", pending + data)
                pending = frames.pop()
                for frame in frames:
                    line = frame.decode(errors="replace").strip()
                    seen += line + "\n"
                    # "[###...]   8% 50000/600000 rows ..." once a batch is durable
                    m = re.search(r"(\d+)/(\d+) rows", line)
                    if m and 0 < int(m[1]) < int(m[2]):
                        os.kill(proc.pid, signal.SIGKILL)
                        killed = True
                        break
        finally:
            os.close(master)
        proc.wait(60)
        assert proc.returncode == -signal.SIGKILL, f"the run ended before it could be interrupted:\n{seen}"
    finally:
        world.start()
    store = world.store()
    assert not store.get_feature_view("big").materialization_intervals  # nothing recorded
    world.stop()
    try:
        rerun = world.cli("--start", start, "--end", end, "--views", "big")
        assert rerun.returncode == 0, rerun.stderr
        assert json.loads(rerun.stdout.strip().splitlines()[-1])["rows"] == BIG_KEYS
    finally:
        world.start()
    store = world.store()
    assert len(store.get_feature_view("big").materialization_intervals) == 1
    got = online(store, ["big:x", "big:y"], [{"driver_id": 0}, {"driver_id": 123_456}, {"driver_id": BIG_KEYS - 1}])
    assert got["x"] == [0.0, 123_456 * 1.5, (BIG_KEYS - 1) * 1.5]
    assert got["y"] == [0, 123_456 * 3, (BIG_KEYS - 1) * 3]


def wait_job(world, job_pred, timeout_s=240):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = [j for j in world.jobs() if job_pred(j)]
        if jobs and all(j["state"] != "running" for j in jobs):
            return jobs[-1]
        time.sleep(0.2)
    raise AssertionError(f"materialization job still running after {timeout_s}s: {world.jobs()}")


def test_async_202_then_409_while_busy(world):
    store = world.store()
    start, end = world.now - timedelta(days=1), world.now
    store.materialize(start, end, feature_views=["big"], run_async=True)  # 202
    with pytest.raises(RuntimeError, match="409"):
        store.materialize(start, end, feature_views=["big"], run_async=True)
    # Other views are not blocked by the busy one.
    r = world.post("/materialize", {"start_ts": start.isoformat(), "end_ts": end.isoformat(),
                                    "feature_views": ["driver_stats"]}, **{"async": "true"})
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "accepted", "feature_views": ["driver_stats"]}
    job = wait_job(world, lambda j: j["views"] == ["big"])
    assert job["state"] == "succeeded", job
    assert job["rows_done"] == job["rows_total"] == BIG_KEYS
    assert job["eta_seconds"] == 0
    got = online(store, ["big:x", "big:y"], [{"driver_id": 7}, {"driver_id": BIG_KEYS - 1}, {"driver_id": BIG_KEYS}])
    assert got["x"] == [10.5, (BIG_KEYS - 1) * 1.5, None]
    assert got["y"] == [21, (BIG_KEYS - 1) * 3, None]
    # Free again once the job is done.
    store.materialize(start, end, feature_views=["big"], run_async=True)
    wait_job(world, lambda j: j["views"] == ["big"])
