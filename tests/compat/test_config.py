"""kiln's configuration and subcommands: flags > KILN_* env > YAML file >
defaults, errors that name the setting, `kiln migrate`, `kiln serve --help`."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import requests

from conftest import kiln_binary

pytestmark = pytest.mark.kiln_only


def run_kiln(*args, env=None, timeout=20):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    full_env.update(env or {})
    return subprocess.run([str(kiln_binary()), *args], capture_output=True, text=True, timeout=timeout, env=full_env)


def start_and_probe(args, env, tmp_path):
    """Starts kiln, returns (port, /health json); stops it with SIGTERM."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KILN_")}
    full_env.update(env)
    proc = subprocess.Popen([str(kiln_binary()), *args], stderr=subprocess.PIPE, text=True, env=full_env)
    try:
        port = None
        for _ in range(200):
            line = proc.stderr.readline()
            m = re.search(r"listening on http://[\d.]+:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port, "kiln did not report its port"
        body = requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
        return port, body
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0


def test_help_lists_every_setting_with_default():
    out = run_kiln("serve", "--help").stdout
    for flag in ("--host", "--port", "--data-dir", "--config", "--max-body-bytes", "--max-upload-bytes",
                 "--workers", "--worker-queue", "--read-timeout-ms", "--idle-timeout-ms", "--log-level"):
        assert flag in out, flag
    assert "KILN_PORT" in out and "KILN_DATA_DIR" in out
    assert "5000" in out  # the default port is shown


@pytest.mark.parametrize("args,env,setting", [
    (["--port", "70000"], {}, "--port"),
    (["--host", "not-an-ip"], {}, "--host"),
    (["--log-level", "loud"], {}, "--log-level"),
    ([], {"KILN_PORT": "-3"}, "--port"),
    (["--worker-queue", "0"], {}, "--worker-queue"),
])
def test_invalid_configuration_exits_nonzero_naming_the_setting(tmp_path, args, env, setting):
    r = run_kiln("serve", "--data-dir", str(tmp_path), *args, env=env)
    assert r.returncode != 0
    assert setting in r.stderr, r.stderr


def test_yaml_unknown_key_and_bad_value_are_errors(tmp_path):
    cfg = tmp_path / "kiln.yaml"
    cfg.write_text("prot: 1234\n")
    r = run_kiln("serve", "--config", str(cfg))
    assert r.returncode != 0 and "prot" in r.stderr
    cfg.write_text("port: [1, 2]\n")
    r = run_kiln("serve", "--config", str(cfg))
    assert r.returncode != 0 and "port" in r.stderr


def test_precedence_flag_over_env_over_yaml(tmp_path):
    data = tmp_path / "data"
    cfg = tmp_path / "kiln.yaml"
    cfg.write_text(f"port: 1\ndata-dir: {data}\nhost: 127.0.0.1\n")
    # env beats YAML (port 1 would be refused as privileged/used; 0 picks a free port)
    port, body = start_and_probe(["serve", "--config", str(cfg)], {"KILN_PORT": "0"}, tmp_path)
    assert body["status"] == "healthy"
    assert (data / "kiln.db").exists()  # data-dir came from YAML
    # a flag beats env
    other = tmp_path / "other"
    port, _ = start_and_probe(["serve", "--config", str(cfg), "--data-dir", str(other), "--port", "0"],
                              {"KILN_PORT": "1", "KILN_DATA_DIR": str(tmp_path / "env-dir")}, tmp_path)
    assert (other / "kiln.db").exists()
    assert not (tmp_path / "env-dir").exists()


def test_migrate_subcommand_creates_and_reports_schema(tmp_path):
    r = run_kiln("migrate", "--data-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert re.search(r"migrated from version 0 to \d+", r.stderr), r.stderr
    # idempotent: a second run reports it is already current
    r = run_kiln("migrate", "--data-dir", str(tmp_path))
    assert r.returncode == 0
    assert (tmp_path / "kiln.db").exists()


def test_version_subcommand_matches_http_version(tmp_path):
    cli = run_kiln("version").stdout.strip()
    port, body = start_and_probe(["serve", "--port", "0", "--data-dir", str(tmp_path)], {}, tmp_path)
    assert body["version"] == cli
