"""`kiln validate URL`: the runbook's Phase 4 as one command.

The real binary checks a real kiln (started on port 0 with a temp data dir):
health, tracking, an experiment, feature retrieval (features applied with the
unmodified Feast SDK and written through it), a model it generates, logs as an
MLflow package, registers and deploys itself, a prediction checked against the
trees, and a short load test. It exits 0 only when every row passes; a failing
check is a nonzero exit and a FAIL row that says why.
"""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta

import pandas as pd
import pytest

from conftest import free_port, kiln_binary
from feast_fixtures import feast_cli, feature_store, utc_now_s, write_feast_repo

pytestmark = pytest.mark.kiln_only

CHECKS = ["GET /health", "GET /version", "GET /metrics", "tracking reachable", "create an experiment",
          "feature retrieval", "model deployment", "model prediction", "predict under load"]


def validate(url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(kiln_binary()), "validate", url, "--duration-s", "1.5", "--threads", "2", *args],
                          capture_output=True, text=True, timeout=timeout)


def summary(out: str) -> dict[str, tuple[str, str]]:
    """{check: (PASS|FAIL, detail)} from the summary table."""
    rows = {}
    table = out[out.index("PHASE"):]
    for line in table.splitlines()[1:]:
        for name in CHECKS:
            m = re.match(r"^\S+\s+" + re.escape(name) + r"\s+(PASS|FAIL)\s+\S+ ms\s+(.*)$", line)
            if m:
                rows[name] = (m.group(1), m.group(2))
    return rows


@pytest.fixture(scope="module")
def feast_kiln(compat_tmp_root, tmp_path_factory):
    """A kiln with Feast definitions applied and driver rows written through the SDK."""
    from conftest import ServerProcess

    srv = ServerProcess("kiln", compat_tmp_root / "validate", ["--grpc-port", "0"])
    srv.start()
    repo = write_feast_repo(tmp_path_factory.mktemp("validate-repo"), srv)
    feast_cli(repo, "apply")
    now = utc_now_s()
    drivers = pd.DataFrame({"driver_id": [1001], "event_timestamp": [now - timedelta(minutes=5)], "created": [now],
                            "conv_rate": [0.5], "acc_rate": [0.25], "avg_daily_trips": [12]})
    drivers["conv_rate"] = drivers["conv_rate"].astype("float32")
    feature_store(repo).write_to_online_store("driver_hourly_stats", drivers)
    yield srv
    srv.stop(check=True)


def test_every_check_passes_against_a_kiln_with_features(feast_kiln):
    from mlflow.tracking import MlflowClient

    r = validate(feast_kiln.url, "--features", "driver_hourly_stats:conv_rate,driver_hourly_stats:avg_daily_trips",
                 "--entity", "driver_id=1001")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = summary(r.stdout)
    assert set(rows) == set(CHECKS), r.stdout
    assert all(result == "PASS" for result, _ in rows.values()), r.stdout
    assert "conv_rate=0.5 (PRESENT)" in rows["feature retrieval"][1]
    assert "avg_daily_trips=12 (PRESENT)" in rows["feature retrieval"][1]
    assert "as the trees give" in rows["model prediction"][1]
    assert re.search(r"\d+ requests", rows["predict under load"][1]), rows["predict under load"]
    assert "9 of 9 checks passed: PASS" in r.stdout
    # The throwaway model and its endpoint are gone afterwards.
    client = MlflowClient(tracking_uri=feast_kiln.url)
    assert [m.name for m in client.search_registered_models() if m.name.startswith("kiln-validate-")] == []


def test_kept_artifacts_are_a_real_registered_model(feast_kiln):
    from mlflow.tracking import MlflowClient

    r = validate(feast_kiln.url, "--keep", "--features", "driver_hourly_stats:conv_rate", "--entity", "driver_id=1001")
    assert r.returncode == 0, r.stdout + r.stderr
    client = MlflowClient(tracking_uri=feast_kiln.url)
    names = [m.name for m in client.search_registered_models() if m.name.startswith("kiln-validate-")]
    assert len(names) == 1, names
    (version,) = client.search_model_versions(f"name='{names[0]}'")
    assert version.status == "READY"
    assert version.current_stage == "Staging"
    assert version.source == f"runs:/{version.run_id}/model"


def test_without_a_feature_view_the_feature_row_fails_and_says_why(server):
    r = validate(server)
    assert r.returncode == 1, r.stdout + r.stderr
    rows = summary(r.stdout)
    assert rows["feature retrieval"][0] == "FAIL"
    assert "--features view:feature" in rows["feature retrieval"][1]
    for name in CHECKS:
        if name != "feature retrieval":
            assert rows[name][0] == "PASS", (name, r.stdout)
    assert "8 of 9 checks passed: FAIL" in r.stdout


def test_nothing_listening_fails_every_row_with_a_reason():
    url = f"http://127.0.0.1:{free_port()}"
    r = validate(url, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    rows = summary(r.stdout)
    assert set(rows) == set(CHECKS)
    assert all(result == "FAIL" for result, _ in rows.values()), r.stdout
    assert rows["GET /health"][1].startswith("no answer:"), rows["GET /health"]
    assert "skipped: tracking is not reachable" in rows["create an experiment"][1]
    assert "skipped" in rows["model deployment"][1] and "skipped" in rows["predict under load"][1]


def test_a_breached_load_threshold_fails_the_run(feast_kiln):
    r = validate(feast_kiln.url, "--max-p95-ms", "0", "--features", "driver_hourly_stats:conv_rate",
                 "--entity", "driver_id=1001")
    assert r.returncode == 1, r.stdout + r.stderr
    rows = summary(r.stdout)
    assert rows["predict under load"][0] == "FAIL"
    assert "p95 above --max-p95-ms" in rows["predict under load"][1]
    assert rows["model prediction"][0] == "PASS"


def test_a_missing_feature_value_fails_the_feature_row(feast_kiln):
    r = validate(feast_kiln.url, "--features", "driver_hourly_stats:conv_rate", "--entity", "driver_id=4242")
    assert r.returncode == 1
    rows = summary(r.stdout)
    assert rows["feature retrieval"][0] == "FAIL"
    assert "NOT_FOUND" in rows["feature retrieval"][1], rows["feature retrieval"]


def test_bad_arguments_exit_2():
    r = subprocess.run([str(kiln_binary()), "validate", "ftp://example"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "not an http:// or https:// URL" in r.stderr
