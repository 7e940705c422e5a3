#!/usr/bin/env python3
"""One PostgreSQL server for a whole CTest run (a CTest fixture): the C++
store tests attach to it through KILN_TEST_PG_PORT_FILE instead of each test
process running initdb of its own.

    test_pg_server.py start STATE_DIR   starts it; writes STATE_DIR/port and STATE_DIR/server (data dir, pid)
    test_pg_server.py stop STATE_DIR    stops it and removes its directory
"""
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "compat"))
from pg_server import PgServer  # noqa: E402


def start(state: Path) -> int:
    stop(state)  # a server left by an aborted run
    state.mkdir(parents=True, exist_ok=True)
    server = PgServer(detach=True).start()
    (state / "server").write_text(json.dumps({"dir": str(server.dir), "pid": server.proc.pid}))
    (state / "port").write_text(f"{server.port}\n")
    print(f"postgres on 127.0.0.1:{server.port} (pid {server.proc.pid})")
    return 0


def stop(state: Path) -> int:
    info = state / "server"
    if not info.exists():
        return 0
    s = json.loads(info.read_text())
    try:
        os.kill(s["pid"], signal.SIGINT)  # fast shutdown
        # postgres removes its pid file once shut down (the process itself may
        # linger as a zombie of whoever adopted it).
        pid_file = Path(s["dir"]) / "data" / "postmaster.pid"
        for _ in range(200):
            if not pid_file.exists():
                break
            time.sleep(0.05)
        else:
            os.kill(s["pid"], signal.SIGKILL)
    except ProcessLookupError:
        pass
    shutil.rmtree(s["dir"], ignore_errors=True)
    shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit(__doc__)
    sys.exit(start(Path(sys.argv[2])) if sys.argv[1] == "start" else stop(Path(sys.argv[2])))
