"""Ranged artifact downloads (RFC 9110 Range), as MLflow's server answers them.

MLflow serves `/get-artifact` and `/api/2.0/mlflow-artifacts/artifacts/<path>`
with Flask's `send_file`, which honours `Range: bytes=...`: 206 with
`Content-Range` for one satisfiable range, 416 with `Content-Range: bytes */N`
otherwise. kiln's web UI reads the head of large text, JSON and CSV artifacts
this way instead of downloading them whole. Target-agnostic: the same
assertions hold for `mlflow server` (KILN_COMPAT_TARGET=mlflow).
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest
import requests

BLOB = bytes(range(256)) * 4096 + b"the end"  # 1 MiB + 7 bytes
SIZE = len(BLOB)
ART = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture
def logged(server, client, tmp_path):
    """A run with one binary artifact; returns the two download URLs for it."""
    exp = client.create_experiment(f"ranges-{uuid.uuid4().hex[:10]}")
    run = client.create_run(exp)
    f = tmp_path / "blob.bin"
    f.write_bytes(BLOB)
    client.log_artifact(run.info.run_id, str(f), artifact_path="data")
    root = run.info.artifact_uri
    assert root.startswith("mlflow-artifacts:"), root
    rest = root[len("mlflow-artifacts:"):]
    if rest.startswith("//"):  # an authority (mlflow-artifacts://host:port/...) names this server
        rest = rest[2:].split("/", 1)[1]
    store_path = rest.strip("/")
    return {
        "get-artifact": (f"{server}/get-artifact", {"run_id": run.info.run_id, "path": "data/blob.bin"}),
        "mlflow-artifacts": (f"{server}{ART}/{quote(store_path)}/data/blob.bin", None),
    }


ROUTES = ["get-artifact", "mlflow-artifacts"]


def fetch(logged, route, **headers):
    url, params = logged[route]
    return requests.get(url, params=params, headers=headers, timeout=60)


@pytest.mark.parametrize("route", ROUTES)
def test_whole_file_without_range_advertises_ranges(logged, route):
    r = fetch(logged, route)
    assert r.status_code == 200, r.text[:200]
    assert r.content == BLOB
    assert r.headers["Accept-Ranges"] == "bytes"
    assert "Content-Range" not in r.headers


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "spec,first,last",
    [
        ("bytes=0-99", 0, 99),  # the UI's head read
        ("bytes=1000-1999", 1000, 1999),  # inside the file
        ("bytes=1048570-", 1048570, SIZE - 1),  # open-ended
        ("bytes=-7", SIZE - 7, SIZE - 1),  # suffix
        ("bytes=0-999999999", 0, SIZE - 1),  # end past the file: clamped
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),  # the last byte alone
    ],
)
def test_single_range_is_206_with_only_those_bytes(logged, route, spec, first, last):
    r = fetch(logged, route, Range=spec)
    assert r.status_code == 206, (spec, r.status_code, r.text[:200])
    assert r.headers["Content-Range"] == f"bytes {first}-{last}/{SIZE}"
    assert int(r.headers["Content-Length"]) == last - first + 1
    assert r.content == BLOB[first:last + 1]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("spec", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=99999999999999999999-"])
def test_range_past_the_end_is_416(logged, route, spec):
    r = fetch(logged, route, Range=spec)
    assert r.status_code == 416, (spec, r.status_code)
    assert r.headers["Content-Range"] == f"bytes */{SIZE}"
    assert len(r.content) < 1024  # no artifact bytes


@pytest.mark.parametrize("spec", ["bytes=20-10", "bytes=abc-", "items=0-10", "bytes=0-10,20-30"])
def test_get_artifact_refuses_malformed_or_several_ranges_with_416(logged, spec):
    # Flask's send_file serves one range or none; anything else is 416.
    r = fetch(logged, "get-artifact", Range=spec)
    assert r.status_code == 416, (spec, r.status_code)
    assert r.headers["Content-Range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize(
    "spec,message",
    [
        ("bytes=20-10", "Range header: start must be less than end"),
        ("bytes=abc-", "Range header: range must be requested"),
        ("items=0-10", "Only support bytes range"),
        ("0-10", "Malformed range header."),
    ],
)
def test_proxied_download_answers_a_malformed_range_400(logged, spec, message):
    # The proxied artifact route runs on Starlette in MLflow 3 (FileResponse):
    # a malformed header is a 400 with its plain-text reason.
    r = fetch(logged, "mlflow-artifacts", Range=spec)
    assert r.status_code == 400, (spec, r.status_code)
    assert r.text == message


def test_proxied_download_of_several_ranges_delivers_every_byte_asked_for(logged):
    # Starlette answers multipart/byteranges; kiln sends the whole file (200),
    # which RFC 9110 allows. Either way the client gets the bytes it asked for.
    r = fetch(logged, "mlflow-artifacts", Range="bytes=0-10,20-30")
    if r.status_code == 206:
        assert r.headers["Content-Type"].startswith("multipart/byteranges")
        assert BLOB[0:11] in r.content and BLOB[20:31] in r.content
    else:
        assert r.status_code == 200
        assert r.content == BLOB


def test_ranged_reads_at_several_offsets(logged):
    # A ranged response is exactly its bytes even at a large offset, read
    # through one connection after another (each reader is positioned anew).
    s = requests.Session()
    url, params = logged["get-artifact"]
    for first in (0, 65536, 524288, SIZE - 65536):
        r = s.get(url, params=params, headers={"Range": f"bytes={first}-{first + 65535}"}, timeout=60)
        assert r.status_code == 206
        assert r.content == BLOB[first:first + 65536]


def test_ranged_read_of_an_empty_file_is_the_whole_file(server, client, tmp_path):
    # Flask skips range processing for a zero-length file and answers 200.
    exp = client.create_experiment(f"ranges-empty-{uuid.uuid4().hex[:10]}")
    run = client.create_run(exp)
    f = tmp_path / "empty.txt"
    f.write_bytes(b"")
    client.log_artifact(run.info.run_id, str(f))
    r = requests.get(f"{server}/get-artifact", params={"run_id": run.info.run_id, "path": "empty.txt"},
                     headers={"Range": "bytes=0-99"}, timeout=60)
    assert r.status_code == 200 and r.content == b""


@pytest.mark.kiln_only
def test_if_range_gets_the_whole_file(logged):
    # Flask compares If-Range with its own ETag; kiln sends no validator a
    # client could hold, so it ignores Range under If-Range (RFC 9110 13.1.5).
    r = fetch(logged, "get-artifact", Range="bytes=0-9", **{"If-Range": '"some-etag"'})
    assert r.status_code == 200
    assert r.content == BLOB
