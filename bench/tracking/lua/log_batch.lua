-- POST /api/2.0/mlflow/runs/log-batch with METRICS metrics (default 10: m0..m9).
-- ADDRS (optional, "host:port,host:port,..."): thread i connects to address
-- i mod n, spreading the load round-robin over several replicas of a server.
-- RUNS_FILE holds one run id per line (one per connection). Each wrk thread owns
-- a disjoint slice of the runs and cycles through it round-robin, so with
-- connections == runs the in-flight requests of a thread target distinct runs.
-- Every request increments the run's step and timestamp, so points are distinct.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local next_id = 0
local addrs = nil
function setup(thread)
  local spec = os.getenv("ADDRS")
  if spec and #spec > 0 then
    if not addrs then
      addrs = {}
      for host, port in spec:gmatch("([^,:]+):(%d+)") do
        addrs[#addrs + 1] = wrk.lookup(host, port)[1]
      end
    end
    thread.addr = addrs[next_id % #addrs + 1]
  end
  thread:set("tid", next_id)
  next_id = next_id + 1
end

local runs, steps = {}, {}
local cursor = 0
local base_ts = 0
local step_base = tonumber(os.getenv("STEP_BASE") or "0")
local nmetrics = tonumber(os.getenv("METRICS") or "10")
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local all = {}
  for line in io.lines(os.getenv("RUNS_FILE")) do
    if #line > 0 then all[#all + 1] = line end
  end
  local nthreads = tonumber(os.getenv("WRK_THREADS"))
  for i = 1, #all do
    if (i - 1) % nthreads == tid then
      runs[#runs + 1] = all[i]
      steps[#runs] = step_base
    end
  end
  base_ts = os.time() * 1000
  math.randomseed(os.time() + tid)
end

function request()
  cursor = cursor % #runs + 1
  local s = steps[cursor]
  steps[cursor] = s + 1
  local ts = base_ts + s
  local parts = {}
  for k = 0, nmetrics - 1 do
    parts[#parts + 1] = string.format(
      '{"key":"m%d","value":%.6f,"timestamp":%d,"step":%d}', k, math.random(), ts, s)
  end
  local body = '{"run_id":"' .. runs[cursor] .. '","metrics":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/api/2.0/mlflow/runs/log-batch", headers, body)
end
