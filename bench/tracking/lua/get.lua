-- Plain GET of the URL given on the wrk command line (used for /health).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
