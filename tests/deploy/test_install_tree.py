"""The container image's runtime stage (deploy/Dockerfile) holds exactly what
`cmake --install` lays out, and that tree serves: no container engine runs
here, so the recipe's parts are checked one by one against the real build.

- the install tree (DESTDIR, the Dockerfile's own --prefix/--strip flags) is
  exactly the set of files the runtime stage COPYs from the build stage;
- the installed kiln loads libduckdb.so from the tree through its rpath (not
  from the build directory) and answers /health and /health/live;
- the runtime stage's apt packages provide every shared library the binary
  links, and the build stage's packages are scripts/setup.sh's build packages.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import DEPLOY_DIR, REPO_ROOT, KilnProcess

DOCKERFILE = DEPLOY_DIR / "Dockerfile"
# scripts/setup.sh packages that only the test suites need (servers, browser, venv, cache).
# Not in the image's build stage: test tools, and nodejs (the web UI is built
# on the host by setup.sh into third_party/ui-dist, which the build context carries).
SETUP_TEST_ONLY = {"ccache", "prometheus", "prometheus-alertmanager", "sqlite3", "python3-venv", "postgresql", "redis-server", "curl", "chromium", "nodejs"}
# In every debian:12-slim image (the C library and the GCC runtime everything links).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1"}


def dockerfile_stages() -> dict[str, list[str]]:
    """Instructions per stage name, with continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    stages: dict[str, list[str]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE)
        if m:
            current = m.group(1)
            stages[current] = []
            continue
        assert current, f"instruction before FROM: {line}"
        stages[current].append(line)
    return stages


def apt_packages(instructions: list[str]) -> set[str]:
    packages: set[str] = set()
    for ins in instructions:
        for m in re.finditer(r"apt-get install ((?:\s*-\S+)*)((?:\s+[a-z0-9][a-z0-9.+-]+)+)", ins):
            packages.update(m.group(2).split())
    return packages


def runtime_copies() -> list[tuple[str, str]]:
    """(source in the build stage, destination in the image) of every COPY --from=build."""
    copies = []
    for ins in dockerfile_stages()["runtime"]:
        if ins.startswith("COPY"):
            words = shlex.split(ins)
            assert "--from=build" in words, f"the runtime stage copies something not built: {ins}"
            src, dst = [w for w in words[1:] if not w.startswith("--")]
            copies.append((src, dst))
    return copies


def install_command() -> tuple[str, list[str]]:
    """DESTDIR and the cmake --install flags the build stage uses."""
    for ins in dockerfile_stages()["build"]:
        m = re.search(r"DESTDIR=(\S+) cmake --install \S+ ([^&]*)", ins)
        if m:
            return m.group(1), shlex.split(m.group(2))
    raise AssertionError("the build stage has no `DESTDIR=... cmake --install` step")


@pytest.fixture(scope="module")
def install_tree(kiln, tmp_path_factory) -> Path:
    build_dir = kiln.parent
    assert (build_dir / "cmake_install.cmake").exists(), f"{build_dir} is not a CMake build tree"
    destdir = tmp_path_factory.mktemp("destdir")
    _, flags = install_command()
    result = subprocess.run(["cmake", "--install", str(build_dir), *flags], env={**os.environ, "DESTDIR": str(destdir)},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return destdir


def tree_files(root: Path) -> set[str]:
    return {"/" + str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def test_runtime_stage_copies_exactly_the_install_tree(install_tree):
    out_dir, _ = install_command()
    copies = runtime_copies()
    sources = set()
    for src, dst in copies:
        assert src.startswith(out_dir + "/"), f"{src} is not from the install tree {out_dir}"
        relative = src[len(out_dir):]
        assert dst == relative, f"{src} lands at {dst}, not at its install path {relative}"
        sources.add(relative)
    assert tree_files(install_tree) == sources
    assert sources == {"/usr/bin/kiln", "/usr/lib/libduckdb.so"}


def test_installed_binary_finds_duckdb_through_its_own_rpath(install_tree):
    binary = install_tree / "usr/bin/kiln"
    dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    runpaths = re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]", dynamic)
    assert runpaths == ["$ORIGIN/../lib"], dynamic  # no build-tree path left in the installed copy
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    resolved = re.search(r"libduckdb\.so => (\S+)", ldd)
    assert resolved, ldd
    assert Path(resolved.group(1)).resolve() == (install_tree / "usr/lib/libduckdb.so").resolve()
    assert "not found" not in ldd, ldd


def test_installed_tree_serves_health(install_tree, tmp_path):
    server = KilnProcess(install_tree / "usr/bin/kiln", tmp_path / "data")
    try:
        health = server.get("/health")
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "healthy"
        assert health.json()["checks"]["metadata_store"]["status"] == "ok"
        live = server.get("/health/live")
        assert live.status_code == 200, live.text
    finally:
        assert server.stop() == 0, server.log()
    assert (tmp_path / "data" / "kiln.db").exists()


def test_runtime_packages_provide_every_linked_library(install_tree):
    binary = install_tree / "usr/bin/kiln"
    dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    ldd = dict(re.findall(r"^\s*(\S+) => (/\S+)", subprocess.run(["ldd", str(binary)], capture_output=True,
                                                                  text=True, check=True).stdout, re.M))
    runtime = apt_packages(dockerfile_stages()["runtime"])
    missing = {}
    for lib in needed:
        if lib == "libduckdb.so":
            continue  # shipped in the tree itself
        path = os.path.realpath(ldd[lib])
        owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        if owner.returncode != 0:  # merged /usr: dpkg knows the /lib spelling
            owner = subprocess.run(["dpkg", "-S", path.replace("/usr/lib/", "/lib/", 1)], capture_output=True, text=True)
        assert owner.returncode == 0, f"no Debian package owns {path}"
        package = owner.stdout.split(":")[0]
        if package not in runtime and package not in BASE_IMAGE_PACKAGES:
            missing[lib] = package
    assert not missing, f"the runtime stage does not install the packages of {missing}"


def test_build_stage_installs_setup_sh_build_packages():
    setup = (REPO_ROOT / "scripts" / "setup.sh").read_text()
    debs: set[str] = set()
    lines = iter(setup.splitlines())
    for line in lines:
        if line.startswith("DEBS=("):
            code = line[len("DEBS=("):]
            while True:
                code = code.split("#")[0]
                debs.update(code.replace(")", " ").split())
                if ")" in code:
                    break
                code = next(lines)
            break
    assert debs, "scripts/setup.sh has no DEBS=(...) list"
    build = apt_packages(dockerfile_stages()["build"])
    assert build == debs - SETUP_TEST_ONLY, (
        f"only in setup.sh: {sorted(debs - SETUP_TEST_ONLY - build)}, only in the Dockerfile: {sorted(build - debs)}")


def test_image_runs_unprivileged_on_a_data_volume():
    runtime = dockerfile_stages()["runtime"]
    user = [i.split()[1] for i in runtime if i.startswith("USER ")]
    assert user and not user[-1].startswith(("0", "root")), user
    assert any(i.startswith("VOLUME") and "/var/lib/kiln" in i for i in runtime)
    assert any("KILN_DATA_DIR=/var/lib/kiln" in i for i in runtime if i.startswith("ENV"))
    health = [i for i in runtime if i.startswith("HEALTHCHECK")]
    assert health and "/health" in health[0]
