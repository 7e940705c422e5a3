-- POST the same V2 infer request over and over: INFER_PATH (e.g. /v2/models/xgb/infer) with the
-- body read once from BODY_FILE (Content-Type: application/json). The request is built once in
-- init(), so the Lua side costs nothing per request. wrk counts non-2xx answers in
-- errors.status; done() (bench/tracking/lua/common.lua) prints one WRKJSON line.
dofile(os.getenv("TRACKING_LUA_DIR") .. "/common.lua")

local req

function init(args)
  local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
  local body = f:read("*a")
  f:close()
  req = wrk.format("POST", os.getenv("INFER_PATH"), { ["Content-Type"] = "application/json" }, body)
end

function request()
  return req
end
