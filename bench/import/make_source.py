"""Creates an MLflow tracking database for the import benchmark: the schema
is made by the real `mlflow` client (SqlAlchemyStore: migrations included),
then RUNS runs x KEYS metric keys x STEPS steps are inserted with plain SQL in
MLflow's own row format (value, is_nan; latest_metrics filled as MLflow does),
plus 10 params and 5 tags per run. The points are stored in the order of
MLflow's primary key (key, timestamp, step, run), as if every run had logged
step by step at the same time: each run's points are spread over the whole
table. Every 97th point is NaN and every 89th +inf
(stored as MLflow stores it: max double).

usage: make_source.py DB_PATH RUNS [KEYS] [STEPS]
"""
import os
import sqlite3
import sys
import time
import uuid

import mlflow
from mlflow.tracking import MlflowClient

path, runs = sys.argv[1], int(sys.argv[2])
keys = int(sys.argv[3]) if len(sys.argv) > 3 else 100
steps = int(sys.argv[4]) if len(sys.argv) > 4 else 100
if os.path.exists(path):
    os.remove(path)
uri = f"sqlite:///{path}"
c = MlflowClient(uri)
eid = int(c.create_experiment("bench-import"))
t0 = time.time()
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=OFF")
db.execute("PRAGMA synchronous=OFF")
run_ids = sorted(uuid.uuid4().hex for _ in range(runs))
db.executemany(
    "INSERT INTO runs(run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, "
    "end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
    "VALUES (?, ?, 'LOCAL', '', '', 'bench', 'FINISHED', ?, ?, '', 'active', ?, ?)",
    [(r, f"run-{i}", 1000 + i, 2000 + i, f"/old/root/{eid}/{r}/artifacts", eid) for i, r in enumerate(run_ids)])
db.executemany("INSERT INTO params(key, value, run_uuid) VALUES (?, ?, ?)",
               [(f"p{j}", str(j * i), r) for i, r in enumerate(run_ids) for j in range(10)])
db.executemany("INSERT INTO tags(key, value, run_uuid) VALUES (?, ?, ?)",
               [(f"t{j}", f"v{j}", r) for r in run_ids for j in range(5)])
db.execute("CREATE TEMP TABLE k(i INTEGER)")
db.execute("CREATE TEMP TABLE s(i INTEGER)")
# Keys in MLflow's primary-key (text) order and CROSS JOIN (SQLite keeps the
# loop order as written): the rows arrive in the order of MLflow's metrics
# primary key without a sort, so generating 100 M points takes minutes.
db.executemany("INSERT INTO k VALUES (?)", [(i,) for i in sorted(range(keys), key=lambda i: f"metric_{i}")])
db.executemany("INSERT INTO s VALUES (?)", [(i,) for i in range(steps)])
db.execute("CREATE TEMP TABLE r(id TEXT, n INTEGER)")
db.executemany("INSERT INTO r VALUES (?, ?)", [(r, i) for i, r in enumerate(run_ids)])
point = ("(r.n * 7 + k.i * 13 + s.i)")
db.execute(
    "INSERT INTO metrics(key, value, timestamp, run_uuid, step, is_nan) "
    f"SELECT 'metric_' || k.i, CASE WHEN {point} % 97 = 0 THEN 0.0 WHEN {point} % 89 = 0 THEN 1.7976931348623157e308 "
    f"ELSE (k.i + 1) * 0.001 * s.i + r.n END, 1000000 + s.i, r.id, s.i, CASE WHEN {point} % 97 = 0 THEN 1 ELSE 0 END "
    "FROM k CROSS JOIN s CROSS JOIN r")
db.execute(
    "INSERT INTO latest_metrics(key, value, timestamp, step, is_nan, run_uuid) "
    "SELECT key, value, timestamp, step, is_nan, run_uuid FROM metrics m WHERE step = ? ", (steps - 1,))
db.commit()
n = db.execute("SELECT count(*) FROM metrics").fetchone()[0]
print(f"source: {runs} runs, {n} metric points, {os.path.getsize(path) / 1e6:.0f} MB, made in {time.time() - t0:.1f} s")
