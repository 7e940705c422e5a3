-- POST one feature-enriched prediction per request: PREDICT_PATH with the body
-- {"entities":{"<ENTITY_KEY>":[id]}}, id cycling over ENTITY_COUNT drivers from ENTITY_FIRST
-- (each wrk thread starts at another offset), so both sides read a different online row on
-- consecutive requests. The same sequence goes to kiln and to the chain. wrk counts non-2xx
-- answers in errors.status; done() (bench/tracking/lua/common.lua) prints one WRKJSON line.
dofile(os.getenv("TRACKING_LUA_DIR") .. "/common.lua")

local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local path, prefix, first, count, n, headers

function init(args)
  path = os.getenv("PREDICT_PATH")
  prefix = '{"entities":{"' .. os.getenv("ENTITY_KEY") .. '":['
  first = tonumber(os.getenv("ENTITY_FIRST"))
  count = tonumber(os.getenv("ENTITY_COUNT"))
  n = ((tid or 0) * 7919) % count
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  local id = first + n
  n = (n + 1) % count
  return wrk.format("POST", path, headers, prefix .. id .. "]}}")
end
