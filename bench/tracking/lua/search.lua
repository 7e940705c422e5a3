-- POST /api/2.0/mlflow/runs/search, same body every time.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
wrk.method = "POST"
wrk.path = "/api/2.0/mlflow/runs/search"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format(
  '{"experiment_ids":["%s"],"filter":"metrics.rmse < 0.5","order_by":["metrics.rmse ASC"],"max_results":%s}',
  os.getenv("EXPERIMENT_ID"), os.getenv("MAX_RESULTS") or "100")
