-- GET requests cycling through the paths in PATHS_FILE (one per line).
-- Each wrk thread starts at a different offset (its id times the list length divided by
-- WRK_THREADS) and walks the list round-robin; connections of a thread share its cursor.
-- CONN_CLOSE=1 adds "Connection: close" (one request per connection; wrk reconnects and
-- starts the request's timer when it writes it, so connection setup is not timed).
-- done() (from bench/tracking/lua/common.lua) prints one WRKJSON line.
dofile(os.getenv("TRACKING_LUA_DIR") .. "/common.lua")

local next_id = 0
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
end

local paths = {}
local cursor = 0
local headers = {}
if os.getenv("CONN_CLOSE") == "1" then headers["Connection"] = "close" end

function init(args)
  for line in io.lines(os.getenv("PATHS_FILE")) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
  cursor = math.floor(tid * #paths / nthreads)
end

function request()
  cursor = cursor % #paths + 1
  return wrk.format("GET", paths[cursor], headers)
end
