"""Seeds a kiln for tests/ui/compare.spec.js and prints what it made as JSON.

200 runs in experiment "ui-compare", written through the unmodified `mlflow`
client (create_run, log_batch, set_terminated, on 8 threads). Values are a
function of the run's index i, so the spec knows what a brush must select:

  params  lr          ["0.0001", "0.001", "0.01", "0.1"][i % 4]
          batch_size  ["32", "64", "128"][i % 3]
          optimizer   ["adam", "sgd"][i % 2]
          arch        ["cnn", "mlp", "resnet"][(i // 4) % 3]
          dropout     ["0.0", "0.2", "0.5"][i % 3], except run 199 (none)
          dataset     "mnist" for every run (the diff-only table hides it)
  metrics accuracy (3 steps; last = acc(i)), loss = 1 - acc(i), epoch_seconds

    python seed_compare.py http://127.0.0.1:PORT
"""

from __future__ import annotations

import json
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

N = 200
BASE = 1_700_000_000_000
LRS = ["0.0001", "0.001", "0.01", "0.1"]
BATCHES = ["32", "64", "128"]
OPTS = ["adam", "sgd"]
ARCHS = ["cnn", "mlp", "resnet"]
DROPOUTS = ["0.0", "0.2", "0.5"]


def acc(i: int) -> float:
    lr = float(LRS[i % 4])
    # best near lr=0.01, a little better with adam and larger batches, a deterministic wobble
    a = 0.93 - 0.06 * abs(math.log10(lr) + 2) + (0.01 if i % 2 == 0 else 0) + 0.005 * (i % 3) + 0.02 * math.sin(i * 1.7)
    return round(a, 6)


def make(client: MlflowClient, exp_id: str, i: int) -> str:
    run = client.create_run(exp_id, run_name=f"trial-{i:03d}", start_time=BASE + i * 1000)
    rid = run.info.run_id
    params = [Param("lr", LRS[i % 4]), Param("batch_size", BATCHES[i % 3]), Param("optimizer", OPTS[i % 2]),
              Param("arch", ARCHS[(i // 4) % 3]), Param("dataset", "mnist")]
    if i != N - 1:
        params.append(Param("dropout", DROPOUTS[i % 3]))
    a = acc(i)
    t = BASE + i * 1000
    metrics = [Metric("accuracy", round(a - 0.2, 6), t, 0), Metric("accuracy", round(a - 0.05, 6), t + 1, 1),
               Metric("accuracy", a, t + 2, 2), Metric("loss", round(1 - a, 6), t + 2, 2),
               Metric("epoch_seconds", round(20 + 120 / int(BATCHES[i % 3]) + (i % 7), 6), t + 2, 2)]
    client.log_batch(rid, metrics=metrics, params=params)
    client.set_terminated(rid, end_time=t + 500)
    return rid


def main() -> None:
    url = sys.argv[1]
    client = MlflowClient(url)
    t0 = time.monotonic()
    exp_id = client.create_experiment("ui-compare")
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: make(client, exp_id, i), range(N)))
    print(json.dumps({"experiment": exp_id, "run_ids": ids, "accuracy": [acc(i) for i in range(N)],
                      "seconds": round(time.monotonic() - t0, 2)}))


if __name__ == "__main__":
    main()
