"""The benchmark's PostgreSQL 15: tests/compat/pg_server.py's throwaway server
(initdb in a temp dir, free loopback port, the postgres OS user under root,
the password role kiln_pw), started with pg_stat_statements preloaded so the
benchmark can count the statements each server sends per request.

fsync, synchronous_commit and full_page_writes are off as in the tests: on
this machine's disk a synchronous flush per commit would be what both peers
wait for, whatever their own cost. `durable=True` turns them back on.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "compat"))
from pg_server import PASSWORD, PASSWORD_USER, PG_BIN, PgServer, _free_port  # noqa: E402


class BenchPgServer(PgServer):
    def __init__(self, root: Path | None = None, durable: bool = False):
        super().__init__(root=root, detach=False)
        self.durable = durable

    def start(self, timeout: float = 60.0) -> "BenchPgServer":
        initlog = self.dir / "initdb.log"
        with open(initlog, "wb") as out:
            rc = subprocess.call(
                [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                 "-E", "UTF8", "--locale=C", "--no-sync"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=self._demote(signal.SIGTERM), cwd=self.dir)
        if rc != 0:
            raise RuntimeError(f"initdb failed ({rc}): {initlog.read_text()[-2000:]}")
        (self.data / "pg_hba.conf").write_text(
            f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n")
        flush = "on" if self.durable else "off"
        settings = {
            "listen_addresses": "127.0.0.1", "unix_socket_directories": str(self.dir),
            "fsync": flush, "synchronous_commit": flush, "full_page_writes": flush,
            "max_connections": "300", "shared_buffers": "256MB",
            "shared_preload_libraries": "pg_stat_statements",
            "pg_stat_statements.track": "all", "pg_stat_statements.max": "10000",
        }
        args = [a for k, v in settings.items() for a in ("-c", f"{k}={v}")]
        self.port = _free_port()
        log = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port), *args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=self._demote(signal.SIGQUIT), cwd=self.dir)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if subprocess.call([str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]) == 0:
                quoted = PASSWORD.replace("'", "''")
                self.sql(f"CREATE ROLE {PASSWORD_USER} LOGIN SUPERUSER PASSWORD '{quoted}'")
                return self
            time.sleep(0.05)
        raise RuntimeError(f"postgres did not start: {self.log.read_text()[-2000:]}")

    def create_bench_database(self, name: str) -> str:
        uri = self.create_database(name)
        self.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db=name)
        return uri
