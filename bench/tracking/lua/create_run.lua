-- POST /api/2.0/mlflow/runs/create {"experiment_id": EXPERIMENT_ID, "start_time": ...}
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

local exp = os.getenv("EXPERIMENT_ID")
local headers = { ["Content-Type"] = "application/json" }
local n = 0
local base_ts = 0

function init(args)
  base_ts = os.time() * 1000
end

function request()
  n = n + 1
  local body = string.format('{"experiment_id":"%s","start_time":%d}', exp, base_ts + n * 8 + tid)
  return wrk.format("POST", "/api/2.0/mlflow/runs/create", headers, body)
end
