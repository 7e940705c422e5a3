"""Seeds one run for the run page's browser tests (tests/ui/run.spec.js) and
prints what it made as JSON on its last line.

Everything goes through the unmodified `mlflow` client: params, tags, a metric
history, a dataset input (mlflow.log_input of a pandas dataset), artifacts of
every kind the page previews, and a logged sklearn model (so an MLmodel file
exists). Times and contents are fixed so the screenshot baseline is stable;
only the run and model ids are random (the tests mask them).

    python seed_run.py http://127.0.0.1:PORT
"""

from __future__ import annotations

import json
import os
import random
import struct
import sys
import tempfile
import zlib
from pathlib import Path

BASE = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC
TEXT_LIMIT = 1 << 20  # the UI's ranged-read limit for text (ArtifactPreview.jsx)
IMAGE_LIMIT = 5 << 20  # the UI's image preview limit


def png(width: int, height: int, pixel, level: int = 9) -> bytes:
    """An RGB PNG; pixel(x, y) -> (r, g, b)."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, level)) + chunk(b"IEND", b""))


def noise_png(width: int, height: int) -> bytes:
    """Incompressible (stored) noise: a PNG file bigger than width*height*3 bytes."""
    rnd = random.Random(15)
    rows = b"".join(b"\x00" + rnd.randbytes(width * 3) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b""))


def confusion_png() -> bytes:
    # A 3x3 confusion matrix, 40 px cells, darker = more.
    counts = [[48, 2, 0], [3, 44, 3], [0, 5, 45]]

    def pixel(x, y):
        cx, cy = x // 40, y // 40
        if x % 40 == 0 or y % 40 == 0:
            return (255, 255, 255)
        v = counts[cy][cx] / 50
        return (int(255 - 200 * v), int(255 - 150 * v), 255)

    return png(120, 120, pixel)


SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="160" height="80" viewBox="0 0 160 80">
  <rect width="160" height="80" fill="#f3f5f7"/>
  <polyline points="0,70 40,50 80,35 120,20 160,12" fill="none" stroke="#0550ae" stroke-width="3"/>
  <script>window.__svgScriptRan = true;</script>
</svg>
"""


def main() -> None:
    url = sys.argv[1]
    os.environ["MLFLOW_TRACKING_URI"] = url
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient
    from sklearn.linear_model import LogisticRegression

    client = MlflowClient(url)
    exp_id = client.create_experiment("ui-run")
    run = client.create_run(exp_id, run_name="train-logreg", start_time=BASE,
                            tags={"team": "vision", "owner": "ana", "mlflow.user": "seed"})
    run_id = run.info.run_id

    metrics = []
    for step in range(10):
        metrics.append(Metric("loss", round(1.0 / (step + 1), 6), BASE + 1000 * step, step))
        metrics.append(Metric("accuracy", round(0.5 + 0.045 * step, 6), BASE + 1000 * step, step))
    metrics.append(Metric("f1", 0.8731, BASE + 9000, 9))
    client.log_batch(run_id, metrics=metrics,
                     params=[Param("lr", "0.01"), Param("max_iter", "200"), Param("penalty", "l2"),
                             Param("solver", "lbfgs")],
                     tags=[RunTag("mlflow.note.content", "Baseline logistic regression on iris.")])

    # A dataset input, a logged model and the artifacts, through the fluent API on this run.
    rng = np.random.default_rng(7)
    df = pd.DataFrame({
        "sepal_length": np.round(rng.normal(5.8, 0.8, 150), 1),
        "sepal_width": np.round(rng.normal(3.0, 0.4, 150), 1),
        "petal_length": np.round(rng.normal(3.7, 1.7, 150), 1),
        "species": rng.integers(0, 3, 150),
    })
    with mlflow.start_run(run_id=run_id):
        ds = mlflow.data.from_pandas(df, source="s3://datasets/iris/train.parquet", name="iris-train",
                                     targets="species")
        mlflow.log_input(ds, context="training")
        model = LogisticRegression(max_iter=200).fit(df[["sepal_length", "sepal_width", "petal_length"]],
                                                     df["species"])
        info = mlflow.sklearn.log_model(model, name="model")
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            (t / "plots").mkdir()
            (t / "plots" / "confusion.png").write_bytes(confusion_png())
            (t / "plots" / "curve.svg").write_text(SVG)
            huge = noise_png(1400, 1300)
            (t / "plots" / "huge.png").write_bytes(huge)
            (t / "logs").mkdir()
            (t / "logs" / "train.log").write_text("".join(
                f"2023-11-14 22:13:{20 + s:02d} INFO step={s} loss={1.0 / (s + 1):.4f}\n" for s in range(10)))
            big = "".join(f"{i:07d} epoch={i // 1000} batch={i % 1000} loss=0.{(i * 7919) % 10000:04d}\n"
                          for i in range(40_000))
            (t / "logs" / "big.log").write_text(big)
            (t / "summary.json").write_text(json.dumps(
                {"model": "logreg", "metrics": {"accuracy": 0.905, "f1": 0.8731}, "classes": ["setosa", "versicolor",
                                                                                              "virginica"]}))
            (t / "data").mkdir()
            lines = ["id,species,prediction,comment"]
            for i in range(500):
                comment = '"has, comma"' if i == 1 else ('"quoted ""word"""' if i == 2 else f"row {i}")
                lines.append(f"{i},{i % 3},{(i + (i % 7 == 0)) % 3},{comment}")
            (t / "data" / "predictions.csv").write_text("\n".join(lines) + "\n")
            (t / "data" / "features.tsv").write_text("feature\timportance\npetal_length\t0.61\nsepal_length\t0.27\n"
                                                     "sepal_width\t0.12\n")
            (t / "weights.bin").write_bytes(bytes(range(256)) * 8)
            mlflow.log_artifacts(tmp)
    client.set_terminated(run_id, status="FINISHED", end_time=BASE + 754_321)

    sizes = {
        "big.log": len(big.encode()),
        "huge.png": len(huge),
    }
    assert sizes["big.log"] > TEXT_LIMIT and sizes["huge.png"] > IMAGE_LIMIT, sizes
    print(json.dumps({"experiment_id": exp_id, "run_id": run_id, "model_id": info.model_id, "sizes": sizes}))


if __name__ == "__main__":
    main()
