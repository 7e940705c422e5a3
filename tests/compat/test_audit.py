"""The audit log against the real binary: mutations from the unmodified
mlflow client produce hash-chained records (request and response stages, the
X-Kiln-Audit-Id header), /api/v1/audit filters and pages, `kiln audit verify`
passes on an intact log and names the first bad record after each kind of
tampering (done with sqlite3 on a copy), writes fail closed while another
process holds audit.db's write lock, the server refuses to start on an
unwritable audit store, and a password reaches the log only as its HMAC.

Auth stays off except for the secrets case: mutations are audited anyway,
with the actor taken from X-Kiln-Actor.
"""
import base64
import hashlib
import hmac
import json
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import kiln_binary, error_of

pytestmark = pytest.mark.kiln_only

MLFLOW = "/api/2.0/mlflow"


def audit_records(url, auth=None, **params):
    r = requests.get(url + "/api/v1/audit", params=params, auth=auth, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def post(url, endpoint, body, actor=None, **kw):
    headers = {"X-Kiln-Actor": actor} if actor else {}
    return requests.post(f"{url}{MLFLOW}/{endpoint}", json=body, headers=headers, timeout=60, **kw)


def run_verify(*args):
    return subprocess.run([str(kiln_binary()), "audit", "verify", *args], capture_output=True, text=True, timeout=120)


def copy_db(src: Path, dst: Path) -> Path:
    """A consistent copy through SQLite's backup API (works with a WAL file beside it)."""
    s = sqlite3.connect(str(src))
    d = sqlite3.connect(str(dst))
    s.backup(d)
    d.close()
    s.close()
    return dst


def tamper(path: Path, *statements):
    db = sqlite3.connect(str(path), isolation_level=None)
    for sql in statements:
        db.execute(sql)
    db.close()


def chain_hash(prev_hex: str, text: str) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hex) + text.encode()).hexdigest()


@pytest.fixture
def audited(kiln_factory):
    return kiln_factory()


@pytest.fixture
def audited_file(kiln_factory):
    """Tests that read, lock or tamper with the audit log's own SQLite file
    (audit.db) pin the embedded metadata backend, also in the postgres pass
    (on PostgreSQL the audit tables live in the metadata database)."""
    return kiln_factory("--database-uri", "sqlite://")


def test_mlflow_client_mutations_are_audited_with_request_and_response(audited):
    from mlflow.tracking import MlflowClient

    url = audited.url
    client = MlflowClient(tracking_uri=url)
    exp_id = client.create_experiment("audited-exp")
    run = client.create_run(exp_id)
    client.log_batch(run.info.run_id, metrics=[], params=[], tags=[])
    from mlflow.entities import Metric
    client.log_batch(run.info.run_id, metrics=[Metric("m", 1.5, 1000, 0)])
    client.set_terminated(run.info.run_id)

    recs = audit_records(url, action="mlflow.")["records"]
    actions = [(r["action"], r["stage"]) for r in recs]
    assert ("mlflow.experiments.create", "request") in actions
    assert ("mlflow.experiments.create", "response") in actions
    assert ("mlflow.runs.create", "request") in actions
    assert ("mlflow.runs.log-batch", "request") in actions
    create_req = next(r for r in recs if r["action"] == "mlflow.experiments.create" and r["stage"] == "request")
    create_res = next(r for r in recs if r["action"] == "mlflow.experiments.create" and r["stage"] == "response")
    assert create_req["request"]["name"] == "audited-exp"
    assert create_req["decision"] == "allow"
    assert create_req["actor"] == "anonymous"
    assert create_res["audit_id"] == create_req["audit_id"] + ".r"
    assert create_res["status"] == 200
    batch = next(r for r in recs if r["action"] == "mlflow.runs.log-batch" and r["stage"] == "request"
                 and r.get("request", {}).get("metrics"))
    assert batch["request"]["metrics"][0]["key"] == "m"
    assert batch["object"] == f"experiment:{exp_id}"
    # Reads are not audited.
    client.get_run(run.info.run_id)
    assert not [r for r in audit_records(url, action="mlflow.runs.get")["records"]]

    # The response header names the record; the actor comes from X-Kiln-Actor with auth off.
    r = post(url, "runs/create", {"experiment_id": exp_id, "start_time": 1}, actor="alice")
    assert r.status_code == 200, r.text
    audit_id = r.headers["X-Kiln-Audit-Id"]
    assert audit_id.startswith("aud_")
    [req] = audit_records(url, audit_id=audit_id)["records"]
    assert req["actor"] == "alice"
    assert req["action"] == "mlflow.runs.create"
    assert req["stage"] == "request"
    assert req["request"]["experiment_id"] == exp_id
    assert req["protocol"] == "http"
    assert req["source"].startswith("127.0.0.1")
    [res] = audit_records(url, audit_id=audit_id + ".r")["records"]
    assert res["stage"] == "response" and res["status"] == 200

    # Each record commits to the one before it.
    everything = requests.get(url + "/api/v1/audit/export", timeout=30).text.splitlines()
    prev = "0" * 64
    for line in everything:
        rec = json.loads(line)
        assert rec["prev"] == prev
        prev = rec["hash"]
    assert json.loads(everything[0])["action"] == "audit.startup"


def test_registry_events_become_audit_records(audited):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=audited.url)
    client.create_registered_model("audited-model")
    recs = audit_records(audited.url, action="registry.")["records"]
    assert [r["action"] for r in recs] == ["registry.create_registered_model"]
    assert recs[0]["stage"] == "event"
    assert recs[0]["object"] == "registered_model:audited-model"
    assert recs[0]["after"]["name"] == "audited-model"


def test_query_filters_and_paging(audited):
    url = audited.url
    exp = post(url, "experiments/create", {"name": "filters"}, actor="alice").json()["experiment_id"]
    for i in range(3):
        assert post(url, "runs/create", {"experiment_id": exp, "start_time": i}, actor="alice").status_code == 200
        assert post(url, "runs/create", {"experiment_id": exp, "start_time": i}, actor="bob").status_code == 200
    alice = audit_records(url, actor="alice")["records"]
    assert {r["actor"] for r in alice} == {"alice"}
    assert len(alice) == 8  # experiment + 3 runs, request and response each
    bob_runs = audit_records(url, actor="bob", action="mlflow.runs.")["records"]
    assert len(bob_runs) == 6
    assert audit_records(url, actor="bob", action="mlflow.experiments.")["records"] == []
    on_exp = audit_records(url, object=f"experiment:{exp}")["records"]
    assert len(on_exp) == 12  # the runs; creating the experiment is on the global scope
    assert audit_records(url, decision="deny")["records"] == []
    assert len(audit_records(url, decision="allow")["records"]) == len(audit_records(url)["records"])
    all_recs = audit_records(url, max_results=1000)["records"]
    t_mid = all_recs[len(all_recs) // 2]["time"]
    since = audit_records(url, since=t_mid)["records"]
    until = audit_records(url, until=t_mid)["records"]
    assert all(r["time"] >= t_mid for r in since) and all(r["time"] <= t_mid for r in until)
    assert {r["seq"] for r in since} | {r["seq"] for r in until} == {r["seq"] for r in all_recs}

    paged, token = [], None
    while True:
        params = {"max_results": 3}
        if token:
            params["page_token"] = token
        page = audit_records(url, **params)
        assert len(page["records"]) <= 3
        paged += page["records"]
        token = page.get("next_page_token")
        if not token:
            break
    assert [r["seq"] for r in paged] == [r["seq"] for r in all_recs]

    r = requests.get(url + "/api/v1/audit", params={"max_results": "0"}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.get(url + "/api/v1/audit", params={"page_token": "garbage!"}, timeout=30)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_verify_passes_then_names_the_first_bad_record(audited_file, tmp_path):
    audited = audited_file
    url = audited.url
    exp = post(url, "experiments/create", {"name": "tamper"}, actor="alice").json()["experiment_id"]
    for i in range(6):
        assert post(url, "runs/create", {"experiment_id": exp, "start_time": i}, actor="mallory").status_code == 200
    data = audited.data_dir

    # While the server runs, against the public key it publishes.
    key = requests.get(url + "/api/v1/audit/public-key", timeout=30).json()
    pub = tmp_path / "audit.pub"
    pub.write_text(key["public_key_pem"])
    live = run_verify("--data-dir", str(data), "--public-key", str(pub))
    assert live.returncode == 0, live.stdout + live.stderr
    assert "intact" in live.stdout
    api_view = requests.get(url + "/api/v1/audit/verify", timeout=30).json()
    assert api_view["ok"] is True and api_view["key_id"] == key["key_id"]

    audited.stop()  # writes the final checkpoint
    ok = run_verify("--data-dir", str(data), "--public-key", str(pub), "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    summary = json.loads(ok.stdout)
    last = summary["last_seq"]
    assert summary["ok"] and summary["checkpoints"] >= 1 and summary["last_checkpoint_seq"] == last
    assert summary["uncovered"] == 0
    assert last >= 15

    db = sqlite3.connect(str(data / "audit.db"))
    mallory = [seq for seq, in db.execute("SELECT seq FROM records WHERE actor = 'mallory' ORDER BY seq")]
    db.close()
    a, b, c = mallory[0], mallory[2], mallory[4]  # records in the middle of the log

    def verify_copy(name, *statements):
        copy = copy_db(data / "audit.db", tmp_path / f"{name}.db")
        tamper(copy, *statements)
        out = run_verify("--audit-db", str(copy), "--public-key", str(pub))
        assert out.returncode == 1, f"{name}: {out.stdout}{out.stderr}"
        return out.stdout

    assert f"record {a} edited: its content does not match its hash" in verify_copy(
        "edit", f"UPDATE record_json SET json = replace(json, 'mallory', 'someone') WHERE seq = {a}")
    assert f"record {b} missing" in verify_copy("delete", f"DELETE FROM records WHERE seq = {b}")
    swap = [f"UPDATE {t} SET seq = -1 WHERE seq = {c}; UPDATE {t} SET seq = {c} WHERE seq = {c + 1}; "
            f"UPDATE {t} SET seq = {c + 1} WHERE seq = -1" for t in ("records", "record_json")]
    assert f"record {c} out of order" in verify_copy("swap", *[q for s in swap for q in s.split("; ")])
    out = verify_copy("truncate", f"DELETE FROM records WHERE seq > {last - 3}")
    assert "log truncated after checkpoint" in out and f"records {last - 2}..{last} removed" in out
    forged_sig = base64.b64encode(b"\x00" * 64).decode()
    out = verify_copy("forge", f"UPDATE checkpoints SET signature = '{forged_sig}' WHERE seq = {last}")
    assert "bad checkpoint signature" in out and f"(at record {last})" in out

    # An edit re-hashed by the tamperer is still pinned on the edited record.
    copy = copy_db(data / "audit.db", tmp_path / "rehash.db")
    db = sqlite3.connect(str(copy), isolation_level=None)
    text, = db.execute("SELECT json FROM record_json WHERE seq = ?", (a,)).fetchone()
    rec = json.loads(text)
    rec["actor"] = "someone-else"
    new_text = json.dumps(rec, sort_keys=True, separators=(",", ":"))
    db.execute("UPDATE record_json SET json = ? WHERE seq = ?", (new_text, a))
    db.execute("UPDATE records SET actor = ?, hash = ? WHERE seq = ?",
               ("someone-else", chain_hash(rec["prev"], new_text), a))
    db.close()
    out = run_verify("--audit-db", str(copy), "--public-key", str(pub))
    assert out.returncode == 1 and f"record {a} edited or replaced" in out.stdout, out.stdout

    # The default key is the data dir's own signing key.
    assert run_verify("--data-dir", str(data)).returncode == 0

    # Export is JSON lines, one per record, in order.
    exp_out = subprocess.run([str(kiln_binary()), "audit", "export", "--data-dir", str(data)],
                             capture_output=True, text=True, timeout=60)
    assert exp_out.returncode == 0, exp_out.stderr
    seqs = [json.loads(line)["seq"] for line in exp_out.stdout.splitlines()]
    assert seqs == list(range(1, last + 1))
    since = subprocess.run([str(kiln_binary()), "audit", "export", "--data-dir", str(data), "--after-seq", "10",
                            "--actor", "mallory"], capture_output=True, text=True, timeout=60)
    lines = [json.loads(line) for line in since.stdout.splitlines()]
    assert lines and all(r["seq"] > 10 and r["actor"] == "mallory" for r in lines)


def test_fail_closed_while_audit_db_is_locked(audited_file, tmp_path):
    audited = audited_file
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    url = audited.url
    client = MlflowClient(tracking_uri=url)
    exp_id = client.create_experiment("before-lock")

    locker = sqlite3.connect(str(audited.data_dir / "audit.db"), isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        # The client retries 503s (urllib3's status_forcelist), so with retries
        # off it reports the status, not the body; the body is checked raw below.
        with pytest.raises(MlflowException, match="503"):
            client.create_experiment("during-lock")
        r = post(url, "experiments/create", {"name": "during-lock-raw"})
        assert error_of(r) == (503, "TEMPORARILY_UNAVAILABLE"), r.text
        # Reads are not audited, so they are still served.
        assert client.get_experiment(exp_id).name == "before-lock"
        assert client.get_experiment_by_name("during-lock") is None
    finally:
        locker.execute("COMMIT")
        locker.close()

    assert client.create_experiment("after-lock")
    audited.stop()
    out = run_verify("--data-dir", str(audited.data_dir))
    assert out.returncode == 0, out.stdout + out.stderr
    names = [json.loads(line).get("request", {}).get("name")
             for line in subprocess.run([str(kiln_binary()), "audit", "export", "--data-dir", str(audited.data_dir)],
                                        capture_output=True, text=True, timeout=60).stdout.splitlines()]
    assert "before-lock" in names and "after-lock" in names
    assert "during-lock" not in names  # refused, so never recorded as done


def test_server_refuses_to_start_without_a_writable_audit_store(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    not_a_file = tmp_path / "a-directory"
    not_a_file.mkdir()
    proc = subprocess.run([str(kiln_binary()), "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data),
                           "--audit-db", str(not_a_file)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "audit" in proc.stderr and "listening on" not in proc.stderr


def test_a_password_reaches_the_log_only_as_its_hmac(kiln_factory, tmp_path):
    pw_file = tmp_path / "admin.pw"
    pw_file.write_text("admin-pass-123\n")
    srv = kiln_factory("--auth", "--admin-password-file", str(pw_file), "--database-uri", "sqlite://")  # reads audit.db
    admin = ("admin", "admin-pass-123")
    secret = "carol-s3cret-pw"
    r = requests.post(srv.url + f"{MLFLOW}/users/create", json={"username": "carol", "password": secret},
                      auth=admin, timeout=30)
    assert r.status_code == 200, r.text
    audit_id = r.headers["X-Kiln-Audit-Id"]
    [rec] = audit_records(srv.url, auth=admin, audit_id=audit_id)["records"]
    assert rec["action"] == "auth.users.create"
    assert rec["actor"] == "admin"
    key = (srv.data_dir / "secret.key").read_bytes()
    assert rec["request"]["password"] == "hmac-sha256:" + hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()
    assert rec["request"]["username"] == "carol"
    export = requests.get(srv.url + "/api/v1/audit/export", auth=admin, timeout=30)
    assert export.status_code == 200
    assert secret not in export.text and "admin-pass-123" not in export.text
    # Not for anyone but administrators.
    assert requests.get(srv.url + "/api/v1/audit", timeout=30).status_code == 401
    r = requests.get(srv.url + "/api/v1/audit", auth=("carol", secret), timeout=30)
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
    srv.stop()
    assert (srv.data_dir / "audit.db").read_bytes().find(secret.encode()) == -1


def test_verify_on_postgresql_names_an_edited_record(kiln_factory, pg_server, tmp_path):
    """On PostgreSQL the audit tables live in the metadata database;
    `kiln audit verify --database-uri` checks them there."""
    uri = pg_server.create_database()
    srv = kiln_factory("--database-uri", uri)
    url = srv.url
    exp = post(url, "experiments/create", {"name": "pg-tamper"}, actor="alice").json()["experiment_id"]
    for i in range(3):
        assert post(url, "runs/create", {"experiment_id": exp, "start_time": i}, actor="mallory").status_code == 200
    pub = tmp_path / "audit.pub"
    pub.write_text(requests.get(url + "/api/v1/audit/public-key", timeout=30).json()["public_key_pem"])
    srv.stop()  # writes the final checkpoint
    ok = run_verify("--database-uri", uri, "--public-key", str(pub), "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["uncovered"] == 0
    db = uri.rsplit("/", 1)[1]
    seq = int(pg_server.sql("SELECT min(seq) FROM records WHERE actor = 'mallory'", db=db).strip())
    pg_server.sql(f"UPDATE record_json SET json = replace(json, 'mallory', 'someone') WHERE seq = {seq}", db=db)
    bad = run_verify("--database-uri", uri, "--public-key", str(pub))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"record {seq} edited: its content does not match its hash" in bad.stdout
