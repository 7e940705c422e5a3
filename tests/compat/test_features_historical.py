"""Point-in-time retrieval (training sets) through kiln, checked row by row
against Feast 0.67's own get_historical_features on its file offline store.

The same feature definitions and the same Parquet files are applied twice:
to kiln through the remote registry (what a Feast user does), and to a
local Feast repo with a registry file (Feast alone, no kiln). Feast computes
the reference answer; kiln answers through POST /api/v1/features/historical
and `kiln features historical`.

Two known differences are allowed, and refereed by the point-in-time rule
itself (computed by brute force in this file): Feast's file store drops an
entity row when, for any one view, the entity has feature rows but none
inside [ts - ttl, ts] (dask.py _filter_ttl filters the joined candidates,
leaving none), while kiln keeps the row (one output row per input row, as
Feast's SQL offline stores do), nulls for that view and the other views'
values; and Feast may return the earlier-created row of an event-time tie
(pandas' default sort is not stable). Every row kiln returns must follow
the rule; every row Feast returns must equal kiln's or lose to the rule.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from conftest import backend_args, kiln_binary
from feast_fixtures import feast_cli, start_feast_kiln, write_feast_repo

pytestmark = pytest.mark.kiln_only

PROJECT = "khist"
T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)

DEFINITIONS = '''
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Bool, Float32, Float64, Int64, String

driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64)
rider = Entity(name="rider", join_keys=["rider_id"], value_type=ValueType.STRING)

hourly_src = FileSource(name="hourly_src", path="{data_dir}/hourly.parquet",
                        timestamp_field="event_timestamp", created_timestamp_column="created")
daily_src = FileSource(name="daily_src", path="{data_dir}/daily.parquet",
                       timestamp_field="ts", created_timestamp_column="created",
                       field_mapping={"trips_raw": "trips"})
rider_src = FileSource(name="rider_src", path="{data_dir}/rider.parquet", timestamp_field="event_timestamp")

driver_hourly = FeatureView(
    name="driver_hourly", entities=[driver], ttl=timedelta(hours=1),
    schema=[Field(name="conv_rate", dtype=Float32), Field(name="acc_rate", dtype=Float64),
            Field(name="label", dtype=String)],
    source=hourly_src)
driver_daily = FeatureView(
    name="driver_daily", entities=[driver], ttl=timedelta(days=1),
    schema=[Field(name="trips", dtype=Int64), Field(name="active", dtype=Bool)],
    source=daily_src)
rider_forever = FeatureView(
    name="rider_forever", entities=[rider], ttl=timedelta(0),
    schema=[Field(name="rating", dtype=Float64)],
    source=rider_src)

training = FeatureService(name="training",
                          features=[driver_hourly[["conv_rate"]], driver_daily, rider_forever])
'''


def _ts(**delta) -> datetime:
    return T0 + timedelta(**delta)


def write_data(data_dir: Path) -> pd.DataFrame:
    """Feature rows with ttl edges and created-timestamp ties; returns the
    entity rows."""
    hourly = []
    for d in (1, 2, 3, 4):
        for k, minutes in enumerate((-180, -90, -30)):
            hourly.append({"driver_id": d, "event_timestamp": _ts(minutes=minutes), "created": _ts(minutes=minutes),
                           "conv_rate": np.float32(0.1 * d + 0.01 * k), "acc_rate": 1.5 * d + k,
                           "label": f"d{d}-{k}"})
    # a tie on the event timestamp, decided by the created timestamp
    hourly.append({"driver_id": 2, "event_timestamp": _ts(minutes=-30), "created": _ts(minutes=-29),
                   "conv_rate": np.float32(9.5), "acc_rate": 99.0, "label": "d2-tie-winner"})
    hourly.append({"driver_id": 2, "event_timestamp": _ts(minutes=-30), "created": _ts(minutes=-31),
                   "conv_rate": np.float32(8.5), "acc_rate": 88.0, "label": "d2-tie-loser"})
    # exactly one ttl before the T0 entity row of driver 4: inside (>= T - ttl)
    hourly.append({"driver_id": 4, "event_timestamp": _ts(minutes=-60), "created": _ts(minutes=-60),
                   "conv_rate": np.float32(4.4), "acc_rate": 44.0, "label": "d4-edge"})
    # driver 7's only row: exactly one ttl old at T0, one second too old at T0 + 1 s
    hourly.append({"driver_id": 7, "event_timestamp": _ts(minutes=-60), "created": _ts(minutes=-60),
                   "conv_rate": np.float32(7.7), "acc_rate": 77.0, "label": "d7-edge"})
    # a row after every entity timestamp: never visible
    hourly.append({"driver_id": 1, "event_timestamp": _ts(hours=5), "created": _ts(hours=5),
                   "conv_rate": np.float32(7.0), "acc_rate": 7.0, "label": "future"})
    h = pd.DataFrame(hourly)
    h["conv_rate"] = h["conv_rate"].astype("float32")
    h.to_parquet(data_dir / "hourly.parquet", index=False)

    daily = []
    for d in (1, 2, 3, 5):
        for days in (-3, -0.5):
            daily.append({"driver_id": d, "ts": _ts(days=days), "created": _ts(days=days),
                          "trips_raw": int(10 * d + (days < -1)), "active": d % 2 == 0})
    pd.DataFrame(daily).to_parquet(data_dir / "daily.parquet", index=False)

    riders = pd.DataFrame({"rider_id": ["r1", "r1", "r2"],
                           "event_timestamp": [_ts(days=-400), _ts(days=-10), _ts(days=-1)],
                           "rating": [3.0, 4.5, 5.0]})
    riders.to_parquet(data_dir / "rider.parquet", index=False)

    rows = []
    for d, rider, t in [
        (1, "r1", _ts()),                   # hourly -30 min, daily -0.5 d
        (1, "r1", _ts(minutes=-100)),       # hourly -180 is beyond 1 h; daily -3 d beyond 1 d
        (2, "r2", _ts()),                   # the created-timestamp tie
        (2, "r9", _ts(minutes=-30)),        # exactly at the tied rows' event time; unknown rider
        (3, "r1", _ts(days=-2)),            # before every hourly row; daily -3 d beyond 1 d
        (4, "r2", _ts()),                   # hourly row at exactly T - ttl
        (4, "r2", _ts(minutes=1)),          # now that row is 61 min old: -30 min row wins anyway
        (5, "r1", _ts(hours=3)),            # no hourly rows at all; daily -0.5 d
        (6, "r1", _ts()),                   # unknown driver
        (1, "r1", _ts(days=-500)),          # before every row of every view
    ]:
        rows.append({"driver_id": d, "rider_id": rider, "event_timestamp": t})
    entities = pd.DataFrame(rows)
    entities.to_parquet(data_dir / "entities.parquet", index=False)
    return entities


# view -> (file, timestamp column, created column, join key, ttl, {feature: source column})
VIEWS = {
    "driver_hourly": ("hourly.parquet", "event_timestamp", "created", "driver_id", timedelta(hours=1),
                      {"conv_rate": "conv_rate", "acc_rate": "acc_rate", "label": "label"}),
    "driver_daily": ("daily.parquet", "ts", "created", "driver_id", timedelta(days=1),
                     {"trips": "trips_raw", "active": "active"}),
    "rider_forever": ("rider.parquet", "event_timestamp", None, "rider_id", timedelta(0), {"rating": "rating"}),
}


def brute_force(data_dir: Path, entities: pd.DataFrame, refs) -> list[dict]:
    """The point-in-time rule itself, row by row: the latest feature row with
    T - ttl <= ts <= T (ttl 0: no lower bound), ties by created timestamp."""
    frames = {v: pd.read_parquet(data_dir / spec[0]) for v, spec in VIEWS.items()}
    out = []
    for _, e in entities.iterrows():
        row = {}
        t = pd.Timestamp(e["event_timestamp"])
        for view, feature in refs:
            file, ts_col, created_col, key, ttl, cols = VIEWS[view]
            df = frames[view]
            c = df[(df[key] == e[key]) & (pd.to_datetime(df[ts_col], utc=True) <= t)]
            if ttl:
                c = c[pd.to_datetime(c[ts_col], utc=True) >= t - ttl]
            if len(c):
                order = [ts_col] + ([created_col] if created_col else [])
                best = c.sort_values(order, kind="stable").iloc[-1]
                row[(view, feature)] = best[cols[feature]]
            else:
                row[(view, feature)] = None
        out.append(row)
    return out


def local_feast_repo(path: Path, data_dir: Path) -> Path:
    """Feast alone: registry file, sqlite online store, file offline store."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "feature_store.yaml").write_text(textwrap.dedent(f"""\
        project: {PROJECT}
        provider: local
        registry: {path}/registry.db
        online_store: {{type: sqlite, path: {path}/online.db}}
        offline_store: {{type: file}}
        entity_key_serialization_version: 3
        """))
    (path / "features.py").write_text(DEFINITIONS.replace("{data_dir}", str(data_dir)))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    from conftest import ServerProcess

    root = tmp_path_factory.mktemp("hist")
    data_dir = root / "data"
    data_dir.mkdir()
    entities = write_data(data_dir)
    local = local_feast_repo(root / "local", data_dir)
    feast_cli(local, "apply")
    srv = ServerProcess("kiln", root / "kiln-data", ["--grpc-port", "0"])
    srv.start()
    repo = write_feast_repo(root / "repo", srv, project=PROJECT, definitions=DEFINITIONS.replace("{data_dir}", str(data_dir)))
    feast_cli(repo, "apply")
    yield {"root": root, "data": data_dir, "entities": entities, "local": local, "repo": repo, "srv": srv}
    srv.stop(check=True)


def feast_reference(world, features, full_feature_names=False) -> pd.DataFrame:
    from feast import FeatureStore

    store = FeatureStore(repo_path=str(world["local"]))
    if isinstance(features, str):
        features = store.get_feature_service(features)
    return store.get_historical_features(entity_df=world["entities"], features=features,
                                         full_feature_names=full_feature_names).to_df()


def kiln_http(world, body: dict) -> requests.Response:
    srv = world["srv"]
    return requests.post(f"http://127.0.0.1:{srv.port}/api/v1/features/historical", json=body, timeout=120)


def _norm(df: pd.DataFrame, keys) -> pd.DataFrame:
    df = df.copy()
    df["event_timestamp"] = pd.to_datetime(df["event_timestamp"], utc=True)
    return df.sort_values(keys + ["event_timestamp"], kind="stable").reset_index(drop=True)


def _is_null(v) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _same(a, b) -> bool:
    a_null, b_null = _is_null(a), _is_null(b)
    if a_null or b_null:
        return a_null and b_null
    if isinstance(a, (float, np.floating)) or isinstance(b, (float, np.floating)):
        return float(a) == float(b)
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return bool(a) == bool(b)
    return a == b


def assert_parity(feast_df: pd.DataFrame, kiln_df: pd.DataFrame, entities: pd.DataFrame, feature_cols,
                  refs=None, data_dir=None):
    """kiln == Feast row by row; kiln == the rule itself (brute force) on
    every row. Where Feast disagrees with the rule (its file store can return
    the earlier-created row of an event-time tie, since pandas' default sort
    is not stable), the rule decides and the row is reported."""
    keys = ["driver_id", "rider_id"]
    referee = {}
    if refs is not None:
        expected = brute_force(data_dir, entities, refs)
        for (_, e), exp in zip(entities.iterrows(), expected):
            referee[(e["driver_id"], e["rider_id"], pd.Timestamp(e["event_timestamp"]))] = [
                exp[r] for r in refs]
    # Same columns, same order: entity columns then features as Feast names them.
    assert list(kiln_df.columns) == list(entities.columns) + feature_cols
    assert list(feast_df.columns) == list(kiln_df.columns)
    assert len(kiln_df) == len(entities)  # one row per entity row
    f = _norm(feast_df, keys)
    k = _norm(kiln_df, keys)
    k_index = {}
    for i, row in k.iterrows():
        k_index.setdefault((row["driver_id"], row["rider_id"], row["event_timestamp"]), []).append(i)
    matched = set()
    for _, frow in f.iterrows():
        key = (frow["driver_id"], frow["rider_id"], frow["event_timestamp"])
        assert key in k_index, f"kiln has no row {key}"
        i = k_index[key].pop(0)
        matched.add(i)
        for n, col in enumerate(feature_cols):
            if _same(frow[col], k.loc[i, col]):
                continue
            assert referee, (key, col, frow[col], k.loc[i, col])
            rule = referee[key][n]
            assert _same(rule, k.loc[i, col]), ("kiln differs from Feast and from the rule", key, col,
                                                frow[col], k.loc[i, col], rule)
            print(f"Feast differs from the point-in-time rule at {key} {col}: {frow[col]!r} vs {rule!r}")
    # Rows only kiln has are the ones Feast dropped; they are held to the rule below.
    assert len(k) - len(matched) == len(entities) - len(f)
    # And kiln follows the rule on every row.
    for _, krow in k.iterrows():
        key = (krow["driver_id"], krow["rider_id"], krow["event_timestamp"])
        for n, col in enumerate(feature_cols):
            if referee:
                assert _same(referee[key][n], krow[col]), ("kiln differs from the rule", key, col, krow[col],
                                                          referee[key][n])
    return len(f)


def test_features_list_matches_feast_row_by_row(world, tmp_path):
    features = ["driver_hourly:conv_rate", "driver_hourly:label", "driver_daily:trips", "rider_forever:rating",
                "driver_hourly:acc_rate", "driver_daily:active"]
    ref = feast_reference(world, features)
    out = tmp_path / "out.parquet"
    r = kiln_http(world, {"entities": {"path": str(world["data"] / "entities.parquet")}, "features": features,
                          "output": {"path": str(out)}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] == len(world["entities"])
    assert body["project"] == PROJECT
    got = pd.read_parquet(out)
    # Feast groups the features by view in the order the views are first named.
    cols = ["conv_rate", "label", "acc_rate", "trips", "active", "rating"]
    assert body["columns"] == list(world["entities"].columns) + cols
    refs = [("driver_hourly", "conv_rate"), ("driver_hourly", "label"), ("driver_hourly", "acc_rate"),
            ("driver_daily", "trips"), ("driver_daily", "active"), ("rider_forever", "rating")]
    compared = assert_parity(ref, got, world["entities"], cols, refs, world["data"])
    assert compared >= 6  # Feast keeps 7 of the 10 rows here
    # Spot checks of the edges, independent of Feast.
    g = _norm(got, ["driver_id", "rider_id"])
    def row(d, rider, t):
        m = g[(g.driver_id == d) & (g.rider_id == rider) & (g.event_timestamp == pd.Timestamp(t))]
        assert len(m) == 1
        return m.iloc[0]
    assert row(2, "r2", _ts())["label"] == "d2-tie-winner"
    assert row(2, "r9", _ts(minutes=-30))["label"] == "d2-tie-winner"
    assert pd.isna(row(2, "r9", _ts(minutes=-30))["rating"])
    assert row(4, "r2", _ts())["label"] == "d4-2"  # -30 min beats the -60 min edge row
    # -90 min is after T, -180 min beyond 1 h: no hourly row; daily -0.5 d is
    # inside 1 day. (Feast drops this entity row altogether.)
    assert pd.isna(row(1, "r1", _ts(minutes=-100))["label"])
    assert row(1, "r1", _ts(minutes=-100))["trips"] == 10
    assert pd.isna(row(3, "r1", _ts(days=-2))["label"])
    assert pd.isna(row(6, "r1", _ts())["trips"])
    assert row(1, "r1", _ts())["rating"] == 4.5  # ttl 0: no lower bound
    assert pd.isna(row(1, "r1", _ts(days=-500))["rating"])


def test_ttl_edge_is_inclusive(world, tmp_path):
    ent = pd.DataFrame({"driver_id": [7, 7, 7], "rider_id": ["r2", "r2", "r2"],
                        "event_timestamp": [_ts(minutes=-60), _ts(), _ts(seconds=1)]})
    p = tmp_path / "edge.parquet"
    ent.to_parquet(p, index=False)
    out = tmp_path / "edge_out.parquet"
    r = kiln_http(world, {"entities": {"path": str(p)}, "features": ["driver_hourly:label"],
                          "output": {"path": str(out)}})
    assert r.status_code == 200, r.text
    got = pd.read_parquet(out).sort_values("event_timestamp")
    # [T - ttl, T] is closed at both ends, as in Feast's _filter_ttl.
    assert list(got["label"][:2]) == ["d7-edge", "d7-edge"]
    assert pd.isna(got["label"].iloc[2])


def test_feature_service_full_names_streamed_csv(world):
    ref = feast_reference(world, "training", full_feature_names=True)
    r = kiln_http(world, {"entities": {"path": str(world["data"] / "entities.parquet")},
                          "feature_service": "training", "full_feature_names": True,
                          "output": {"format": "csv"}})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert int(r.headers["x-kiln-rows"]) == len(world["entities"])
    import io
    got = pd.read_csv(io.StringIO(r.text), keep_default_na=True)
    cols = ["driver_hourly__conv_rate", "driver_daily__trips", "driver_daily__active", "rider_forever__rating"]
    got["driver_id"] = got["driver_id"].astype("int64")
    # CSV carries no types: compare the text-parsed values with Feast's.
    got["driver_daily__active"] = got["driver_daily__active"].map(
        lambda v: None if pd.isna(v) else (str(v).lower() == "true"))
    ref["driver_hourly__conv_rate"] = ref["driver_hourly__conv_rate"].astype("float64")
    got["driver_hourly__conv_rate"] = got["driver_hourly__conv_rate"].astype("float32").astype("float64")
    refs = [("driver_hourly", "conv_rate"), ("driver_daily", "trips"), ("driver_daily", "active"),
            ("rider_forever", "rating")]
    assert_parity(ref, got, world["entities"], cols, refs, world["data"])


def test_entities_as_json_rows_and_columns(world, tmp_path):
    rows = [{"driver_id": 2, "rider_id": "r2", "event_timestamp": "2024-03-01T12:00:00Z"},
            {"driver_id": 6, "rider_id": "r1", "event_timestamp": "2024-03-01T12:00:00+00:00"}]
    for entities in ({"rows": rows},
                     {"columns": {k: [r[k] for r in rows] for k in rows[0]}}):
        out = tmp_path / "json_out.parquet"
        r = kiln_http(world, {"entities": entities, "features": ["driver_hourly:label", "rider_forever:rating"],
                              "output": {"path": str(out)}})
        assert r.status_code == 200, r.text
        got = pd.read_parquet(out).sort_values("driver_id").reset_index(drop=True)
        assert list(got.columns) == ["driver_id", "rider_id", "event_timestamp", "label", "rating"]
        assert got.loc[0, "label"] == "d2-tie-winner"
        assert got.loc[0, "rating"] == 5.0
        assert pd.isna(got.loc[1, "label"])


def test_bad_requests_answer_4xx(world, tmp_path):
    ent = str(world["data"] / "entities.parquet")
    out = str(tmp_path / "x.parquet")
    cases = [
        ({"entities": {"path": ent}, "features": ["nope:x"], "output": {"path": out}}, 404, "nope"),
        ({"entities": {"path": ent}, "features": ["driver_hourly:nope"], "output": {"path": out}}, 404, "nope"),
        ({"entities": {"path": ent}, "features": ["driver_hourly"], "output": {"path": out}}, 400, "Invalid feature reference"),
        ({"entities": {"path": ent}, "features": [], "output": {"path": out}}, 400, "No features"),
        ({"entities": {"path": ent}, "feature_service": "nope", "output": {"path": out}}, 404, "nope"),
        ({"entities": {"path": ent}, "features": ["driver_hourly:label", "driver_hourly:label"],
          "output": {"path": out}}, 400, "Duplicate features named label"),
        ({"entities": {"path": "relative.parquet"}, "features": ["driver_hourly:label"]}, 400, "absolute"),
        ({"features": ["driver_hourly:label"]}, 400, "entities"),
        ({"entities": {"columns": {"driver_id": [1, 2], "event_timestamp": ["2024-01-01T00:00:00Z"]}},
          "features": ["driver_hourly:label"]}, 400, "different lengths"),
        ({"entities": {"path": ent}, "features": ["driver_hourly:label"], "output": {"format": "xml"}}, 400, "format"),
    ]
    for body, status, needle in cases:
        r = kiln_http(world, body)
        assert r.status_code == status, (body, r.status_code, r.text)
        assert needle in r.json()["message"], (body, r.text)
    r = requests.post(f"http://127.0.0.1:{world['srv'].port}/api/v1/features/historical", data=b"{not json",
                      timeout=30)
    assert r.status_code == 400
    # The server keeps serving.
    assert requests.get(f"http://127.0.0.1:{world['srv'].port}/health", timeout=10).status_code == 200


def test_cli_matches_feast(world, tmp_path):
    features = ["driver_daily:trips", "driver_hourly:conv_rate", "rider_forever:rating"]
    ref = feast_reference(world, features, full_feature_names=True)
    out = tmp_path / "cli_out.parquet"
    proc = subprocess.run([str(kiln_binary()), "features", "historical", "--data-dir", str(world["srv"].data_dir),
                           *backend_args(world["srv"].data_dir, []),
                           "--entities", str(world["data"] / "entities.parquet"),
                           "--features", ",".join(features[:2]), "--features", features[2],
                           "--full-feature-names", "--output", str(out)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["rows"] == len(world["entities"])
    assert "rows written" in proc.stderr
    cols = ["driver_daily__trips", "driver_hourly__conv_rate", "rider_forever__rating"]
    refs = [("driver_daily", "trips"), ("driver_hourly", "conv_rate"), ("rider_forever", "rating")]
    assert_parity(ref, pd.read_parquet(out), world["entities"], cols, refs, world["data"])
    bad = subprocess.run([str(kiln_binary()), "features", "historical", "--data-dir", str(world["srv"].data_dir),
                           *backend_args(world["srv"].data_dir, []),
                          "--entities", str(world["data"] / "entities.parquet"), "--features", "nope:x",
                          "--output", str(out)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "nope" in bad.stderr
