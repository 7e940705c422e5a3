"""A small health-checking HTTP/1.1 load balancer for the replica suite.

It stands in for a Kubernetes Service in front of kiln replicas with a
readiness probe: every POLL_S it sends GET /health to each backend on a fresh
connection, and requests go round-robin to the backends whose last probe
answered 200. Like Envoy or nginx it keeps idle keep-alive connections to
each backend and reuses them (it honours a backend's ``Connection: close``),
so kiln's drain behaviour on shutdown is exercised the way a real proxy
would meet it.

It NEVER retries: a request that fails on its backend (refused connection,
reset, a response cut short) is answered 502 to the client and counted, and
a request arriving while no backend is ready is answered 503 and counted, so
every failure reaches the client and the test. Bodies are buffered (the
suite's artifacts are small); request bodies may be chunked, responses may
be chunked or delimited by Content-Length or the connection's close.

    lb = LoadBalancer(["http://127.0.0.1:5001", ...]).start()  # own thread
    lb.url; lb.snapshot(); lb.wait_ready(url, True); lb.stop()
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

POLL_S = 0.1
PROBE_TIMEOUT_S = 1.0
UPSTREAM_TIMEOUT_S = 120.0
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
              "expect", "content-length"}


class UpstreamError(Exception):
    pass


@dataclass
class BackendStats:
    url: str
    healthy: bool = False
    requests: int = 0                 # requests sent to this backend
    failures: int = 0                 # of those, how many failed (answered 502 by the balancer)
    last_request: float = 0.0         # monotonic time the last request was routed here
    statuses: dict = field(default_factory=dict)   # backend status code -> count
    connections_opened: int = 0
    closed_by_backend: int = 0        # responses with Connection: close
    stale_discarded: int = 0          # pooled connections found closed before reuse
    probes: int = 0
    probe_statuses: dict = field(default_factory=dict)  # "200" / "503" / "refused" ... -> count
    transitions: list = field(default_factory=list)    # (monotonic time, healthy)
    errors: list = field(default_factory=list)         # first few failure messages


class _Backend:
    def __init__(self, url: str):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.stats = BackendStats(url)
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def connection(self):
        while self.idle:
            reader, writer = self.idle.pop()
            if reader.at_eof() or writer.is_closing():
                self.stats.stale_discarded += 1
                writer.close()
                continue
            return reader, writer
        self.stats.connections_opened += 1
        return await asyncio.open_connection(self.host, self.port)


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, list[tuple[str, str]]] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise UpstreamError("connection closed in the middle of a message head") from None
    lines = raw.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return lines[0], headers


def _header(headers, name: str) -> str | None:
    for k, v in headers:
        if k.lower() == name:
            return v
    return None


async def _read_body(reader: asyncio.StreamReader, headers, until_close: bool) -> bytes:
    if (_header(headers, "transfer-encoding") or "").lower().endswith("chunked"):
        out = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return bytes(out)
            out += await reader.readexactly(size)
            await reader.readexactly(2)
    length = _header(headers, "content-length")
    if length is not None:
        return await reader.readexactly(int(length))
    return await reader.read() if until_close else b""


def _wants_close(headers) -> bool:
    return "close" in (_header(headers, "connection") or "").lower()


class LoadBalancer:
    def __init__(self, backends: list[str], poll_s: float = POLL_S):
        self.backends = [_Backend(u) for u in backends]
        self.poll_s = poll_s
        self.port: int | None = None
        self.no_backend = 0  # requests answered 503 because nothing was ready
        self._next = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._lock = threading.Lock()  # snapshot() from other threads
        self._tasks: set[asyncio.Task] = set()  # client connections being served

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> "LoadBalancer":
        self._thread = threading.Thread(target=self._run, name="replica-lb", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the load balancer did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        await self._poll_once()
        poller = asyncio.create_task(self._poll())
        self._started.set()
        await self._stop.wait()
        poller.cancel()
        server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(poller, *self._tasks, return_exceptions=True)
        for b in self.backends:
            for _, w in b.idle:
                w.close()

    # -- readiness ---------------------------------------------------------------
    async def _probe(self, b: _Backend) -> None:
        outcome = "refused"
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(b.host, b.port), PROBE_TIMEOUT_S)
            try:
                writer.write(f"GET /health HTTP/1.1\r\nHost: {b.host}:{b.port}\r\nConnection: close\r\n\r\n"
                             .encode())
                head = await asyncio.wait_for(_read_head(reader), PROBE_TIMEOUT_S)
                outcome = head[0].split(" ")[1] if head else "closed"
            finally:
                writer.close()
        except asyncio.TimeoutError:
            outcome = "timeout"
        except (OSError, UpstreamError, IndexError):
            pass
        healthy = outcome == "200"
        with self._lock:
            s = b.stats
            s.probes += 1
            s.probe_statuses[outcome] = s.probe_statuses.get(outcome, 0) + 1
            if healthy != s.healthy or not s.transitions:
                s.transitions.append((time.monotonic(), healthy))
            s.healthy = healthy

    async def _poll_once(self) -> None:
        await asyncio.gather(*(self._probe(b) for b in self.backends))

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            await self._poll_once()

    def _pick(self) -> _Backend | None:
        ready = [b for b in self.backends if b.stats.healthy]
        if not ready:
            return None
        self._next += 1
        return ready[self._next % len(ready)]

    # -- proxying ----------------------------------------------------------------
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            while True:
                head = await _read_head(reader)
                if head is None:
                    return
                request_line, headers = head
                body = await _read_body(reader, headers, until_close=False)
                status_line, res_headers, res_body = await self._forward(request_line, headers, body)
                close = _wants_close(headers)
                out = [status_line]
                out += [f"{k}: {v}" for k, v in res_headers if k.lower() not in HOP_BY_HOP]
                if not request_line.startswith("HEAD "):
                    out.append(f"Content-Length: {len(res_body)}")
                else:
                    length = _header(res_headers, "content-length")
                    if length is not None:
                        out.append(f"Content-Length: {length}")
                out.append("Connection: close" if close else "Connection: keep-alive")
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + res_body)
                await writer.drain()
                if close:
                    return
        except (OSError, UpstreamError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            return  # the client went away or sent something unparsable
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _forward(self, request_line: str, headers, body: bytes):
        backend = self._pick()
        if backend is None:
            with self._lock:
                self.no_backend += 1
            msg = b'{"error_code": "TEMPORARILY_UNAVAILABLE", "message": "replica-lb: no ready backend"}'
            return "HTTP/1.1 503 Service Unavailable", [("Content-Type", "application/json")], msg
        s = backend.stats
        with self._lock:
            s.requests += 1
            s.last_request = time.monotonic()
        try:
            status_line, res_headers, res_body = await asyncio.wait_for(
                self._exchange(backend, request_line, headers, body), UPSTREAM_TIMEOUT_S)
        except (OSError, UpstreamError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as e:
            with self._lock:
                s.failures += 1
                if len(s.errors) < 20:
                    s.errors.append(f"{request_line}: {type(e).__name__}: {e}")
            msg = f'{{"error_code": "BAD_GATEWAY", "message": "replica-lb: {type(e).__name__} from {s.url}"}}'
            return "HTTP/1.1 502 Bad Gateway", [("Content-Type", "application/json")], msg.encode()
        code = status_line.split(" ")[1]
        with self._lock:
            s.statuses[code] = s.statuses.get(code, 0) + 1
        return status_line, res_headers, res_body

    async def _exchange(self, backend: _Backend, request_line: str, headers, body: bytes):
        reader, writer = await backend.connection()
        out = [request_line]
        out += [f"{k}: {v}" for k, v in headers if k.lower() not in HOP_BY_HOP]
        if body or request_line.split(" ")[0] in ("POST", "PUT", "PATCH"):
            out.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        head = await _read_head(reader)
        while head is not None and head[0].split(" ")[1].startswith("1"):  # 100 Continue
            head = await _read_head(reader)
        if head is None:
            writer.close()
            raise UpstreamError("the backend closed the connection without answering")
        status_line, res_headers = head
        code = int(status_line.split(" ")[1])
        no_body = request_line.startswith("HEAD ") or code in (204, 304)
        close = _wants_close(res_headers) or (
            not no_body and _header(res_headers, "content-length") is None
            and "chunked" not in (_header(res_headers, "transfer-encoding") or "").lower())
        res_body = b"" if no_body else await _read_body(reader, res_headers, until_close=True)
        if close:
            with self._lock:
                backend.stats.closed_by_backend += 1
            writer.close()
        else:
            backend.idle.append((reader, writer))
        return status_line, res_headers, res_body

    # -- for the test ------------------------------------------------------------
    def snapshot(self) -> dict[str, BackendStats]:
        import copy

        with self._lock:
            return {b.stats.url: copy.deepcopy(b.stats) for b in self.backends}

    def is_ready(self, url: str) -> bool:
        with self._lock:
            return next(b for b in self.backends if b.stats.url == url).stats.healthy

    def wait_ready(self, url: str, ready: bool, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.is_ready(url) != ready:
            if time.monotonic() > deadline:
                raise AssertionError(f"replica-lb: {url} did not become {'ready' if ready else 'unready'} "
                                     f"within {timeout_s} s")
            time.sleep(0.02)
