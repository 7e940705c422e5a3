"""Seeds a running kiln for tests/ui/charts.spec.js through the unmodified
`mlflow` client and prints what it made as JSON on its last line.

Experiment "ui-charts", every value deterministic (the screenshot baseline
depends on it):
- "spike-1m": metric "loss" with 1,000,000 points (steps 0..999,999, one
  every 10 ms), ~1 (a slow sine plus a small fixed ripple) except one spike
  of 100 at step 654,321, logged with MlflowClient.log_batch, 1000 metrics a
  call, from several client processes.
- six "small-<i>" runs: "loss" (500 steps, a decaying curve with a fixed
  zig-zag so smoothing has something to remove), "acc" and "epoch"
  (step / 50) at a different wall-clock pace per run; params "optimizer"
  (adam for even i, sgd for odd) and "lr", tag "team".
Run start times are fixed, spike-1m first, so "the first 10 runs by start
time" is this order.

    python seed_charts.py http://127.0.0.1:PORT
"""

from __future__ import annotations

import ctypes
import json
import math
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

T0 = 1_700_000_000_000
N_BIG = 1_000_000
SPIKE_STEP = 654_321
SPIKE = 100.0
BATCH = 1000  # MLflow's log_batch limit for metrics
WORKERS = 3  # client processes
SMALL = 6
SMALL_STEPS = 500


def big_value(s: int) -> float:
    if s == SPIKE_STEP:
        return SPIKE
    return 1.0 + 0.05 * math.sin(2 * math.pi * s / 200_000) + 0.01 * ((s * 7919) % 101 - 50) / 50


def small_loss(i: int, s: int) -> float:
    zig = 0.08 if (s * 31 + i) % 3 == 0 else -0.04
    return round(2.0 * math.exp(-s / (60 + 20 * i)) + 0.2 + 0.05 * i + zig, 6)


def small_acc(i: int, s: int) -> float:
    return round(0.5 + 0.4 * (1 - math.exp(-s / (80 + 10 * i))) + (0.01 if s % 2 else -0.01), 6)


_client: MlflowClient | None = None


def _init_worker(url: str) -> None:
    global _client
    # Die with the parent (a test's timeout kills only it): PR_SET_PDEATHSIG.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    _client = MlflowClient(tracking_uri=url)


def _log_big(job: tuple[str, int]) -> None:
    run, lo = job
    _client.log_batch(run, metrics=[Metric("loss", big_value(s), T0 + 10 * s, s) for s in range(lo, lo + BATCH)])


def main() -> None:
    url = sys.argv[1]
    client = MlflowClient(tracking_uri=url)
    started = time.perf_counter()
    exp = client.create_experiment("ui-charts")

    big = client.create_run(exp, run_name="spike-1m", start_time=T0, tags={"team": "perf"}).info.run_id

    t = time.perf_counter()
    # The client spends ~50 ms of CPU per 1000-metric call building protobuf
    # JSON, so the calls are spread over processes (threads would share one GIL).
    with ProcessPoolExecutor(WORKERS, initializer=_init_worker, initargs=(url,)) as pool:
        list(pool.map(_log_big, [(big, lo) for lo in range(0, N_BIG, BATCH)], chunksize=10))
    big_seconds = time.perf_counter() - t
    client.set_terminated(big, end_time=T0 + 10 * N_BIG)

    small = []
    groups: dict[str, dict] = {}
    for i in range(SMALL):
        start = T0 + (i + 1) * 1000
        opt = "adam" if i % 2 == 0 else "sgd"
        run = client.create_run(exp, run_name=f"small-{i}", start_time=start, tags={"team": "ab"[i // 3]}).info.run_id
        pace = 1000 + 500 * i  # ms between steps: relative time differs from step per run
        loss = [small_loss(i, s) for s in range(SMALL_STEPS)]
        metrics = []
        for s in range(SMALL_STEPS):
            ts = start + s * pace
            metrics += [Metric("loss", loss[s], ts, s), Metric("acc", small_acc(i, s), ts, s),
                        Metric("epoch", s / 50, ts, s)]
        for lo in range(0, len(metrics), BATCH):
            client.log_batch(run, metrics=metrics[lo:lo + BATCH])
        client.log_batch(run, params=[Param("optimizer", opt), Param("lr", str([0.1, 0.03, 0.01][i % 3]))],
                         tags=[RunTag("seed", "charts")])
        client.set_terminated(run, end_time=start + SMALL_STEPS * pace)
        small.append({"id": run, "name": f"small-{i}", "optimizer": opt, "loss_max": max(loss), "loss_min": min(loss),
                      "duration_s": (SMALL_STEPS - 1) * pace / 1000})
        g = groups.setdefault(opt, {"runs": [], "loss_max": -math.inf, "loss_min": math.inf})
        g["runs"].append(run)
        g["loss_max"] = max(g["loss_max"], max(loss))
        g["loss_min"] = min(g["loss_min"], min(loss))

    print(json.dumps({
        "experiment": exp, "big": big, "big_points": N_BIG, "spike_step": SPIKE_STEP, "spike": SPIKE,
        "big_min": min(big_value(s) for s in range(0, N_BIG) if s != SPIKE_STEP),
        "small": small, "groups": groups, "big_seconds": round(big_seconds, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }))


if __name__ == "__main__":
    main()
