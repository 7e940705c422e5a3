-- POST /v1/traces: an OTLP protobuf ExportTraceServiceRequest holding one trace.
-- OTLP_TEMPLATE is the serialized request (bench/tracking/traces.py template);
-- OTLP_OFFSETS lists "offset length slot" for every trace / span id in it. Each
-- request gets fresh random ids (one per slot, so parent ids still match their
-- root), so every request stores a new trace.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local tmpl
local offsets = {}
local headers

local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

function init(args)
  local f = assert(io.open(os.getenv("OTLP_TEMPLATE"), "rb"))
  tmpl = f:read("*a")
  f:close()
  for line in io.lines(os.getenv("OTLP_OFFSETS")) do
    local off, len, slot = line:match("^(%d+) (%d+) (%S+)$")
    if off then offsets[#offsets + 1] = { off = tonumber(off), len = tonumber(len), slot = slot } end
  end
  headers = { ["Content-Type"] = "application/x-protobuf",
              ["X-MLflow-Experiment-Id"] = os.getenv("EXPERIMENT_ID") }
  math.randomseed(os.time() * 1000 + (tid or 0))
end

local function random_bytes(n)
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

function request()
  local ids = {}
  local parts = {}
  local pos = 1
  for _, o in ipairs(offsets) do
    local v = ids[o.slot]
    if not v then
      v = random_bytes(o.len)
      ids[o.slot] = v
    end
    parts[#parts + 1] = tmpl:sub(pos, o.off - 1)
    parts[#parts + 1] = v
    pos = o.off + o.len
  end
  parts[#parts + 1] = tmpl:sub(pos)
  return wrk.format("POST", "/v1/traces", headers, table.concat(parts))
end
