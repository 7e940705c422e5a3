"""Shared helpers of the deployment suites (tests/deploy): where the repository,
the chart, the Go-built tools (scripts/setup.sh builds them into
third_party/go-tools/bin) and the kiln binary under test are.

KILN_BINARY names the binary (default build/release/kiln, relative to the
repository root). A missing tool fails the test with the command that
provides it: the suites never skip.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = REPO_ROOT / "deploy"
CHART_DIR = DEPLOY_DIR / "helm" / "kiln"
GO_TOOLS_BIN = REPO_ROOT / "third_party" / "go-tools" / "bin"
KUBE_SCHEMA_DIR = REPO_ROOT / "third_party" / "kube-schemas"
CRD_SCHEMA_DIR = Path(__file__).resolve().parent / "crd-schemas"

LISTEN_RE = re.compile(r"listening on (https?)://([0-9.]+):(\d+)")


def kiln_binary() -> Path:
    override = os.environ.get("KILN_BINARY")
    path = Path(override) if override else Path("build/release/kiln")
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def go_tool(name: str) -> Path:
    """A tool scripts/setup.sh builds (helm, kubeconform, ...); fails when missing."""
    path = GO_TOOLS_BIN / name
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: run scripts/setup.sh (it builds {name} once from its pinned Go module)")
    return path


@pytest.fixture(scope="session")
def kiln() -> Path:
    path = kiln_binary()
    if not os.access(path, os.X_OK):
        pytest.fail(f"kiln binary {path} not found: build it (make build) or set KILN_BINARY")
    return path


class KilnProcess:
    """`kiln serve` on port 0 with its own data dir; the log tells the port."""

    def __init__(self, binary: Path, data_dir: Path, extra_args: list[str] | None = None,
                 env: dict[str, str] | None = None):
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self._log = open(self.log_path, "w")
        cmd = [str(binary), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir),
               *(extra_args or [])]
        # A clean environment: the developer's KILN_* settings must not leak in.
        base = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env={**base, **(env or {})})
        self.url = self._wait_for_port()

    def _wait_for_port(self, timeout_s: float = 30.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"kiln exited with {self.proc.returncode}:\n{self.log()}")
            m = LISTEN_RE.search(self.log())
            if m:
                return f"{m.group(1)}://127.0.0.1:{m.group(3)}"
            time.sleep(0.05)
        raise AssertionError(f"kiln did not log its port within {timeout_s}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, timeout=10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode
