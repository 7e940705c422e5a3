"""Seeds a kiln (started with --grpc-port 0) for features.spec.js through the
unmodified Feast SDK and prints what it made as JSON on its last line.

The repo points Feast's remote registry at kiln's gRPC port and its remote
online store at kiln's HTTP port, as a Feast user would (docs/features.md).
Parquet sources are written in a temp dir (absolute paths, so kiln reads the
same files). Then, in project `ui_features`:

- driver_hourly_stats (ttl 1 day): materialized as a background job
  (store.materialize(..., run_async=True)) -> fresh, one job with 5 rows;
- customer_profile (ttl 5 min, rows 2 h old): materialized synchronously
  (store.materialize) -> stale, a recorded window but no job;
- trip_stats (ttl 1 day): never materialized -> no data;
- backfill_stats (ttl 1 day): a large source (KILN_UI_BACKFILL_ROWS rows,
  default 4,000,000) left unmaterialized; the spec starts its job and watches
  the progress;
- trip_cost: an on-demand view (kiln lists it, never runs it);
- feature services driver_activity (two views) and trip_service.

A second project `ui_other` holds one entity, so the project list has two.

    python seed_features.py http://127.0.0.1:PORT     (KILN_GRPC_PORT in the environment)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import requests
from feast import (Entity, FeatureService, FeatureStore, FeatureView, Field, FileSource, RequestSource,
                   ValueType)
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float32, Float64, Int64, String

PROJECT = "ui_features"
OTHER = "ui_other"
DRIVERS = [1001, 1002, 1003, 1004, 1005]
CUSTOMERS = ["c1", "c2", "c3"]


def write_repo(root: Path, project: str, http_port: int, grpc_port: int) -> Path:
    repo = root / project
    repo.mkdir(parents=True)
    (repo / "feature_store.yaml").write_text(textwrap.dedent(f"""\
        project: {project}
        provider: local
        registry:
          registry_type: remote
          path: 127.0.0.1:{grpc_port}
        online_store:
          type: remote
          path: http://127.0.0.1:{http_port}
        offline_store:
          type: file
        entity_key_serialization_version: 3
        """))
    return repo


def write_data(data: Path, now: datetime, backfill_rows: int) -> None:
    import numpy as np

    data.mkdir(parents=True)
    hour = now - timedelta(hours=1)
    pd.DataFrame({
        "driver_id": DRIVERS,
        "event_timestamp": [hour] * len(DRIVERS),
        "created": [hour] * len(DRIVERS),
        "conv_rate": pd.Series([0.1, 0.2, 0.3, 0.4, 0.5], dtype="float32"),
        "acc_rate": [0.5, 0.6, 0.7, 0.8, 0.9],
        "avg_daily_trips": [10, 20, 30, 40, 50],
    }).to_parquet(data / "driver_stats.parquet", index=False)
    two_hours = now - timedelta(hours=2)
    pd.DataFrame({
        "customer_id": CUSTOMERS,
        "event_timestamp": [two_hours] * len(CUSTOMERS),
        "created": [two_hours] * len(CUSTOMERS),
        "name": ["Ada", "Bob", "Cy"],
        "age": [36, 41, 29],
        "score": [0.5, 1.25, 2.0],
    }).to_parquet(data / "customer_profile.parquet", index=False)
    pd.DataFrame({
        "driver_id": DRIVERS,
        "event_timestamp": [hour] * len(DRIVERS),
        "created": [hour] * len(DRIVERS),
        "trips_today": [1, 2, 3, 4, 5],
    }).to_parquet(data / "trips.parquet", index=False)
    ids = np.arange(backfill_rows, dtype=np.int64)
    stamps = pd.DatetimeIndex([now - timedelta(hours=1)]).repeat(backfill_rows)
    pd.DataFrame({
        "driver_id": ids,
        "event_timestamp": stamps,
        "created": stamps,
        "score": ids % 1000,
    }).to_parquet(data / "backfill.parquet", index=False)


def definitions(data: Path):
    driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64,
                    description="A driver of the fleet")
    customer = Entity(name="customer", join_keys=["customer_id"], value_type=ValueType.STRING,
                      description="A paying customer")
    driver_source = FileSource(name="driver_stats_source", path=str(data / "driver_stats.parquet"),
                               timestamp_field="event_timestamp", created_timestamp_column="created")
    customer_source = FileSource(name="customer_source", path=str(data / "customer_profile.parquet"),
                                 timestamp_field="event_timestamp", created_timestamp_column="created")
    trips_source = FileSource(name="trips_source", path=str(data / "trips.parquet"),
                              timestamp_field="event_timestamp", created_timestamp_column="created")
    backfill_source = FileSource(name="backfill_source", path=str(data / "backfill.parquet"),
                                 timestamp_field="event_timestamp", created_timestamp_column="created")
    trip_request = RequestSource(name="trip_request", schema=[Field(name="distance", dtype=Float64)])

    driver_hourly_stats = FeatureView(
        name="driver_hourly_stats", entities=[driver], ttl=timedelta(days=1), online=True,
        schema=[Field(name="conv_rate", dtype=Float32), Field(name="acc_rate", dtype=Float64),
                Field(name="avg_daily_trips", dtype=Int64)],
        source=driver_source, description="Hourly driver statistics")
    customer_profile = FeatureView(
        name="customer_profile", entities=[customer], ttl=timedelta(minutes=5), online=True,
        schema=[Field(name="name", dtype=String), Field(name="age", dtype=Int64),
                Field(name="score", dtype=Float64)],
        source=customer_source)
    trip_stats = FeatureView(
        name="trip_stats", entities=[driver], ttl=timedelta(days=1), online=True,
        schema=[Field(name="trips_today", dtype=Int64)], source=trips_source)
    backfill_stats = FeatureView(
        name="backfill_stats", entities=[driver], ttl=timedelta(days=1), online=True,
        schema=[Field(name="score", dtype=Int64)], source=backfill_source)

    @on_demand_feature_view(sources=[driver_hourly_stats, trip_request],
                            schema=[Field(name="cost", dtype=Float64)])
    def trip_cost(inputs: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame()
        out["cost"] = inputs["distance"] * inputs["conv_rate"]
        return out

    driver_activity = FeatureService(
        name="driver_activity",
        features=[driver_hourly_stats[["conv_rate", "avg_daily_trips"]], customer_profile],
        description="What the ranking model reads")
    trip_service = FeatureService(name="trip_service", features=[trip_stats, trip_cost])
    return [driver, customer, driver_source, customer_source, trips_source, backfill_source, trip_request,
            driver_hourly_stats, customer_profile, trip_stats, backfill_stats, trip_cost, driver_activity,
            trip_service]


def wait_for_job(url: str, view: str, timeout_s: float = 120) -> dict:
    deadline = time.time() + timeout_s
    jobs = []
    while time.time() < deadline:
        r = requests.get(f"{url}/api/v1/features/materialize/jobs", timeout=30)
        r.raise_for_status()
        jobs = [j for j in r.json()["jobs"] if view in j["views"]]
        if jobs and jobs[-1]["state"] != "running":
            return jobs[-1]
        time.sleep(0.1)
    raise SystemExit(f"materialization of {view} did not finish in {timeout_s} s: {jobs}")


def main() -> None:
    url = sys.argv[1].rstrip("/")
    grpc_port = int(os.environ.get("KILN_GRPC_PORT") or 0)
    if not grpc_port:
        raise SystemExit("KILN_GRPC_PORT is not set: start kiln with --grpc-port 0")
    http_port = int(url.rsplit(":", 1)[1])
    os.environ.setdefault("FEAST_USAGE", "False")
    root = Path(tempfile.mkdtemp(prefix="kiln-ui-features-"))
    now = datetime.now(timezone.utc).replace(microsecond=0)
    data = root / "data"
    backfill_rows = int(os.environ.get("KILN_UI_BACKFILL_ROWS") or 4_000_000)
    write_data(data, now, backfill_rows)

    store = FeatureStore(repo_path=str(write_repo(root, PROJECT, http_port, grpc_port)))
    store.apply(definitions(data))

    # Fresh: a background job (kiln's jobs API shows it with its progress).
    store.materialize(now - timedelta(days=1), now, feature_views=["driver_hourly_stats"], run_async=True)
    job = wait_for_job(url, "driver_hourly_stats")
    if job["state"] != "succeeded":
        raise SystemExit(f"materialization failed: {job}")
    # Stale: rows 2 h old against a 5 min ttl, materialized synchronously.
    store.materialize(now - timedelta(days=1), now, feature_views=["customer_profile"])

    # The online store answers what was materialized (a check of the seed itself).
    online = store.get_online_features(features=["driver_hourly_stats:avg_daily_trips"],
                                       entity_rows=[{"driver_id": 1003}]).to_dict()
    assert online["avg_daily_trips"] == [30], online

    other = FeatureStore(repo_path=str(write_repo(root, OTHER, http_port, grpc_port)))
    other.apply([Entity(name="merchant", join_keys=["merchant_id"], value_type=ValueType.STRING)])

    print(json.dumps({
        "project": PROJECT,
        "other_project": OTHER,
        "fresh_view": "driver_hourly_stats",
        "stale_view": "customer_profile",
        "empty_view": "trip_stats",
        "on_demand_view": "trip_cost",
        "backfill_view": "backfill_stats",
        "backfill_rows": backfill_rows,
        "job_id": job["job_id"],
        "job_rows": job["rows_done"],
        "data_dir": str(root),
    }), flush=True)


if __name__ == "__main__":
    main()
