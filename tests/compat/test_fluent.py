"""The unmodified `mlflow` fluent API against the target tracking server."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

DBL_MAX = 1.7976931348623157e308


def _download_text(run_id: str, path: str, dst: Path) -> str:
    local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path, dst_path=str(dst))
    return Path(local).read_text()


def test_set_experiment_creates_and_reuses(unique):
    name = unique("fluent-exp")
    exp = mlflow.set_experiment(name)
    assert exp.name == name
    assert exp.lifecycle_stage == "active"
    again = mlflow.set_experiment(name)
    assert again.experiment_id == exp.experiment_id
    by_id = mlflow.set_experiment(experiment_id=exp.experiment_id)
    assert by_id.name == name
    fetched = mlflow.get_experiment_by_name(name)
    assert fetched is not None and fetched.experiment_id == exp.experiment_id


def test_params_metrics_tags_round_trip(unique):
    mlflow.set_experiment(unique("fluent-basic"))
    with mlflow.start_run(run_name="basic-run") as run:
        run_id = run.info.run_id
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"optimizer": "adam", "layers": 3, "dropout": "0.5"})
        mlflow.log_metric("loss", 1.5, step=0)
        mlflow.log_metric("loss", 0.75, step=1)
        mlflow.log_metric("loss", 0.25, step=2)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=7)
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev", "unicode": "héllo wörld ✓"})
        assert mlflow.active_run().info.run_id == run_id

    client = MlflowClient()
    got = client.get_run(run_id)
    assert got.info.run_name == "basic-run"
    assert got.info.status == "FINISHED"
    assert got.info.end_time is not None and got.info.end_time >= got.info.start_time
    assert got.data.params == {"lr": "0.01", "optimizer": "adam", "layers": "3", "dropout": "0.5"}
    # Run data holds the latest value (by step) of each metric.
    assert got.data.metrics == {"loss": 0.25, "acc": 0.9, "f1": 0.8}
    assert got.data.tags["team"] == "vision"
    assert got.data.tags["stage"] == "dev"
    assert got.data.tags["unicode"] == "héllo wörld ✓"
    assert got.data.tags["mlflow.runName"] == "basic-run"

    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [(0, 1.5), (1, 0.75), (2, 0.25)]
    (acc,) = client.get_metric_history(run_id, "acc")
    assert (acc.step, acc.value) == (7, 0.9)
    assert acc.timestamp > 0


def test_nested_runs_parent_tag(unique):
    exp = mlflow.set_experiment(unique("fluent-nested"))
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child-a", nested=True) as child_a:
            mlflow.log_metric("m", 1)
        with mlflow.start_run(run_name="child-b", nested=True) as child_b:
            with mlflow.start_run(run_name="grandchild", nested=True) as grandchild:
                mlflow.log_param("depth", 2)
        assert mlflow.active_run().info.run_id == parent.info.run_id

    client = MlflowClient()
    pid = parent.info.run_id
    assert "mlflow.parentRunId" not in client.get_run(pid).data.tags
    assert client.get_run(child_a.info.run_id).data.tags["mlflow.parentRunId"] == pid
    assert client.get_run(child_b.info.run_id).data.tags["mlflow.parentRunId"] == pid
    assert client.get_run(grandchild.info.run_id).data.tags["mlflow.parentRunId"] == child_b.info.run_id

    children = mlflow.search_runs(
        experiment_ids=[exp.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{pid}'",
        output_format="list",
    )
    assert sorted(r.info.run_name for r in children) == ["child-a", "child-b"]


@pytest.mark.parametrize("status", ["FINISHED", "FAILED", "KILLED"])
def test_end_run_status(unique, status):
    mlflow.set_experiment(unique("fluent-status"))
    run = mlflow.start_run()
    assert MlflowClient().get_run(run.info.run_id).info.status == "RUNNING"
    mlflow.end_run(status=status)
    assert mlflow.active_run() is None
    info = MlflowClient().get_run(run.info.run_id).info
    assert info.status == status
    assert info.end_time is not None and info.end_time >= info.start_time


def test_metric_special_values_round_trip(unique):
    mlflow.set_experiment(unique("fluent-nan"))
    with mlflow.start_run() as run:
        mlflow.log_metric("nan", float("nan"), step=0)
        mlflow.log_metric("pinf", float("inf"), step=0)
        mlflow.log_metric("ninf", float("-inf"), step=0)
        mlflow.log_metric("tiny", 5e-324, step=0)
        mlflow.log_metric("huge", 1.7976931348623157e308, step=0)
        mlflow.log_metric("neg", -12345.678, step=0)
        mlflow.log_metric("big_step", 3.0, step=2**40)
    client = MlflowClient()
    m = client.get_run(run.info.run_id).data.metrics
    assert math.isnan(m["nan"])
    # MLflow's SQL store (the reference `mlflow server` backend) clamps +/-inf to
    # +/-DBL_MAX on write; its file store keeps them infinite. Both are real
    # MLflow behaviours, so either is accepted -- but the sign must survive.
    assert m["pinf"] in (math.inf, DBL_MAX)
    assert m["ninf"] in (-math.inf, -DBL_MAX)
    assert m["tiny"] == 5e-324
    assert m["huge"] == 1.7976931348623157e308
    assert m["neg"] == -12345.678
    assert m["big_step"] == 3.0
    (h,) = client.get_metric_history(run.info.run_id, "nan")
    assert math.isnan(h.value)
    (h,) = client.get_metric_history(run.info.run_id, "ninf")
    assert h.value in (-math.inf, -DBL_MAX)
    (h,) = client.get_metric_history(run.info.run_id, "big_step")
    assert h.step == 2**40


def test_log_artifact_file_and_directory(unique, tmp_path):
    mlflow.set_experiment(unique("fluent-artifacts"))
    single = tmp_path / "notes.txt"
    single.write_text("single file contents\n")
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "a.txt").write_text("A")
    (tree / "sub" / "b.json").write_text('{"b": 1}')
    (tree / "sub" / "deeper" / "c.bin").write_bytes(bytes(range(256)) * 4)

    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(single), artifact_path="copies")
        mlflow.log_artifacts(str(tree), artifact_path="tree")
        mlflow.log_artifacts(str(tree))  # at the root

    client = MlflowClient()
    rid = run.info.run_id
    root = {f.path: f for f in client.list_artifacts(rid)}
    assert set(root) == {"notes.txt", "copies", "tree", "a.txt", "sub"}
    assert root["notes.txt"].is_dir is False and root["notes.txt"].file_size == len("single file contents\n")
    assert root["tree"].is_dir and root["sub"].is_dir
    sub = {f.path: f for f in client.list_artifacts(rid, "tree/sub")}
    assert set(sub) == {"tree/sub/b.json", "tree/sub/deeper"}
    assert sub["tree/sub/b.json"].file_size == 8

    out = Path(mlflow.artifacts.download_artifacts(run_id=rid, artifact_path="tree", dst_path=str(tmp_path / "dl")))
    assert (out / "a.txt").read_text() == "A"
    assert json.loads((out / "sub" / "b.json").read_text()) == {"b": 1}
    assert (out / "sub" / "deeper" / "c.bin").read_bytes() == bytes(range(256)) * 4
    assert _download_text(rid, "copies/notes.txt", tmp_path / "dl2") == "single file contents\n"


def test_log_dict_and_text(unique, tmp_path):
    mlflow.set_experiment(unique("fluent-dict"))
    payload = {"name": "kiln", "values": [1, 2.5, None, True], "nested": {"k": "v ✓"}}
    with mlflow.start_run() as run:
        mlflow.log_dict(payload, "config/params.json")
        mlflow.log_dict(payload, "config/params.yaml")
        mlflow.log_text("line one\nline two ✓\n", "logs/output.txt")
    rid = run.info.run_id
    assert json.loads(_download_text(rid, "config/params.json", tmp_path / "a")) == payload
    import yaml

    assert yaml.safe_load(_download_text(rid, "config/params.yaml", tmp_path / "b")) == payload
    assert _download_text(rid, "logs/output.txt", tmp_path / "c") == "line one\nline two ✓\n"
    # mlflow.artifacts.load_* go through the same download path.
    assert mlflow.artifacts.load_dict(f"runs:/{rid}/config/params.json") == payload
    assert mlflow.artifacts.load_text(f"runs:/{rid}/logs/output.txt") == "line one\nline two ✓\n"


def test_log_figure(unique, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mlflow.set_experiment(unique("fluent-figure"))
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [2, 1, 3])
    with mlflow.start_run() as run:
        mlflow.log_figure(fig, "plots/curve.png")
    plt.close(fig)
    files = MlflowClient().list_artifacts(run.info.run_id, "plots")
    assert [f.path for f in files] == ["plots/curve.png"]
    local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="plots/curve.png",
                                                dst_path=str(tmp_path))
    data = Path(local).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert files[0].file_size == len(data)


def test_log_input_dataset(unique):
    mlflow.set_experiment(unique("fluent-input"))
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1], "label": ["a", "b", "a", "b"]})
    dataset = mlflow.data.from_pandas(df, name="tiny-frame", targets="y")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training", tags={"split": "train"})
    got = MlflowClient().get_run(run.info.run_id)
    inputs = got.inputs.dataset_inputs
    assert len(inputs) == 1
    ds = inputs[0].dataset
    assert ds.name == "tiny-frame"
    assert ds.digest == dataset.digest
    assert ds.source_type == dataset.source._get_source_type()
    assert json.loads(ds.schema) == json.loads(dataset._to_mlflow_entity().schema)
    assert json.loads(ds.profile) == {"num_rows": 4, "num_elements": 12}
    tags = {t.key: t.value for t in inputs[0].tags}
    assert tags["mlflow.data.context"] == "training"
    assert tags["split"] == "train"


def test_xgboost_log_and_load_model(unique):
    import xgboost as xgb

    mlflow.set_experiment(unique("fluent-xgb"))
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "seed": 7},
                        xgb.DMatrix(X, label=y), num_boost_round=10)
    expected = booster.predict(xgb.DMatrix(X))

    with mlflow.start_run() as run:
        info = mlflow.xgboost.log_model(booster, name="model", input_example=X[:3])
    assert info.run_id == run.info.run_id

    loaded = mlflow.xgboost.load_model(info.model_uri)
    np.testing.assert_allclose(loaded.predict(xgb.DMatrix(X)), expected, rtol=0, atol=0)

    pyfunc = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_allclose(np.asarray(pyfunc.predict(X)).ravel(), expected, rtol=0, atol=0)

    # The same model is also reachable through the run's artifact tree.
    pyfunc_by_run = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(np.asarray(pyfunc_by_run.predict(X)).ravel(), expected, rtol=0, atol=0)


def test_active_run_resume_and_log(unique):
    mlflow.set_experiment(unique("fluent-resume"))
    with mlflow.start_run() as run:
        mlflow.log_metric("x", 1.0, step=0)
    with mlflow.start_run(run_id=run.info.run_id):
        mlflow.log_metric("x", 2.0, step=1)
        mlflow.log_param("resumed", "yes")
    got = MlflowClient().get_run(run.info.run_id)
    assert got.data.metrics["x"] == 2.0
    assert got.data.params["resumed"] == "yes"
    assert got.info.status == "FINISHED"


def test_search_runs_dataframe(unique):
    exp = mlflow.set_experiment(unique("fluent-df"))
    for i in range(3):
        with mlflow.start_run(run_name=f"df-{i}"):
            mlflow.log_metric("score", float(i))
            mlflow.log_param("i", i)
            time.sleep(0.002)
    df = mlflow.search_runs(experiment_ids=[exp.experiment_id], order_by=["metrics.score DESC"])
    assert list(df["metrics.score"]) == [2.0, 1.0, 0.0]
    assert list(df["params.i"]) == ["2", "1", "0"]
    assert list(df["tags.mlflow.runName"]) == ["df-2", "df-1", "df-0"]
