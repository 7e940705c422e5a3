"""Fixtures for the MLflow tracking-server compatibility suite.

The suite is target-agnostic: the same tests run against `kiln serve` (the
default) and against MLflow's own `mlflow server`, which is how we prove the
tests encode real MLflow behaviour.

    KILN_COMPAT_TARGET=kiln   (default) start build/release/kiln (or $KILN_BINARY)
    KILN_COMPAT_TARGET=mlflow start .venv/bin/mlflow server (reference)

    KILN_COMPAT_BACKEND=sqlite   (default) kiln on its embedded metadata database
    KILN_COMPAT_BACKEND=postgres every kiln gets --database-uri to a database of
                                 its own on one throwaway PostgreSQL server

Tests marked ``kiln_only`` exercise kiln-specific behaviour (ops endpoints,
flags such as --max-body-bytes, process RSS). They are skipped only when the
target is mlflow; a kiln run never skips anything.
"""

from __future__ import annotations

import os

# The test servers (redis-server, PostgreSQL) start through subprocess with a
# preexec_fn, i.e. a plain fork() of this process, which also holds gRPC
# channels (Feast's SDK, tritonclient). gRPC's fork handlers then ran in the
# child before exec and could abort it (seen: redis-server "exited -6" with
# no log, beside "Epoll1Poller ... epoll_wait error: Bad file descriptor").
# Read by grpcio when it is first imported, so set before any test module.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGET = os.environ.get("KILN_COMPAT_TARGET", "kiln").strip().lower()
if TARGET not in ("kiln", "mlflow"):
    raise pytest.UsageError(f"KILN_COMPAT_TARGET must be 'kiln' or 'mlflow', got {TARGET!r}")

BACKEND = os.environ.get("KILN_COMPAT_BACKEND", "sqlite").strip().lower()
if BACKEND not in ("sqlite", "postgres"):
    raise pytest.UsageError(f"KILN_COMPAT_BACKEND must be 'sqlite' or 'postgres', got {BACKEND!r}")

LISTEN_RE = re.compile(r"listening on (https?)://127\.0\.0\.1:(\d+)")  # https with --tls-cert-file
# kiln serve --grpc-port N logs this line before the HTTP one (port 0: the bound port).
GRPC_LISTEN_RE = re.compile(r"gRPC \(Open Inference Protocol\) listening on grpcs?://127\.0\.0\.1:(\d+)")
STARTUP_TIMEOUT_S = float(os.environ.get("KILN_COMPAT_STARTUP_TIMEOUT", "180" if TARGET == "mlflow" else "20"))
SHUTDOWN_TIMEOUT_S = 30.0


def kiln_binary() -> Path:
    override = os.environ.get("KILN_BINARY")
    path = Path(override) if override else Path("build/release/kiln")
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def mlflow_binary() -> Path:
    candidate = REPO_ROOT / ".venv" / "bin" / "mlflow"
    if candidate.exists():
        return candidate
    return Path(sys.executable).with_name("mlflow")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _SessionPostgres:
    """With KILN_COMPAT_BACKEND=postgres: one PostgreSQL server for the whole
    run (started on first use) and one database per kiln data directory, so a
    kiln restarted on the same data dir finds its metadata again."""

    def __init__(self):
        self.server = None
        self.databases: dict[str, str] = {}
        self.lock = threading.Lock()

    def ensure(self):
        from pg_server import PgServer

        with self.lock:
            if self.server is None:
                self.server = PgServer().start()
            return self.server

    def uri_for(self, data_dir: Path) -> str:
        self.ensure()
        with self.lock:
            key = str(Path(data_dir).resolve())
            if key not in self.databases:
                self.databases[key] = self.server.create_database()
            return self.databases[key]

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None


SESSION_POSTGRES = _SessionPostgres()


def backend_args(data_dir: Path, extra_args: list[str]) -> list[str]:
    """The flags that put a kiln on the run's metadata backend."""
    if BACKEND != "postgres" or any(a.startswith("--database-uri") for a in extra_args):
        return []
    return ["--database-uri", SESSION_POSTGRES.uri_for(data_dir)]


class ServerProcess:
    """A tracking server child process (kiln or mlflow) plus its log."""

    def __init__(self, kind: str, data_dir: Path, extra_args: list[str] | None = None):
        self.kind = kind
        self.data_dir = Path(data_dir)
        self.extra_args = list(extra_args or [])
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-{kind}-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.grpc_port: int | None = None  # set when kiln was started with --grpc-port
        self.url: str | None = None
        self.scheme = "http"
        # requests' verify= and cert= for the readiness check of a TLS server
        # (the test's CA file; a client certificate when mTLS is on).
        self.tls_verify: bool | str = True
        self.tls_client_cert: str | None = None
        self._drain: threading.Thread | None = None
        self._port_found = threading.Event()
        self.returncode: int | None = None

    # -- paths --------------------------------------------------------------
    @property
    def artifacts_dir(self) -> Path:
        """Where the artifact store lives (mlflow: --artifacts-destination)."""
        if self.kind == "mlflow":
            return self.data_dir / "artifacts"
        return self.data_dir / "artifacts"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "<no log>"

    # -- lifecycle ----------------------------------------------------------
    def _command(self) -> list[str]:
        if self.kind == "kiln":
            binary = kiln_binary()
            if not binary.exists():
                pytest.fail(
                    f"kiln binary not found at {binary} (build it with "
                    "`cmake --preset release && cmake --build build/release`, "
                    "set KILN_BINARY, or use KILN_COMPAT_TARGET=mlflow)",
                    pytrace=False,
                )
            return [str(binary), "serve", "--host", "127.0.0.1", "--port", "0",
                    "--data-dir", str(self.data_dir), *backend_args(self.data_dir, self.extra_args),
                    *self.extra_args]
        self.port = free_port()
        return [str(mlflow_binary()), "server", "--host", "127.0.0.1", "--port", str(self.port),
                "--backend-store-uri", f"sqlite:///{self.data_dir}/mlflow.db",
                "--artifacts-destination", str(self.artifacts_dir),
                "--workers", "1", *self.extra_args]

    def _drain_stream(self, stream, log_file) -> None:
        # Keep reading so the pipe never fills; scan for the bound port.
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace")
            log_file.write(line)
            log_file.flush()
            if self.kind == "kiln" and self.grpc_port is None:
                g = GRPC_LISTEN_RE.search(line)
                if g:
                    self.grpc_port = int(g.group(1))
            if self.kind == "kiln" and not self._port_found.is_set():
                m = LISTEN_RE.search(line)
                if m:
                    self.scheme = m.group(1)
                    self.port = int(m.group(2))
                    self._port_found.set()
        stream.close()
        log_file.close()

    def start(self) -> "ServerProcess":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = self._command()
        env = dict(os.environ)
        env.pop("MLFLOW_TRACKING_URI", None)
        log_file = open(self.log_path, "w", encoding="utf-8")
        log_file.write("$ " + " ".join(cmd) + "\n")
        log_file.flush()
        self.proc = subprocess.Popen(
            cmd,
            cwd=str(self.data_dir),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file if self.kind == "mlflow" else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group: mlflow forks workers
        )
        self._drain = threading.Thread(target=self._drain_stream, args=(self.proc.stderr, log_file), daemon=True)
        self._drain.start()
        try:
            self._wait_ready()
        except BaseException:
            self._kill_hard()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        if self.kind == "kiln":
            while not self._port_found.wait(0.05):
                if self.proc.poll() is not None:
                    pytest.fail(f"kiln exited with {self.proc.returncode} before listening.\n--- log ---\n{self.log_text()}",
                                pytrace=False)
                if time.monotonic() > deadline:
                    pytest.fail(f"kiln did not print 'listening on http://127.0.0.1:<port>' within "
                                f"{STARTUP_TIMEOUT_S}s.\n--- log ---\n{self.log_text()}", pytrace=False)
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        # Both targets: wait until /health answers.
        last_err = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.kind} exited with {self.proc.returncode} during startup.\n--- log ---\n"
                            f"{self.log_text()}", pytrace=False)
            try:
                r = requests.get(self.url + "/health", timeout=2, verify=self.tls_verify, cert=self.tls_client_cert)
                if r.status_code == 200:
                    return
                last_err = f"HTTP {r.status_code}: {r.text[:200]}"
            except requests.RequestException as e:  # not up yet
                last_err = repr(e)
            time.sleep(0.1)
        pytest.fail(f"{self.kind} /health not ready within {STARTUP_TIMEOUT_S}s ({last_err}).\n--- log ---\n"
                    f"{self.log_text()}", pytrace=False)

    def _signal_group(self, sig: int) -> None:
        try:
            if self.kind == "mlflow":
                os.killpg(self.proc.pid, sig)  # the group we created for this child
            else:
                self.proc.send_signal(sig)
        except ProcessLookupError:
            pass

    def _kill_hard(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, check: bool = True) -> int:
        """SIGTERM, wait, and (kiln) assert a clean exit status 0."""
        if self.proc is None:
            return 0
        if self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill_hard()
                if check:
                    pytest.fail(f"{self.kind} did not exit within {SHUTDOWN_TIMEOUT_S}s of SIGTERM.\n--- log ---\n"
                                f"{self.log_text()[-4000:]}", pytrace=False)
        if self.kind == "mlflow":
            # Reap any leftover workers in the group we created.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self._drain is not None:
            self._drain.join(5)
        self.returncode = self.proc.returncode
        if check and self.kind == "kiln":
            assert self.returncode == 0, (
                f"kiln: {describe_exit(self.returncode)} after SIGTERM (expected exit status 0).\n--- log ---\n"
                f"{self.log_text()[-4000:]}")
        return self.returncode


# --------------------------------------------------------------------------
# pytest hooks
# --------------------------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line("markers", "kiln_only: kiln-specific behaviour; skipped when KILN_COMPAT_TARGET=mlflow")
    config.addinivalue_line("markers", "slow: long-running test (large transfers, many runs)")
    config.addinivalue_line("markers", "timeout_s(n): per-phase timeout for this test (default KILN_COMPAT_TEST_TIMEOUT)")


def pytest_collection_modifyitems(config, items):
    if TARGET != "mlflow":
        return  # the kiln run never skips
    skip = pytest.mark.skip(reason="kiln_only: not applicable to the mlflow reference server")
    for item in items:
        if "kiln_only" in item.keywords:
            item.add_marker(skip)


TEST_TIMEOUT_S = int(os.environ.get("KILN_COMPAT_TEST_TIMEOUT", "150"))
_timed_out = {"flag": False}


class CompatTestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    _timed_out["flag"] = True
    raise CompatTestTimeout(f"test phase exceeded {TEST_TIMEOUT_S}s (KILN_COMPAT_TEST_TIMEOUT); "
                            "the server is probably hung")


def _with_alarm(seconds: int):
    """SIGALRM-based per-phase timeout (no pytest-timeout dependency)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(seconds)
    return previous


def _clear_alarm(previous):
    if previous is None:
        return
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _phase_timeout(item) -> int:
    marker = item.get_closest_marker("timeout_s")
    return int(marker.args[0]) if marker else TEST_TIMEOUT_S


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    prev = _with_alarm(_phase_timeout(item))
    try:
        yield
    finally:
        _clear_alarm(prev)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    prev = _with_alarm(max(_phase_timeout(item), int(STARTUP_TIMEOUT_S) + 30))
    try:
        yield
    finally:
        _clear_alarm(prev)


def pytest_report_header(config):
    where = kiln_binary() if TARGET == "kiln" else mlflow_binary()
    return f"kiln compat target: {TARGET} ({where}), metadata backend: {BACKEND}"


def pytest_unconfigure(config):
    SESSION_POSTGRES.stop()


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_server():
    """The run's PostgreSQL server (tests/compat/pg_server.py), started on
    first use and shared with KILN_COMPAT_BACKEND=postgres."""
    return SESSION_POSTGRES.ensure()


@pytest.fixture(scope="session")
def target() -> str:
    return TARGET


@pytest.fixture(scope="session")
def compat_tmp_root():
    root = Path(tempfile.mkdtemp(prefix="kiln-compat-"))
    yield root
    if os.environ.get("KILN_COMPAT_KEEP_TMP") != "1":
        shutil.rmtree(root, ignore_errors=True)


def describe_exit(rc: int | None) -> str:
    if rc is None:
        return "still running"
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit status {rc}"


class SharedServer:
    """The session's shared server. If it dies (e.g. a crash in a kiln under
    development) the test that was running fails with the exit status and log
    tail, and the next test gets a fresh server instead of a cascade of
    connection errors."""

    def __init__(self, root: Path):
        self.root = root
        self.current: ServerProcess | None = None
        self.generation = 0

    def ensure(self) -> ServerProcess:
        if self.current is None or self.current.proc.poll() is not None:
            self.generation += 1
            name = "shared-data" if self.generation == 1 else f"shared-data-{self.generation}"
            self.current = ServerProcess(TARGET, self.root / name)
            self.current.start()
        return self.current


@pytest.fixture(scope="session")
def shared_server(compat_tmp_root):
    holder = SharedServer(compat_tmp_root)
    yield holder
    if holder.current is not None and holder.current.proc.poll() is None:
        holder.current.stop(check=True)  # SIGTERM; kiln must exit 0


@pytest.fixture
def server_proc(shared_server) -> ServerProcess:
    """Handle (pid, data_dir, log) of the shared server process."""
    return shared_server.ensure()


@pytest.fixture
def server(server_proc) -> str:
    """Base URL (http://127.0.0.1:<port>) of the shared server."""
    return server_proc.url


@pytest.fixture(autouse=True)
def _tracking_uri(request, monkeypatch, server_proc):
    """Point both the fluent API and MlflowClient at the shared server, and
    fail the test loudly if the server died while it ran."""
    import mlflow

    url = server_proc.url
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    # A registry URI left set by another test would send registrations to a
    # server this test does not use: the registry follows the tracking URI.
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    mlflow.set_registry_uri(None)
    # Keep client-side retries short so error-path tests fail fast.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    mlflow.set_tracking_uri(url)
    yield url
    try:
        while mlflow.active_run() is not None:
            mlflow.end_run()
    except Exception:
        pass
    if _timed_out["flag"]:
        # The server is probably wedged: replace it so later tests get a clean one.
        _timed_out["flag"] = False
        server_proc.stop(check=False)
        pytest.fail(f"timed out; the shared {server_proc.kind} server was restarted "
                    f"(it then exited with {describe_exit(server_proc.returncode)}).\n"
                    f"--- log tail ({server_proc.log_path}) ---\n{server_proc.log_text()[-3000:]}", pytrace=False)
    rc = server_proc.proc.poll()
    if rc is not None:
        server_proc.returncode = rc
        pytest.fail(f"the shared {server_proc.kind} server died during this test ({describe_exit(rc)}).\n"
                    f"--- log tail ({server_proc.log_path}) ---\n{server_proc.log_text()[-3000:]}", pytrace=False)


@pytest.fixture
def client(server):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=server)


@pytest.fixture
def api(server):
    """Raw HTTP helper bound to the shared server."""
    return RawApi(server)


@pytest.fixture
def unique():
    """Unique name factory: unique('exp') -> 'exp-<test>-<hex>'."""
    def make(prefix: str = "compat") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"
    return make


@pytest.fixture
def kiln_factory(compat_tmp_root, request):
    """Start extra kiln instances with custom flags.

    Usage: srv = kiln_factory("--max-body-bytes", "1024")  (fresh data dir)
           srv = kiln_factory(data_dir=existing_dir)         (restart on data)
    Every instance is stopped at teardown with SIGTERM and must exit 0.
    Only meaningful for the kiln target (mark the test kiln_only).
    """
    started: list[ServerProcess] = []

    def start(*extra_args: str, data_dir: Path | None = None) -> ServerProcess:
        if TARGET != "kiln":
            pytest.fail("kiln_factory used without the kiln target (mark the test kiln_only)", pytrace=False)
        d = Path(data_dir) if data_dir else compat_tmp_root / f"own-{request.node.name[:40]}-{uuid.uuid4().hex[:6]}"
        d = Path(re.sub(r"[^\w./-]", "_", str(d)))
        srv = ServerProcess("kiln", d, list(extra_args))
        started.append(srv)
        return srv.start()

    yield start
    errors = []
    for srv in started:
        try:
            srv.stop(check=True)
        except AssertionError as e:  # pragma: no cover - reported below
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


class RawApi:
    """Thin requests.Session wrapper for the REST API."""

    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.s = requests.Session()

    def url(self, path: str) -> str:
        return self.base + path

    def post(self, endpoint: str, json=None, **kw):
        return self.s.post(f"{self.base}/api/2.0/mlflow/{endpoint}", json=json, timeout=kw.pop("timeout", 60), **kw)

    def get(self, endpoint: str, params=None, **kw):
        return self.s.get(f"{self.base}/api/2.0/mlflow/{endpoint}", params=params, timeout=kw.pop("timeout", 60), **kw)

    def raw(self, method: str, path: str, **kw):
        kw.setdefault("timeout", 60)
        return self.s.request(method, self.base + path, **kw)

    def create_experiment(self, name: str) -> str:
        r = self.post("experiments/create", {"name": name})
        assert r.status_code == 200, r.text
        return r.json()["experiment_id"]

    def create_run(self, experiment_id: str, **fields) -> dict:
        body = {"experiment_id": experiment_id, "start_time": int(time.time() * 1000), **fields}
        r = self.post("runs/create", body)
        assert r.status_code == 200, r.text
        return r.json()["run"]


def error_of(resp) -> tuple[int, str | None]:
    """(HTTP status, MLflow error_code) of a response."""
    try:
        code = resp.json().get("error_code")
    except ValueError:
        code = None
    return resp.status_code, code
