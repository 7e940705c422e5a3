"""kiln's JSON read routes for the web UI's feature pages
(/api/2.0/kiln/ui/features/..., src/api/feast/feature_ui_routes.h): the
registry objects the unmodified Feast SDK applied, per-view freshness from
the online store's newest event time against the ttl, and materialization
jobs with their windows; then the same routes with --auth, where each route's
access decision (issue 12) is checked: anonymous callers are refused, the
project list shows only the projects a caller may view, and a project, its
jobs and a view's freshness need viewer on the project.
"""
from __future__ import annotations

import textwrap
import time
from datetime import timedelta

import pytest
import requests

from feast_fixtures import PROJECT, feast_cli, feature_store, utc_now_s, write_default_data, write_feast_repo

pytestmark = pytest.mark.kiln_only

UI = "/api/2.0/kiln/ui/features"
ADMIN_PW = "feature-ui-admin-pw"


def get(srv, path, **kw):
    return requests.get(srv.url + UI + path, timeout=30, **kw)


def views_by_name(detail):
    return {v["name"]: v for v in detail["feature_views"]}


@pytest.fixture(scope="module")
def world(compat_tmp_root, tmp_path_factory):
    from conftest import ServerProcess

    srv = ServerProcess("kiln", compat_tmp_root / "feature-ui", ["--grpc-port", "0"]).start()
    repo = write_feast_repo(tmp_path_factory.mktemp("feature-ui-repo"), srv)
    data = write_default_data(repo)
    feast_cli(repo, "apply")
    yield srv, repo, data
    srv.stop(check=True)


def test_registry_objects_as_the_sdk_applied_them(world):
    srv, _, _ = world
    r = get(srv, "/projects")
    assert r.status_code == 200, r.text
    (p,) = [p for p in r.json()["projects"] if p["name"] == PROJECT]
    assert p["counts"] == {"entities": 2, "data_sources": 3, "feature_views": 2, "on_demand_feature_views": 0,
                           "feature_services": 1}

    r = get(srv, f"/projects/{PROJECT}")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["project"]["name"] == PROJECT
    assert {(e["name"], e["join_key"], e["value_type"]) for e in d["entities"]} == {
        ("driver", "driver_id", "INT64"), ("customer", "customer_id", "STRING")}
    sources = {s["name"]: s for s in d["data_sources"]}
    assert sources["driver_stats_source"]["type"] == "file"
    assert sources["driver_stats_source"]["path"].endswith("driver_stats.parquet")
    assert sources["driver_stats_source"]["timestamp_field"] == "event_timestamp"
    assert sources["driver_stats_source"]["created_timestamp_column"] == "created"
    assert sources["driver_stats_source"]["readable_by_kiln"] is True
    assert sources["driver_stats_push"]["type"] == "push"
    assert sources["driver_stats_push"]["batch_source"] == "driver_stats_source"

    views = views_by_name(d)
    drv = views["driver_hourly_stats"]
    assert drv["kind"] == "batch"
    assert [(f["name"], f["type"]) for f in drv["features"]] == [
        ("conv_rate", "Float32"), ("acc_rate", "Float64"), ("avg_daily_trips", "Int64")]
    assert drv["entities"] == [{"name": "driver", "join_key": "driver_id", "value_type": "INT64"}]
    assert drv["ttl_seconds"] == 24 * 3600
    assert drv["online"] is True
    assert drv["push_source"] == "driver_stats_push"
    assert views["customer_profile"]["ttl_seconds"] == 7 * 24 * 3600
    assert ("tags", "Array(String)") in [(f["name"], f["type"]) for f in views["customer_profile"]["features"]]
    # Nothing stored online yet.
    for v in views.values():
        assert v["freshness"]["state"] == "no_data", v
        assert v["freshness"]["newest_event"] is None
        assert v["materialization_intervals"] == []

    (svc,) = d["feature_services"]
    assert svc["name"] == "driver_activity"
    assert [(p["view"], p["features"]) for p in svc["views"]] == [
        ("driver_hourly_stats", ["conv_rate", "avg_daily_trips"]),
        ("customer_profile", ["name", "age", "score", "vip", "tags"])]
    direct = {(r["source"]["type"], r["source"]["name"], r["target"]["type"], r["target"]["name"])
              for r in d["lineage"]["direct"]}
    assert ("dataSource", "customer_source", "featureView", "customer_profile") in direct
    assert ("featureView", "driver_hourly_stats", "featureService", "driver_activity") in direct
    assert d["materializations"] == [] and d["running"] == 0


def test_freshness_follows_the_online_store_against_the_ttl(world):
    srv, repo, data = world
    store = feature_store(repo)
    now = data["now"]
    # Driver rows are 1-3 h old against a 24 h ttl (1005's is 2 days old, but
    # the newest row decides): fresh once materialized.
    store.materialize(now - timedelta(days=3), now, feature_views=["driver_hourly_stats"])
    r = get(srv, f"/projects/{PROJECT}/views/driver_hourly_stats/freshness")
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["view"] == "driver_hourly_stats"
    assert f["state"] == "fresh"
    assert f["newest_event"] == (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert 3600 <= f["age_seconds"] < 3600 + 300
    assert f["ttl_seconds"] == 24 * 3600
    # customer_profile: rows 2 h old written through the SDK; with a 1 s ttl
    # they are stale (re-applied with the short ttl).
    feast_cli_apply_with_customer_ttl(repo, seconds=1)
    store = feature_store(repo)
    store.write_to_online_store("customer_profile", data["customers"].drop(columns=["tags"]).assign(
        tags=[["a"], ["b"], ["c"]]))
    f = get(srv, f"/projects/{PROJECT}/views/customer_profile/freshness").json()
    assert f["state"] == "stale", f
    assert f["age_seconds"] >= 7200 - 5
    d = get(srv, f"/projects/{PROJECT}").json()
    views = views_by_name(d)
    assert views["driver_hourly_stats"]["freshness"]["state"] == "fresh"
    assert len(views["driver_hourly_stats"]["materialization_intervals"]) == 1
    assert views["customer_profile"]["freshness"]["state"] == "stale"


def feast_cli_apply_with_customer_ttl(repo, seconds: int):
    text = (repo / "features.py").read_text()
    text = text.replace("ttl=timedelta(days=7)", f"ttl=timedelta(seconds={seconds})")
    (repo / "features.py").write_text(text)
    feast_cli(repo, "apply")


def test_background_jobs_with_their_windows_and_rows(world):
    srv, repo, data = world
    store = feature_store(repo)
    now = data["now"]
    store.materialize(now - timedelta(days=1), now, feature_views=["driver_hourly_stats"], run_async=True)
    deadline = time.time() + 60
    while True:
        m = get(srv, f"/projects/{PROJECT}/materializations").json()
        if m["materializations"] and m["running"] == 0:
            break
        assert time.time() < deadline, m
        time.sleep(0.1)
    job = m["materializations"][0]  # newest first
    assert job["state"] == "succeeded"
    assert job["views"] == [{"view": "driver_hourly_stats",
                             "start": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "end": now.strftime("%Y-%m-%dT%H:%M:%SZ")}]
    assert job["rows_done"] == job["rows_total"] == 4  # the drivers with a row in the last day
    assert job["finished"] is not None and job["duration_seconds"] >= 0
    d = get(srv, f"/projects/{PROJECT}").json()
    assert d["materializations"][0]["job_id"] == job["job_id"]


def test_unknown_project_and_view_are_404(world):
    srv, _, _ = world
    r = get(srv, "/projects/nope")
    assert r.status_code == 404
    assert "nope" in r.json()["message"]
    assert get(srv, "/projects/nope/materializations").status_code == 404
    r = get(srv, f"/projects/{PROJECT}/views/nope/freshness")
    assert r.status_code == 404
    assert r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    from conftest import ServerProcess

    root = tmp_path_factory.mktemp("feature-ui-auth")
    pw = root / "admin-password"
    pw.write_text(ADMIN_PW + "\n")
    srv = ServerProcess("kiln", root / "data", ["--auth", "--admin-password-file", str(pw), "--default-role", "none",
                                                "--grpc-port", "0"]).start()
    admin = ("admin", ADMIN_PW)
    for name in ("viewer", "stranger"):
        r = requests.post(srv.url + "/api/v1/users", json={"name": name, "password": f"{name}-password-1"},
                          auth=admin, timeout=30)
        assert r.status_code == 201, r.text
    r = requests.post(srv.url + "/api/v1/tokens", json={"user": "admin", "name": "feast"}, auth=admin, timeout=30)
    assert r.status_code == 201, r.text
    repo = write_feast_repo(root / "repo", srv)
    write_default_data(repo)
    with open(repo / "feature_store.yaml", "a") as f:
        f.write(textwrap.dedent(f"""\
            auth:
              type: kubernetes
              user_token: {r.json()["secret"]}
            """))
    feast_cli(repo, "apply")
    r = requests.post(srv.url + "/api/v1/grants", json={"subject_kind": "user", "subject": "viewer",
                                                        "object_kind": "feature_project", "object_id": PROJECT,
                                                        "role": "viewer"}, auth=admin, timeout=30)
    assert r.status_code == 200, r.text
    yield srv
    srv.stop(check=True)


def test_every_route_decides_access(secured):
    srv = secured
    viewer = ("viewer", "viewer-password-1")
    stranger = ("stranger", "stranger-password-1")
    paths = ["/projects", f"/projects/{PROJECT}", f"/projects/{PROJECT}/materializations",
             f"/projects/{PROJECT}/views/driver_hourly_stats/freshness"]
    for p in paths:
        assert get(srv, p).status_code == 401, p
        assert get(srv, p, auth=viewer).status_code == 200, p
    # The list shows only what the caller may view; the rest is refused.
    assert [p["name"] for p in get(srv, "/projects", auth=viewer).json()["projects"]] == [PROJECT]
    r = get(srv, "/projects", auth=stranger)
    assert r.status_code == 200 and r.json()["projects"] == []
    for p in paths[1:]:
        r = get(srv, p, auth=stranger)
        assert r.status_code == 403, (p, r.text)
    # The route listing names each decision.
    routes = requests.get(srv.url + "/api/v1/routes", auth=("admin", ADMIN_PW), timeout=30).json()["routes"]
    mine = {r["pattern"]: r["access"] for r in routes if r["pattern"].startswith(UI)}
    assert len(mine) == 4, mine
    assert all(a != "unset" for a in mine.values()), mine
