"""The benchmark's PostgreSQL 15: tests/compat/pg_server.py's throwaway server
(initdb in a temp dir, free loopback port, the postgres OS user under root,
the password role kiln_pw), started with pg_stat_statements preloaded so the
benchmark can count the statements each server sends per request.

fsync, synchronous_commit and full_page_writes are off as in the tests: on
this machine's disk a synchronous flush per commit would be what both peers
wait for, whatever their own cost. `durable=True` turns them back on.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "compat"))
from pg_server import PgServer  # noqa: E402


class BenchPgServer(PgServer):
    def __init__(self, root: Path | None = None, durable: bool = False):
        super().__init__(root=root, detach=False)
        self.durable = durable

    def settings(self) -> dict[str, str]:
        flush = "on" if self.durable else "off"
        return {**super().settings(), "fsync": flush, "synchronous_commit": flush, "full_page_writes": flush,
                "shared_buffers": "256MB", "shared_preload_libraries": "pg_stat_statements",
                "pg_stat_statements.track": "all", "pg_stat_statements.max": "10000"}

    def create_bench_database(self, name: str) -> str:
        uri = self.create_database(name)
        self.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", db=name)
        return uri
