"""kiln's native XGBoost evaluator against the xgboost releases that wrote the models.

For each reference version (1.7.6, 2.1.4, 3.2.0, each in its own virtualenv
.venv-xgb/<version> made by scripts/setup.sh), tests/runtimes/gen_xgboost.py
trains the model matrix (every objective and model kind of the serving
contract that the version has), saves each model in every format that
version writes (JSON, UBJSON, the legacy binary format where it still
exists, and model.xgb as MLflow saves it) and records that version's own
predictions for 1,200 rows with NaN, +-inf and invalid categories. All
models go into one Triton-layout repository served by one kiln; every row
is sent through V2 REST with binary tensors (JSON has no NaN or inf) via
the unmodified tritonclient.

Tolerance: labels (multi:softmax, binary:hinge) must be equal. Values must
agree within 1e-6 relative to max(|reference|, 1e-2), i.e. an absolute 1e-8
for references under 0.01: a purely relative bound is undefined at 0, and
1e-8 is below one float32 ulp of the O(1) leaves being summed, so only a
last-bit difference in a sum that cancels to near 0 could pass. Measured
errors (docs/serving.md) are 0 except 1 ulp for xgboost 3.2's DART.

Also: models kiln cannot evaluate exactly (gblinear, an unknown objective,
truncated or corrupted files) are refused at load with a reason that says
what and why, and the server keeps serving the rest.

Set KILN_XGB_PARITY_REPORT=FILE to write the parity table (markdown).
kiln-only: MLflow's server has no V2 API.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
import tritonclient.http as httpclient

pytestmark = pytest.mark.kiln_only

REPO_ROOT = Path(__file__).resolve().parents[2]
GENERATOR = REPO_ROOT / "tests" / "runtimes" / "gen_xgboost.py"
VERSIONS = {"1.7": "1.7.6", "2.1": "2.1.4", "3.2": "3.2.0"}
RTOL = 1e-6
FLOOR = 1e-2
MIN_ROWS = 1000

ALL_MODELS = ["binary-logistic", "binary-logitraw", "reg-squarederror", "reg-base-score", "reg-logistic",
              "count-poisson", "reg-tweedie", "reg-gamma", "multi-softprob", "multi-softmax", "rank-pairwise",
              "rank-ndcg", "quantile", "categorical", "categorical-softprob", "multi-target",
              "multi-output-tree", "dart", "random-forest", "binary-hinge", "reg-absoluteerror", "reg-pseudohubererror",
              "reg-squaredlogerror", "survival-cox", "survival-aft", "rank-map"]
LABEL_OBJECTIVES = {"multi:softmax", "binary:hinge"}
# What each version genuinely cannot do: 1.7 has neither reg:quantileerror
# nor multi_strategy; nobody writes categorical or vector-leaf models in the
# legacy binary format, and 3.x writes no legacy binary at all.
NOT_IN_17 = {"quantile", "multi-output-tree"}
NO_BINARY = {"categorical", "categorical-softprob", "multi-output-tree"}


def expected_formats(version: str, model: str) -> list[str]:
    formats = ["json", "ubj"]
    # model.xgb, as MLflow names it: legacy binary from 1.7, UBJSON from 2.1 on.
    if not (version == "1.7" and model in NO_BINARY):
        formats.append("xgb")
    if version != "3.2" and model not in NO_BINARY:
        formats.append("bst")
    return formats


def expected_models(version: str) -> list[str]:
    return [m for m in ALL_MODELS if not (version == "1.7" and m in NOT_IN_17)]


CASES = [(v, m, f) for v in VERSIONS for m in expected_models(v) for f in expected_formats(v, m)]


def served_name(version: str, model: str, fmt: str) -> str:
    return f"v{version.replace('.', '')}-{model}-{fmt}"


def _python_for(version: str) -> Path:
    py = REPO_ROOT / ".venv-xgb" / version / "bin" / "python"
    if not py.exists():
        pytest.fail(f"{py} is missing: scripts/setup.sh creates the reference xgboost virtualenvs", pytrace=False)
    return py


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    """Runs the generator under each reference xgboost; returns {version: (dir, manifest)}."""
    out = {}
    for version, full in VERSIONS.items():
        d = tmp_path_factory.mktemp(f"xgb-{version}")
        r = subprocess.run([str(_python_for(version)), str(GENERATOR), str(d)], capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, f"gen_xgboost.py under xgboost {version} failed:\n{r.stdout}\n{r.stderr}"
        manifest = json.loads((d / "manifest.json").read_text())
        assert manifest["xgboost"] == full
        out[version] = (d, manifest)
    return out


def _refusal_models(matrix, root: Path) -> dict[str, str]:
    """Models kiln must refuse, each with a phrase its reason must contain."""
    cases = {}

    def put(name: str, filename: str, data: bytes, needle: str):
        (root / name / "1").mkdir(parents=True)
        (root / name / "1" / filename).write_bytes(data)
        cases[name] = needle

    d32, _ = matrix["3.2"]
    d21, _ = matrix["2.1"]
    d17, _ = matrix["1.7"]
    put("refuse-gblinear-json", "model.json", (d32 / "refuse" / "gblinear.json").read_bytes(), "gblinear")
    put("refuse-gblinear-ubj", "model.ubj", (d21 / "refuse" / "gblinear.ubj").read_bytes(), "gblinear")
    put("refuse-gblinear-bst", "model.bst", (d17 / "refuse" / "gblinear.bst").read_bytes(), "gblinear")
    model = json.loads((d32 / "binary-logistic" / "model.json").read_text())
    model["learner"]["objective"]["name"] = "reg:madeup"
    put("refuse-objective", "model.json", json.dumps(model).encode(), "objective 'reg:madeup'")
    model = json.loads((d32 / "binary-logistic" / "model.json").read_text())
    model["learner"]["gradient_booster"]["name"] = "gbforest"
    put("refuse-booster", "model.json", json.dumps(model).encode(), "unknown booster 'gbforest'")
    ubj = (d21 / "reg-squarederror" / "model.ubj").read_bytes()
    put("refuse-truncated-ubj", "model.ubj", ubj[: len(ubj) // 2], "not a valid UBJSON document")
    text = (d17 / "reg-squarederror" / "model.json").read_bytes()
    put("refuse-truncated-json", "model.json", text[: len(text) - 100], "not a valid JSON document")
    bst = (d21 / "multi-softprob" / "model.bst").read_bytes()
    put("refuse-truncated-bst", "model.bst", bst[: len(bst) - 1000], "truncated or malformed")
    flipped = bytearray((d17 / "reg-squarederror" / "model.bst").read_bytes())
    # The first tree's first node: its left child now points far outside the tree.
    first_node = 4 + 136 + 8 + len("reg:squarederror") + 8 + len("gbtree") + 160 + 148
    flipped[first_node + 4 + 3] ^= 0x40
    put("refuse-flipped-bst", "model.bst", bytes(flipped), "children outside the tree")
    put("refuse-empty", "model.json", b"", "empty XGBoost model")
    return cases


@pytest.fixture(scope="module")
def served(matrix, tmp_path_factory, compat_tmp_root):
    from conftest import ServerProcess

    root = tmp_path_factory.mktemp("xgb-matrix-repo")
    for version, model, fmt in CASES:
        src_dir, _ = matrix[version]
        d = root / served_name(version, model, fmt) / "1"
        d.mkdir(parents=True)
        shutil.copy(src_dir / model / f"model.{fmt}", d / f"model.{fmt}")
    refusals = _refusal_models(matrix, root)
    srv = ServerProcess("kiln", compat_tmp_root / "serving-xgb-matrix", ["--model-repository", str(root)])
    srv.start()
    client = httpclient.InferenceServerClient(url=srv.url.removeprefix("http://"), network_timeout=120)
    report: list[tuple] = []
    yield srv, client, refusals, report
    client.close()
    srv.stop(check=True)
    out = os.environ.get("KILN_XGB_PARITY_REPORT")
    if out:
        lines = ["| xgboost | model | objective | format | rows | max abs error | max rel error |",
                 "|---|---|---|---|---|---|---|"]
        for row in sorted(report):
            lines.append("| {} | {} | {} | {} | {} | {:.3g} | {:.3g} |".format(*row))
        Path(out).write_text("\n".join(lines) + "\n")


def test_every_version_wrote_the_whole_matrix(matrix):
    """A model or format that silently went missing from a generator run fails here."""
    for version, (d, manifest) in matrix.items():
        assert sorted(manifest["models"]) == sorted(expected_models(version)), version
        for model, entry in manifest["models"].items():
            assert sorted(entry["formats"]) == sorted(expected_formats(version, model)), (version, model, entry)
            assert entry["rows"] >= MIN_ROWS
            for fmt in entry["formats"]:
                assert (d / model / f"model.{fmt}").stat().st_size > 0
        assert (d / "refuse" / "gblinear.json").exists()


@pytest.mark.parametrize("version,model,fmt", CASES, ids=[served_name(*c) for c in CASES])
def test_prediction_equals_the_writing_xgboost(matrix, served, version, model, fmt):
    _, client, _, report = served
    d, manifest = matrix[version]
    entry = manifest["models"][model]
    rows, features, outputs = entry["rows"], entry["features"], entry["outputs"]
    x = np.fromfile(d / model / "x.f32", dtype="<f4").reshape(rows, features)
    expected = np.fromfile(d / model / "pred.f32", dtype="<f4")
    expected = expected.reshape(rows, outputs) if outputs > 1 else expected
    assert np.isinf(x).any() and np.isnan(x).any()

    inp = httpclient.InferInput("input-0", [rows, features], "FP32")
    inp.set_data_from_numpy(x, binary_data=True)
    out = httpclient.InferRequestedOutput("output-0", binary_data=True)
    got = client.infer(served_name(version, model, fmt), [inp], outputs=[out]).as_numpy("output-0")
    assert got.dtype == np.float32 and got.shape == expected.shape

    if entry["objective"] in LABEL_OBJECTIVES:
        mismatched = int((got != expected).sum())
        report.append((version, model, entry["objective"], fmt, rows, float(mismatched), 0.0))
        assert mismatched == 0, f"{mismatched} labels differ"
        return
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    g = got.astype(np.float64)
    e = expected.astype(np.float64)
    abs_err = np.where(np.isnan(e), 0.0, np.abs(g - e))
    rel_err = abs_err / np.maximum(np.abs(e), FLOOR)
    report.append((version, model, entry["objective"], fmt, rows, float(abs_err.max()), float(rel_err.max())))
    worst = np.unravel_index(np.argmax(rel_err), rel_err.shape)
    assert rel_err.max() <= RTOL, (f"max relative error {rel_err.max():.3g} at {worst}: kiln {g[worst]!r}, "
                                   f"xgboost {version} {e[worst]!r}")


def test_unservable_models_are_refused_at_load_with_the_reason(served):
    srv, client, refusals, _ = served
    index = {m["name"]: m for m in requests.post(srv.url + "/v2/repository/index", json={}, timeout=30).json()}
    for name, needle in refusals.items():
        entry = index[name]
        assert entry["state"] == "UNAVAILABLE", (name, entry)
        assert "cannot load XGBoost model" in entry["reason"] and needle in entry["reason"], (name, entry["reason"])
        r = requests.post(srv.url + f"/v2/models/{name}/infer",
                          json={"inputs": [{"name": "input-0", "shape": [1, 8], "datatype": "FP32",
                                            "data": [0.0] * 8}]}, timeout=30)
        assert r.status_code == 503 and "not ready" in r.json()["error"], (name, r.text)
    # The refusals took nothing else down.
    ready = [m for m in index.values() if m["state"] == "READY"]
    assert len(ready) == len(CASES)
    assert requests.get(srv.url + "/v2/health/ready", timeout=10).json() == {"ready": True}


def test_metadata_shapes_follow_the_outputs(matrix, served):
    srv, *_ = served
    for version, model, fmt in [("3.2", "multi-softprob", "ubj"), ("3.2", "quantile", "json"),
                                ("2.1", "multi-output-tree", "json"), ("1.7", "multi-target", "bst"),
                                ("1.7", "multi-softmax", "bst"), ("3.2", "binary-logistic", "json")]:
        outputs = matrix[version][1]["models"][model]["outputs"]
        meta = requests.get(srv.url + f"/v2/models/{served_name(version, model, fmt)}", timeout=10).json()
        assert meta["platform"] == "xgboost"
        assert meta["inputs"] == [{"name": "input-0", "datatype": "FP32", "shape": [-1, 8]}]
        shape = [-1, outputs] if outputs > 1 else [-1]
        assert meta["outputs"] == [{"name": "output-0", "datatype": "FP32", "shape": shape}], (model, meta)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
