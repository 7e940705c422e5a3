"""A throwaway redis-server (Debian's 7.0) for the Redis online-store suites:
started on a free loopback port in a temporary directory with a password
(requirepass), optionally TLS-only with a certificate the caller generated,
no persistence. The server gets SIGKILL when the process that started it
dies (PR_SET_PDEATHSIG), so an aborted run leaves nothing behind.

    srv = RedisServer(tmp_path).start()            # plain, password PASSWORD
    srv = RedisServer(tmp_path, tls=make_tls(tmp_path)).start()
    srv.kiln_uri()       # redis://:PASSWORD@127.0.0.1:PORT/0 (rediss:// with TLS)
    srv.feast_connection_string()   # Feast's "host:port,password=...,ssl=true,..."
"""

from __future__ import annotations

import ctypes
import datetime
import ipaddress
import signal
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

PASSWORD = "kiln redis pw"
_PR_SET_PDEATHSIG = 1


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Tls:
    ca: Path
    cert: Path
    key: Path


def make_tls(directory: Path, ip: str = "127.0.0.1") -> Tls:
    """A CA and a server certificate for `ip` (SAN IP), written as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kiln test redis CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ip)])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    tls = Tls(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    tls.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return tls


class RedisServer:
    def __init__(self, root: Path, password: str = PASSWORD, tls: Tls | None = None):
        self.dir = Path(root) / f"redis-{_free_port()}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.password = password
        self.tls = tls
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        cmd = ["redis-server", "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", "", "--appendonly", "no",
               "--logfile", str(self.dir / "redis.log")]
        if self.tls:
            cmd += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.tls.cert),
                    "--tls-key-file", str(self.tls.key), "--tls-ca-cert-file", str(self.tls.ca),
                    "--tls-auth-clients", "no"]
        else:
            cmd += ["--port", str(self.port)]
        if self.password:
            cmd += ["--requirepass", self.password]
        self.proc = subprocess.Popen(cmd, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited {self.proc.returncode}: {self.log()}")
            try:
                self.client().ping()
                return self
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not come up: {self.log()}")

    def log(self) -> str:
        try:
            return (self.dir / "redis.log").read_text(errors="replace")[-2000:]
        except OSError:
            return "<no log>"

    def client(self):
        """A redis-py client (the package Feast's Redis store uses)."""
        import redis

        kw = {"host": "127.0.0.1", "port": self.port, "password": self.password or None}
        if self.tls:
            kw.update(ssl=True, ssl_ca_certs=str(self.tls.ca))
        return redis.Redis(**kw)

    def kiln_uri(self, db: int = 0, with_password: bool = True) -> str:
        scheme = "rediss" if self.tls else "redis"
        auth = f":{urllib.parse.quote(self.password, safe='')}@" if (self.password and with_password) else ""
        return f"{scheme}://{auth}127.0.0.1:{self.port}/{db}"

    def feast_connection_string(self, db: int = 0) -> str:
        s = f"127.0.0.1:{self.port},db={db}"
        if self.password:
            s += f",password={self.password}"
        if self.tls:
            s += f",ssl=true,ssl_ca_certs={self.tls.ca}"
        return s

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
