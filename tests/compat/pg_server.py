"""A throwaway PostgreSQL 15 server for the compat suite: initdb + postgres on
a free loopback port in a temporary directory, a fresh database per caller.

Plug into conftest.py with

    from pg_server import pg_server  # noqa: F401  (session fixture)

and ask it for databases: ``pg_server.create_database()`` returns a
``postgresql://postgres@127.0.0.1:PORT/NAME`` URI for ``kiln serve
--database-uri``. ``pg_server.password_uri(db)`` + ``pg_server.write_password_file(path)``
exercise ``--database-password-file`` (role ``kiln_pw``, scram-sha-256).

initdb and postgres refuse to run as root, so under root the server runs as
the ``postgres`` OS user (the temp dir is chowned to it). The postmaster gets
SIGQUIT when the process that started it dies (PR_SET_PDEATHSIG), so an
aborted pytest run leaves no server behind; stop() removes the directory.
fsync is off: test data need not survive a power cut. Only the standard
library and the PostgreSQL binaries are used (psql for admin statements).
"""

from __future__ import annotations

import ctypes
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("KILN_PG_BIN", "/usr/lib/postgresql/15/bin"))
PASSWORD_USER = "kiln_pw"
PASSWORD = "s3cret 'pw\""
_PR_SET_PDEATHSIG = 1


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, root: Path | None = None, detach: bool = False):
        # detach: the server outlives this process (scripts/test_pg_server.py
        # starts one for a whole CTest run and stops it by its pid file).
        self.detach = detach
        self.dir = Path(tempfile.mkdtemp(prefix="kiln-pg-", dir=root))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = -1
        self.proc: subprocess.Popen | None = None
        self._names = itertools.count(1)
        self._uid = self._gid = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            self._uid, self._gid = pw.pw_uid, pw.pw_gid
            os.chown(self.dir, self._uid, self._gid)

    # -- process handling ---------------------------------------------------

    def _demote(self, death_signal: int):
        uid, gid = self._uid, self._gid

        def preexec():
            if uid is not None:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            # After setuid: changing credentials clears the parent-death signal.
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, death_signal, 0, 0, 0)

        return preexec

    def settings(self) -> dict[str, str]:
        """The server's -c settings (subclasses add theirs)."""
        return {"listen_addresses": "127.0.0.1", "unix_socket_directories": str(self.dir),
                "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                "max_connections": "300", "shared_buffers": "64MB"}

    def start(self, timeout: float = 60.0) -> "PgServer":
        initlog = self.dir / "initdb.log"
        with open(initlog, "wb") as out:
            rc = subprocess.call(
                [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                 "-E", "UTF8", "--locale=C", "--no-sync"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=self._demote(signal.SIGTERM), cwd=self.dir)
        if rc != 0:
            raise RuntimeError(f"initdb failed ({rc}): {initlog.read_text()[-2000:]}")
        # The password role first: the first matching line wins.
        (self.data / "pg_hba.conf").write_text(
            f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n"
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n")
        for _ in range(5):
            self.port = _free_port()
            log = open(self.log, "ab")
            settings = [a for k, v in self.settings().items() for a in ("-c", f"{k}={v}")]
            self.proc = subprocess.Popen(
                [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port), *settings],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=self._demote(0 if self.detach else signal.SIGQUIT), cwd=self.dir)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if subprocess.call([str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]) == 0:
                    quoted = PASSWORD.replace("'", "''")
                    self.sql(f"CREATE ROLE {PASSWORD_USER} LOGIN SUPERUSER PASSWORD '{quoted}'")
                    return self
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        raise RuntimeError(f"postgres did not start: {self.log.read_text()[-2000:]}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if os.environ.get("KILN_KEEP_PG") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- databases ----------------------------------------------------------

    def sql(self, statement: str, db: str = "postgres") -> str:
        """Runs one statement as the superuser; returns psql's unaligned output."""
        r = subprocess.run(
            [str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-c", statement],
            capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()} in {statement}")
        return r.stdout

    def uri(self, db: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (UTF8, C collation); returns its URI."""
        name = name or f"kiln_{os.getpid()}_{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
        return self.uri(name)

    def drop_database(self, name: str):
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def password_uri(self, db: str) -> str:
        """URI of `db` as the role that must authenticate with PASSWORD."""
        return self.uri(db, PASSWORD_USER)

    def write_password_file(self, path: Path, password: str = PASSWORD) -> Path:
        path = Path(path)
        path.write_text(password + "\n")
        path.chmod(0o600)
        return path


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """The session's PostgreSQL server (started on first use, ~3 s)."""
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()
