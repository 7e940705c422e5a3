"""MLflow's own client against kiln with --auth: each role allowed and refused
on experiments, runs (metrics, params, artifacts), registered models,
versions and aliases, with Basic credentials (MLFLOW_TRACKING_USERNAME /
PASSWORD) and with an API token (MLFLOW_TRACKING_TOKEN); refusals surface in
the client as PERMISSION_DENIED / UNAUTHENTICATED. Searches must not leak:
with --default-role none a user sees exactly the experiments, registered
models and versions granted to them -- page by page with max_results=1, with
filters naming hidden objects, and in the page tokens.
"""
from __future__ import annotations

import contextlib
import os
import uuid

import pytest
import requests

pytestmark = pytest.mark.kiln_only

ADMIN_PW = "mlflow-auth-admin-pw"
USERS = ["alice", "bob", "carol", "dave", "eve", "frank", "gina"]


def _pw(user: str) -> str:
    return f"{user}-secret-pw"


@contextlib.contextmanager
def _env(**values):
    keys = ["MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN"]
    saved = {k: os.environ.get(k) for k in keys}
    for k in keys:
        os.environ.pop(k, None)
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def as_user(user: str, password: str | None = None):
    return _env(MLFLOW_TRACKING_USERNAME=user, MLFLOW_TRACKING_PASSWORD=password or _pw(user))


def as_token(token: str):
    return _env(MLFLOW_TRACKING_TOKEN=token)


def refused(fn, code: str = "PERMISSION_DENIED"):
    """The call fails with MLflow's error code (REST) or the HTTP status (artifacts)."""
    from mlflow.exceptions import MlflowException

    status = {"PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401}[code]
    try:
        fn()
    except MlflowException as e:
        assert e.error_code == code, f"{e.error_code}: {e.message}"
        return
    except requests.HTTPError as e:
        assert e.response is not None and e.response.status_code == status, str(e)
        return
    except Exception as e:  # the artifact client wraps some HTTP errors
        assert str(status) in str(e) or code in str(e), repr(e)
        return
    pytest.fail(f"expected {code}, the call succeeded")


class Secured:
    def __init__(self, srv):
        self.srv = srv
        self.url = srv.url
        self.admin = requests.Session()
        self.admin.auth = ("admin", ADMIN_PW)

    def session(self, user: str) -> requests.Session:
        s = requests.Session()
        s.auth = (user, _pw(user))
        return s

    def grant(self, by: requests.Session, user: str, kind: str, object_id: str, role: str):
        r = by.post(f"{self.url}/api/v1/grants", json={"subject_kind": "user", "subject": user, "object_kind": kind,
                                                      "object_id": object_id, "role": role})
        assert r.status_code in (200, 201), r.text

    def client(self):
        from mlflow.tracking import MlflowClient

        # registry_uri too: it would default to the global tracking URI (the shared server).
        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)


def _start(tmp_path_factory, *flags: str) -> Secured:
    from conftest import ServerProcess

    root = tmp_path_factory.mktemp("auth-mlflow")
    pw = root / "admin-password"
    pw.write_text(ADMIN_PW + "\n")
    srv = ServerProcess("kiln", root / "data", ["--auth", "--admin-password-file", str(pw), *flags]).start()
    s = Secured(srv)
    for u in USERS:
        r = s.admin.post(f"{s.url}/api/2.0/mlflow/users/create", json={"username": u, "password": _pw(u)})
        assert r.status_code == 200, r.text
    return s


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    """--default-role none: nobody sees what they were not granted."""
    s = _start(tmp_path_factory, "--default-role", "none")
    # alice and frank may create experiments and registered models.
    s.grant(s.admin, "alice", "global", "", "editor")
    s.grant(s.admin, "frank", "global", "", "editor")
    yield s
    s.srv.stop(check=True)


@pytest.fixture(scope="module")
def lenient(tmp_path_factory):
    """The default --default-role viewer: everyone reads, nobody writes ungranted."""
    s = _start(tmp_path_factory)
    s.grant(s.admin, "alice", "global", "", "editor")
    yield s
    s.srv.stop(check=True)


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def world(strict):
    """alice's experiment with a run, metrics, params and an artifact, and her
    registered model with a version and an alias; bob viewer, carol editor,
    dave manager on both (granted by alice, their creator and manager)."""
    c = strict.client()
    with as_user("alice"):
        exp = c.create_experiment(_name("exp"))
        run = c.create_run(exp).info.run_id
        c.log_metric(run, "loss", 0.5, step=1)
        c.log_param(run, "lr", "0.1")
        c.log_text(run, "artifact_path: model\nflavors: {}\n", "model/MLmodel")
        model = _name("model")
        c.create_registered_model(model)
        v = c.create_model_version(model, f"runs:/{run}/model", run_id=run)
        c.set_registered_model_alias(model, "champion", v.version)
    alice = strict.session("alice")
    for user, role in (("bob", "viewer"), ("carol", "editor"), ("dave", "manager")):
        strict.grant(alice, user, "experiment", exp, role)
        strict.grant(alice, user, "registered_model", model, role)
    return {"exp": exp, "run": run, "model": model, "version": v.version}


def test_anonymous_and_wrong_password_are_unauthenticated(strict, world):
    c = strict.client()
    with _env():
        refused(lambda: c.get_experiment(world["exp"]), "UNAUTHENTICATED")
        refused(lambda: c.search_experiments(), "UNAUTHENTICATED")
    with as_user("bob", "wrong-password"):
        refused(lambda: c.get_run(world["run"]), "UNAUTHENTICATED")


def test_creating_needs_editor_on_everything_and_makes_the_creator_manager(strict):
    c = strict.client()
    with as_user("eve"):
        refused(lambda: c.create_experiment(_name("eve")))
        refused(lambda: c.create_registered_model(_name("eve")))
    with as_user("frank"):
        exp = c.create_experiment(_name("frank"))
        run = c.create_run(exp).info.run_id
        c.delete_run(run)  # manager of what he created
        c.restore_run(run)
        c.set_experiment_tag(exp, "team", "f")
    with as_user("eve"):
        refused(lambda: c.get_experiment(exp))


def test_viewer_reads_but_cannot_write(strict, world, tmp_path):
    from mlflow.entities import Param

    c = strict.client()
    exp, run = world["exp"], world["run"]
    with as_user("bob"):
        assert c.get_experiment(exp).experiment_id == exp
        assert c.get_run(run).data.params == {"lr": "0.1"}
        assert [m.value for m in c.get_metric_history(run, "loss")] == [0.5]
        assert [f.path for f in c.list_artifacts(run)] == ["model"]
        path = c.download_artifacts(run, "model/MLmodel", str(tmp_path))
        assert "flavors" in open(path).read()
        assert len(c.search_runs([exp])) == 1
        refused(lambda: c.log_metric(run, "loss", 0.4, step=2))
        refused(lambda: c.log_batch(run, params=[Param("x", "1")]))
        refused(lambda: c.log_param(run, "other", "1"))
        refused(lambda: c.set_tag(run, "t", "v"))
        refused(lambda: c.create_run(exp))
        refused(lambda: c.log_text(run, "no", "notes.txt"))
        refused(lambda: c.delete_run(run))
        refused(lambda: c.set_experiment_tag(exp, "k", "v"))


def test_editor_logs_but_cannot_delete(strict, world):
    from mlflow.entities import Metric, Param

    c = strict.client()
    exp, run = world["exp"], world["run"]
    with as_user("carol"):
        c.log_metric(run, "loss", 0.4, step=2)
        c.log_batch(run, metrics=[Metric("acc", 0.9, 1, 1)], params=[Param("batch", "32")])
        c.set_tag(run, "owner", "carol")
        c.log_text(run, "hello", "notes/carol.txt")
        own = c.create_run(exp).info.run_id
        c.set_terminated(own)
        refused(lambda: c.delete_run(own))
        refused(lambda: c.delete_experiment(exp))
    with as_user("bob"):
        assert "notes" in [f.path for f in c.list_artifacts(run)]
        assert c.get_run(run).data.metrics["acc"] == 0.9


def test_manager_deletes_and_restores(strict, world):
    c = strict.client()
    with as_user("alice"):
        run = c.create_run(world["exp"]).info.run_id
    with as_user("dave"):
        c.delete_run(run)
        c.restore_run(run)
    with as_user("eve"):
        refused(lambda: c.get_run(run))
        refused(lambda: c.search_runs([world["exp"]]))
        refused(lambda: c.get_metric_history(world["run"], "loss"))


def test_registry_roles(strict, world, tmp_path):
    c = strict.client()
    model, version = world["model"], world["version"]
    with as_user("bob"):
        assert c.get_registered_model(model).name == model
        assert c.get_model_version(model, version).version == version
        assert c.get_model_version_by_alias(model, "champion").version == version
        assert c.get_model_version_download_uri(model, version)
        import mlflow
        import mlflow.artifacts

        saved = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(strict.url)
        try:
            # The registry follows the tracking URI while none is set.
            local = mlflow.artifacts.download_artifacts(f"models:/{model}/{version}", dst_path=str(tmp_path / "m"))
        finally:
            mlflow.set_tracking_uri(saved)
        assert os.path.exists(os.path.join(local, "MLmodel"))
        refused(lambda: c.set_registered_model_alias(model, "bob", version))
        refused(lambda: c.update_registered_model(model, description="bob was here"))
        refused(lambda: c.create_model_version(model, f"runs:/{world['run']}/model", run_id=world["run"]))
    with as_user("carol"):
        c.set_registered_model_alias(model, "staging", version)
        c.set_model_version_tag(model, version, "validated", "yes")
        c.update_registered_model(model, description="carol")
        v2 = c.create_model_version(model, f"runs:/{world['run']}/model", run_id=world["run"])
        refused(lambda: c.delete_registered_model_alias(model, "staging"))
        refused(lambda: c.delete_model_version(model, v2.version))
        refused(lambda: c.delete_registered_model(model))
    with as_user("dave"):
        c.delete_registered_model_alias(model, "staging")
        c.delete_model_version(model, v2.version)
    with as_user("eve"):
        refused(lambda: c.get_registered_model(model))
        refused(lambda: c.get_model_version(model, version))
        refused(lambda: c.get_model_version_by_alias(model, "champion"))


def test_registering_from_a_run_needs_read_on_it(strict, world):
    """MLflow's rule: UPDATE on the model plus READ on the run it is created from."""
    c = strict.client()
    with as_user("alice"):
        other = _name("other-model")
        c.create_registered_model(other)
        exp = c.create_experiment(_name("eve-can-read"))
        readable = c.create_run(exp).info.run_id
        c.log_text(readable, "artifact_path: model\nflavors: {}\n", "model/MLmodel")
    strict.grant(strict.session("alice"), "eve", "registered_model", other, "editor")
    with as_user("eve"):
        refused(lambda: c.create_model_version(other, f"runs:/{world['run']}/model", run_id=world["run"]))
    strict.grant(strict.session("alice"), "eve", "experiment", exp, "viewer")
    with as_user("eve"):
        assert c.create_model_version(other, f"runs:/{readable}/model", run_id=readable).version == "1"


def test_api_tokens_carry_the_users_roles(strict, world):
    c = strict.client()
    r = strict.admin.post(f"{strict.url}/api/v1/tokens", json={"name": "ci", "user": "carol", "expires_in_s": 3600})
    assert r.status_code == 201, r.text
    carol_token = r.json()["secret"]
    r = strict.session("eve").post(f"{strict.url}/api/v1/tokens", json={"name": "mine", "expires_in_s": 3600})
    assert r.status_code == 201, r.text
    eve_token = r.json()["secret"]
    with as_token(carol_token):
        c.log_metric(world["run"], "token_metric", 1.0)
        assert c.get_run(world["run"]).data.metrics["token_metric"] == 1.0
        refused(lambda: c.delete_run(world["run"]))
    with as_token(eve_token):
        refused(lambda: c.get_run(world["run"]))
        assert world["exp"] not in {e.experiment_id for e in c.search_experiments()}
    with as_token("kiln_not-a-real-token"):
        refused(lambda: c.get_run(world["run"]), "UNAUTHENTICATED")


def _pages(fetch):
    """Every page with max_results=1: the items and the number of pages."""
    items, token, pages = [], None, 0
    while True:
        page = fetch(token)
        pages += 1
        items.extend(page)
        token = page.token
        if not token:
            return items, pages
        assert pages < 50


def test_searches_show_exactly_what_was_granted(strict):
    c = strict.client()
    with as_user("alice"):
        exps = [c.create_experiment(_name(f"leak{i}")) for i in range(5)]
        run = c.create_run(exps[0]).info.run_id
        c.log_text(run, "artifact_path: model\nflavors: {}\n", "model/MLmodel")
        models = []
        for i in range(5):
            name = _name(f"leakmodel{i}")
            c.create_registered_model(name)
            c.create_model_version(name, f"runs:/{run}/model", run_id=run)
            c.create_model_version(name, f"runs:/{run}/model", run_id=run)
            models.append(name)
    alice = strict.session("alice")
    for i in (1, 3):
        strict.grant(alice, "gina", "experiment", exps[i], "viewer")
        strict.grant(alice, "gina", "registered_model", models[i], "viewer")
    with as_user("gina"):  # granted nothing else
        seen, pages = _pages(lambda t: c.search_experiments(max_results=1, page_token=t))
        assert sorted(e.experiment_id for e in seen) == sorted([exps[1], exps[3]])
        assert pages == 2  # no trailing empty page: the token counted only visible rows
        assert {e.experiment_id for e in c.search_experiments(max_results=1000)} == {exps[1], exps[3]}
        assert c.search_experiments(filter_string=f"name = '{c.get_experiment(exps[1]).name}'")[0].experiment_id == exps[1]
        with as_user("alice"):
            hidden = c.get_experiment(exps[2]).name
        assert c.search_experiments(filter_string=f"name = '{hidden}'") == []
        refused(lambda: c.get_experiment_by_name(hidden))

        seen, pages = _pages(lambda t: c.search_registered_models(max_results=1, page_token=t))
        assert sorted(m.name for m in seen) == sorted([models[1], models[3]])
        assert pages == 2
        assert c.search_registered_models(filter_string=f"name = '{models[2]}'") == []
        assert {m.name for m in c.search_registered_models(filter_string="name LIKE 'leakmodel%'")} == {models[1], models[3]}

        seen, pages = _pages(lambda t: c.search_model_versions(max_results=1, page_token=t))
        assert sorted((v.name, v.version) for v in seen) == sorted(
            [(models[1], "1"), (models[1], "2"), (models[3], "1"), (models[3], "2")])
        assert pages == 4
        assert c.search_model_versions(filter_string=f"name = '{models[0]}'") == []
        refused(lambda: c.search_runs([exps[0]]))
        refused(lambda: c.search_runs([exps[1], exps[2]]))
        assert c.search_runs([exps[1]]) == []
    with as_user("bob"):  # granted nothing of these
        assert {e.experiment_id for e in c.search_experiments(max_results=1000)}.isdisjoint(exps)
        assert {m.name for m in c.search_registered_models(max_results=1000)}.isdisjoint(models)
        assert {v.name for v in c.search_model_versions(max_results=1000)}.isdisjoint(models)


def test_default_role_viewer_reads_everything_and_writes_nothing(lenient):
    c = lenient.client()
    with as_user("alice"):
        exp = c.create_experiment(_name("open"))
        run = c.create_run(exp).info.run_id
        c.log_metric(run, "m", 1.0)
        model = _name("open-model")
        c.create_registered_model(model)
    with as_user("eve"):
        assert c.get_run(run).data.metrics == {"m": 1.0}
        assert exp in {e.experiment_id for e in c.search_experiments(max_results=1000)}
        assert model in {m.name for m in c.search_registered_models(max_results=1000)}
        refused(lambda: c.log_metric(run, "m", 2.0))
        refused(lambda: c.create_experiment(_name("eve")))
        refused(lambda: c.set_registered_model_tag(model, "k", "v"))
