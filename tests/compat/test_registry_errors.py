"""Model-registry error paths over raw HTTP, statuses/codes measured on `mlflow server` 3.17.2.

After every error the server must still answer and the baseline registered
model (tags, description, versions, stages, aliases, version tags) must be
intact (`reg` fixture + `assert_intact`).

MLflow behaviours worth knowing (all encoded below):
* get-by-alias of an alias that does not exist is 400 INVALID_PARAMETER_VALUE,
  not 404; deleting an alias that does not exist is 200 (no-op), as is deleting
  a tag that does not exist.
* Setting an alias on a model that does not exist reports the *version* as
  missing: 404 RESOURCE_DOES_NOT_EXIST.
* Registry tag values may be up to 100,000 characters (keys 250); aliases 255.
* Version strings are parsed as integers: "abc" / "1.5" are 400, a JSON number
  where a string is expected is 400 too (the client always sends strings).
* Malformed JSON is parsed as an empty message, so it is reported as the first
  missing required field: 400 INVALID_PARAMETER_VALUE.
* A version source inside a run's artifact root needs that run's id (and no
  `..`); a plain local path is refused.

Deliberately NOT tested because the reference server answers something kiln
should not copy: registered-models/search with max_results 0 or negative
(MLflow answers 200 with a bogus page token), a duplicated order_by key (500),
transition-stage with archive_existing_versions=true to None/Archived (500),
and order_by `creation_timestamp` for registered models (MLflow's SQL store
rejects it although its own search utilities list it).
"""

from __future__ import annotations

import uuid

import pytest

from conftest import error_of
from test_registry import logged  # noqa: F401  (fixture: tiny real models, logged once per server)

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

JSON = {"Content-Type": "application/json"}
MISSING = "no-such-model-zz9"
MISSING_RUN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def reg(api, logged, unique):  # noqa: F811
    """A registered model with known state, checked after each error:
    tags {team: core}, description, versions 1 (Staging, tag k=v, alias
    champion) and 2 (Production), and a second, empty model `other`."""
    m = logged
    # Versions come from the plain artifact copy (run-relative source), so these
    # many registrations do not pile onto the shared logged model's tags.
    src = {"source": m.copy_source, "run_id": m.copy_run_id}
    name = unique("rerr-base")
    other = unique("rerr-other")
    r = api.post("registered-models/create", {"name": name, "description": "baseline",
                                              "tags": [{"key": "team", "value": "core"}]})
    assert r.status_code == 200, r.text
    assert api.post("registered-models/create", {"name": other}).status_code == 200
    for _ in range(2):
        r = api.post("model-versions/create", {"name": name, **src})
        assert r.status_code == 200, r.text
    for v, stage in (("1", "Staging"), ("2", "Production")):
        r = api.post("model-versions/transition-stage", {"name": name, "version": v, "stage": stage,
                                                         "archive_existing_versions": False})
        assert r.status_code == 200, r.text
    assert api.post("model-versions/set-tag", {"name": name, "version": "1", "key": "k", "value": "v"}
                    ).status_code == 200
    assert api.post("registered-models/alias", {"name": name, "alias": "champion", "version": "1"}
                    ).status_code == 200
    return {"name": name, "other": other, "m": m, "src": src}


def _tags(obj):
    return {t["key"]: t["value"] for t in obj.get("tags", [])}


def assert_intact(api, b):
    name = b["name"]
    r = api.get("registered-models/get", {"name": name})
    assert r.status_code == 200, r.text
    rm = r.json()["registered_model"]
    assert rm["name"] == name
    assert rm.get("description") == "baseline"
    assert _tags(rm) == {"team": "core"}
    assert rm.get("aliases") == [{"alias": "champion", "version": "1"}]
    latest = sorted((v["version"], v["current_stage"]) for v in rm.get("latest_versions", []))
    assert latest == [("1", "Staging"), ("2", "Production")]
    r = api.get("model-versions/search", {"filter": f"name = '{name}'"})
    assert r.status_code == 200, r.text
    versions = {v["version"]: v for v in r.json().get("model_versions", [])}
    assert sorted(versions) == ["1", "2"]
    v1 = api.get("model-versions/get", {"name": name, "version": "1"}).json()["model_version"]
    assert v1["current_stage"] == "Staging" and _tags(v1) == {"k": "v"} and v1.get("aliases") == ["champion"]
    assert v1["source"] == b["src"]["source"] and v1["run_id"] == b["src"]["run_id"]
    v2 = api.get("model-versions/get", {"name": name, "version": "2"}).json()["model_version"]
    assert v2["current_stage"] == "Production" and not v2.get("aliases")
    r = api.get("registered-models/get", {"name": b["other"]})
    assert r.status_code == 200 and r.json()["registered_model"]["name"] == b["other"]


P, G, D, U = "POST", "GET", "DELETE", "PATCH"
IPV, RDNE, RAE = "INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "RESOURCE_ALREADY_EXISTS"


def _fresh():
    return "rerr-new-" + uuid.uuid4().hex[:10]


# (id, method, endpoint, kwargs builder(b), expected status, expected error_code)
CASES = [
    # --- registered models: unknown
    ("get-model-unknown", G, "registered-models/get", lambda b: {"params": {"name": MISSING}}, 404, RDNE),
    ("rename-model-unknown", P, "registered-models/rename",
     lambda b: {"json": {"name": MISSING, "new_name": _fresh()}}, 404, RDNE),
    ("delete-model-unknown", D, "registered-models/delete", lambda b: {"json": {"name": MISSING}}, 404, RDNE),
    ("update-model-unknown", U, "registered-models/update",
     lambda b: {"json": {"name": MISSING, "description": "d"}}, 404, RDNE),
    ("set-model-tag-unknown", P, "registered-models/set-tag",
     lambda b: {"json": {"name": MISSING, "key": "k", "value": "v"}}, 404, RDNE),
    ("delete-model-tag-unknown", D, "registered-models/delete-tag",
     lambda b: {"json": {"name": MISSING, "key": "k"}}, 404, RDNE),
    ("latest-versions-unknown-post", P, "registered-models/get-latest-versions",
     lambda b: {"json": {"name": MISSING}}, 404, RDNE),
    ("latest-versions-unknown-get", G, "registered-models/get-latest-versions",
     lambda b: {"params": {"name": MISSING}}, 404, RDNE),
    # --- registered models: duplicates / names
    ("create-model-duplicate", P, "registered-models/create", lambda b: {"json": {"name": b["name"]}}, 400, RAE),
    ("rename-to-existing", P, "registered-models/rename",
     lambda b: {"json": {"name": b["other"], "new_name": b["name"]}}, 400, RAE),
    ("create-model-empty-name", P, "registered-models/create", lambda b: {"json": {"name": ""}}, 400, IPV),
    ("create-model-no-name", P, "registered-models/create", lambda b: {"json": {}}, 400, IPV),
    ("create-model-blank-name", P, "registered-models/create", lambda b: {"json": {"name": "   "}}, 400, IPV),
    ("create-model-name-slash", P, "registered-models/create", lambda b: {"json": {"name": "a/b"}}, 400, IPV),
    ("create-model-name-colon", P, "registered-models/create", lambda b: {"json": {"name": "a:b"}}, 400, IPV),
    ("get-model-no-name", G, "registered-models/get", lambda b: {"params": {}}, 400, IPV),
    ("rename-empty-new-name", P, "registered-models/rename",
     lambda b: {"json": {"name": b["name"], "new_name": ""}}, 400, IPV),
    ("rename-no-new-name", P, "registered-models/rename", lambda b: {"json": {"name": b["name"]}}, 400, IPV),
    # --- malformed bodies / wrong types
    ("create-model-malformed-json", P, "registered-models/create",
     lambda b: {"data": '{"name": "rerr-x', "headers": JSON}, 400, IPV),
    ("create-model-empty-body", P, "registered-models/create", lambda b: {"data": "", "headers": JSON}, 400, IPV),
    ("create-version-malformed-json", P, "model-versions/create",
     lambda b: {"data": '{"name": "%s", "source": ' % b["name"], "headers": JSON}, 400, IPV),
    ("create-model-name-int", P, "registered-models/create", lambda b: {"json": {"name": 123}}, 400, IPV),
    ("create-model-tags-not-list", P, "registered-models/create",
     lambda b: {"json": {"name": _fresh(), "tags": "team=core"}}, 400, IPV),
    ("update-model-description-int", U, "registered-models/update",
     lambda b: {"json": {"name": b["name"], "description": 5}}, 400, IPV),
    ("set-model-tag-value-int", P, "registered-models/set-tag",
     lambda b: {"json": {"name": b["name"], "key": "team", "value": 5}}, 400, IPV),
    ("latest-versions-stages-not-list", P, "registered-models/get-latest-versions",
     lambda b: {"json": {"name": b["name"], "stages": "Production"}}, 400, IPV),
    ("latest-versions-bad-stage", P, "registered-models/get-latest-versions",
     lambda b: {"json": {"name": b["name"], "stages": ["Bogus"]}}, 400, IPV),
    ("transition-version-int", P, "model-versions/transition-stage",
     lambda b: {"json": {"name": b["name"], "version": 1, "stage": "Archived"}}, 400, IPV),
    ("transition-archive-flag-str", P, "model-versions/transition-stage",
     lambda b: {"json": {"name": b["name"], "version": "1", "stage": "Production",
                         "archive_existing_versions": "yes"}}, 400, IPV),
    ("set-alias-version-int", P, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "x", "version": 2}}, 400, IPV),
    # --- tag limits (key 250, value 100,000) and names
    ("create-model-tag-key-251", P, "registered-models/create",
     lambda b: {"json": {"name": _fresh(), "tags": [{"key": "k" * 251, "value": "v"}]}}, 400, IPV),
    ("create-model-tag-value-100001", P, "registered-models/create",
     lambda b: {"json": {"name": _fresh(), "tags": [{"key": "k", "value": "v" * 100_001}]}}, 400, IPV),
    ("set-model-tag-key-251", P, "registered-models/set-tag",
     lambda b: {"json": {"name": b["name"], "key": "k" * 251, "value": "v"}}, 400, IPV),
    ("set-model-tag-value-100001", P, "registered-models/set-tag",
     lambda b: {"json": {"name": b["name"], "key": "team", "value": "v" * 100_001}}, 400, IPV),
    ("set-model-tag-bad-key", P, "registered-models/set-tag",
     lambda b: {"json": {"name": b["name"], "key": "bad key!", "value": "v"}}, 400, IPV),
    ("set-version-tag-key-251", P, "model-versions/set-tag",
     lambda b: {"json": {"name": b["name"], "version": "1", "key": "k" * 251, "value": "v"}}, 400, IPV),
    ("set-version-tag-value-100001", P, "model-versions/set-tag",
     lambda b: {"json": {"name": b["name"], "version": "1", "key": "k", "value": "v" * 100_001}}, 400, IPV),
    ("set-version-tag-bad-key", P, "model-versions/set-tag",
     lambda b: {"json": {"name": b["name"], "version": "1", "key": "bad key!", "value": "v"}}, 400, IPV),
    ("set-version-tag-empty-key", P, "model-versions/set-tag",
     lambda b: {"json": {"name": b["name"], "version": "1", "key": "", "value": "v"}}, 400, IPV),
    ("create-version-tag-key-251", P, "model-versions/create",
     lambda b: {"json": {"name": b["name"], **b["src"], "tags": [{"key": "k" * 251, "value": "v"}]}}, 400, IPV),
    # --- aliases
    ("alias-latest-reserved", P, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "latest", "version": "2"}}, 400, IPV),
    ("alias-LATEST-reserved", P, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "LATEST", "version": "2"}}, 400, IPV),
    ("alias-v3-reserved", P, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "v3", "version": "2"}}, 400, IPV),
    ("alias-V12-reserved", P, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "V12", "version": "2"}}, 400, IPV),
    ("alias-bad-chars", P, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "bad alias!", "version": "2"}}, 400, IPV),
    ("alias-dot", P, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "a.b", "version": "2"}}, 400, IPV),
    ("alias-256-chars", P, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "a" * 256, "version": "2"}}, 400, IPV),
    ("alias-empty", P, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "", "version": "2"}}, 400, IPV),
    ("alias-missing-version", P, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "ok", "version": "99"}}, 404, RDNE),
    ("alias-non-integer-version", P, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "ok", "version": "two"}}, 400, IPV),
    ("alias-unknown-model", P, "registered-models/alias",
     lambda b: {"json": {"name": MISSING, "alias": "ok", "version": "1"}}, 404, RDNE),
    ("get-alias-missing", G, "registered-models/alias",
     lambda b: {"params": {"name": b["name"], "alias": "nosuch"}}, 400, IPV),
    ("get-alias-unknown-model", G, "registered-models/alias",
     lambda b: {"params": {"name": MISSING, "alias": "champion"}}, 404, RDNE),
    ("delete-alias-unknown-model", D, "registered-models/alias",
     lambda b: {"json": {"name": MISSING, "alias": "champion"}}, 404, RDNE),
    ("delete-alias-bad-chars", D, "registered-models/alias",
     lambda b: {"json": {"name": b["name"], "alias": "bad alias!"}}, 400, IPV),
    # --- stages
    ("transition-bad-stage", P, "model-versions/transition-stage",
     lambda b: {"json": {"name": b["name"], "version": "2", "stage": "Bogus"}}, 400, IPV),
    ("transition-no-stage", P, "model-versions/transition-stage",
     lambda b: {"json": {"name": b["name"], "version": "2"}}, 400, IPV),
    ("transition-unknown-version", P, "model-versions/transition-stage",
     lambda b: {"json": {"name": b["name"], "version": "99", "stage": "Staging"}}, 404, RDNE),
    ("transition-unknown-model", P, "model-versions/transition-stage",
     lambda b: {"json": {"name": MISSING, "version": "1", "stage": "Staging"}}, 404, RDNE),
    # --- versions
    ("get-version-unknown", G, "model-versions/get", lambda b: {"params": {"name": b["name"], "version": "99"}},
     404, RDNE),
    ("get-version-unknown-model", G, "model-versions/get", lambda b: {"params": {"name": MISSING, "version": "1"}},
     404, RDNE),
    ("get-version-non-integer", G, "model-versions/get",
     lambda b: {"params": {"name": b["name"], "version": "abc"}}, 400, IPV),
    ("get-version-float", G, "model-versions/get", lambda b: {"params": {"name": b["name"], "version": "1.5"}},
     400, IPV),
    ("get-version-missing-version", G, "model-versions/get", lambda b: {"params": {"name": b["name"]}}, 400, IPV),
    ("update-version-unknown", U, "model-versions/update",
     lambda b: {"json": {"name": b["name"], "version": "99", "description": "d"}}, 404, RDNE),
    ("delete-version-unknown", D, "model-versions/delete", lambda b: {"json": {"name": b["name"], "version": "99"}},
     404, RDNE),
    ("delete-version-non-integer", D, "model-versions/delete",
     lambda b: {"json": {"name": b["name"], "version": "abc"}}, 400, IPV),
    ("set-version-tag-unknown-version", P, "model-versions/set-tag",
     lambda b: {"json": {"name": b["name"], "version": "99", "key": "k", "value": "v"}}, 404, RDNE),
    ("delete-version-tag-unknown-version", D, "model-versions/delete-tag",
     lambda b: {"json": {"name": b["name"], "version": "99", "key": "k"}}, 404, RDNE),
    ("download-uri-unknown-version", G, "model-versions/get-download-uri",
     lambda b: {"params": {"name": b["name"], "version": "99"}}, 404, RDNE),
    ("download-uri-unknown-model", G, "model-versions/get-download-uri",
     lambda b: {"params": {"name": MISSING, "version": "1"}}, 404, RDNE),
    ("create-version-unknown-model", P, "model-versions/create",
     lambda b: {"json": {"name": MISSING, **b["src"]}}, 404, RDNE),
    ("create-version-no-source", P, "model-versions/create", lambda b: {"json": {"name": b["name"]}}, 400, IPV),
    ("create-version-empty-source", P, "model-versions/create",
     lambda b: {"json": {"name": b["name"], "source": ""}}, 400, IPV),
    # --- version sources (what may be copied into the registry)
    ("create-version-run-artifacts-without-run-id", P, "model-versions/create",
     lambda b: {"json": {"name": b["name"], "source": b["m"].copy_source}}, 400, IPV),
    ("create-version-run-artifacts-wrong-run", P, "model-versions/create",
     lambda b: {"json": {"name": b["name"], "source": b["m"].copy_source, "run_id": b["m"].run_id}}, 400, IPV),
    ("create-version-run-artifacts-unknown-run", P, "model-versions/create",
     lambda b: {"json": {"name": b["name"], "source": b["m"].copy_source, "run_id": MISSING_RUN}}, 400, IPV),
    ("create-version-source-dotdot", P, "model-versions/create",
     lambda b: {"json": {"name": b["name"], "source": b["m"].copy_source + "/../../../..",
                         "run_id": b["m"].copy_run_id}}, 400, IPV),
    ("create-version-local-path", P, "model-versions/create",
     lambda b: {"json": {"name": b["name"], "source": "/etc"}}, 400, IPV),
    ("create-version-runs-uri-without-run-id", P, "model-versions/create",
     lambda b: {"json": {"name": b["name"], "source": f"runs:/{b['m'].run_id}/xgb"}}, 400, IPV),
    # --- search registered models
    ("search-models-max-results-1001", G, "registered-models/search", lambda b: {"params": {"max_results": 1001}},
     400, IPV),
    ("search-models-max-results-str", G, "registered-models/search", lambda b: {"params": {"max_results": "ten"}},
     400, IPV),
    ("search-models-filter-dangling", G, "registered-models/search", lambda b: {"params": {"filter": "name = "}},
     400, IPV),
    ("search-models-filter-double-eq", G, "registered-models/search",
     lambda b: {"params": {"filter": "name == 'x'"}}, 400, IPV),
    ("search-models-filter-unknown-attr", G, "registered-models/search",
     lambda b: {"params": {"filter": "owner = 'x'"}}, 400, IPV),
    ("search-models-filter-or", G, "registered-models/search",
     lambda b: {"params": {"filter": "name = 'a' OR name = 'b'"}}, 400, IPV),
    ("search-models-filter-name-gt", G, "registered-models/search", lambda b: {"params": {"filter": "name > 'a'"}},
     400, IPV),
    ("search-models-filter-tag-unquoted", G, "registered-models/search",
     lambda b: {"params": {"filter": "tags.team = core"}}, 400, IPV),
    ("search-models-order-by-unknown", G, "registered-models/search", lambda b: {"params": {"order_by": "owner ASC"}},
     400, IPV),
    ("search-models-order-by-bad-direction", G, "registered-models/search",
     lambda b: {"params": {"order_by": "name SIDEWAYS"}}, 400, IPV),
    ("search-models-bad-page-token", G, "registered-models/search", lambda b: {"params": {"page_token": "garbage!!"}},
     400, IPV),
    # --- search model versions
    ("search-versions-max-results-0", G, "model-versions/search", lambda b: {"params": {"max_results": 0}},
     400, IPV),
    ("search-versions-max-results-200001", G, "model-versions/search",
     lambda b: {"params": {"max_results": 200_001}}, 400, IPV),
    ("search-versions-filter-unknown-attr", G, "model-versions/search",
     lambda b: {"params": {"filter": "owner = 'x'"}}, 400, IPV),
    ("search-versions-filter-or", G, "model-versions/search",
     lambda b: {"params": {"filter": "name = 'a' OR name = 'b'"}}, 400, IPV),
    ("search-versions-version-not-number", G, "model-versions/search",
     lambda b: {"params": {"filter": "version_number > 'a'"}}, 400, IPV),
    ("search-versions-version-float", G, "model-versions/search",
     lambda b: {"params": {"filter": "version_number > 1.5"}}, 400, IPV),
    ("search-versions-run-id-gt", G, "model-versions/search", lambda b: {"params": {"filter": "run_id > 'x'"}},
     400, IPV),
    ("search-versions-source-in", G, "model-versions/search",
     lambda b: {"params": {"filter": "source_path IN ('x')"}}, 400, IPV),
    ("search-versions-order-by-unknown", G, "model-versions/search",
     lambda b: {"params": {"order_by": "run_id ASC"}}, 400, IPV),
    ("search-versions-bad-page-token", G, "model-versions/search", lambda b: {"params": {"page_token": "garbage!!"}},
     400, IPV),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_registry_error_status_and_code(api, reg, case):
    _id, method, endpoint, build, status, code = case
    resp = api.s.request(method, f"{api.base}/api/2.0/mlflow/{endpoint}", timeout=60, **build(reg))
    assert error_of(resp) == (status, code), resp.text[:500]
    assert isinstance(resp.json().get("message"), str) and resp.json()["message"]
    assert_intact(api, reg)


def test_rejected_create_leaves_nothing_behind(api, reg):
    name = _fresh()
    r = api.post("registered-models/create", {"name": name, "tags": [{"key": "ok", "value": "1"},
                                                                     {"key": "k" * 251, "value": "v"}]})
    assert error_of(r) == (400, IPV)
    assert error_of(api.get("registered-models/get", {"name": name})) == (404, RDNE)
    # A rejected version (bad tag) does not consume a version number.
    r = api.post("model-versions/create", {"name": reg["name"], **reg["src"],
                                           "tags": [{"key": "bad key!", "value": "v"}]})
    assert error_of(r) == (400, IPV)
    assert_intact(api, reg)
    r = api.post("model-versions/create", {"name": reg["other"], **reg["src"]})
    assert r.status_code == 200 and r.json()["model_version"]["version"] == "1"


def test_noop_deletes_succeed(api, reg):
    # Deleting an alias or tag that is not there is not an error in MLflow.
    r = api.raw("DELETE", "/api/2.0/mlflow/registered-models/alias", json={"name": reg["name"], "alias": "nosuch"})
    assert r.status_code == 200 and r.json() == {}
    r = api.raw("DELETE", "/api/2.0/mlflow/registered-models/delete-tag", json={"name": reg["name"], "key": "nosuch"})
    assert r.status_code == 200 and r.json() == {}
    r = api.raw("DELETE", "/api/2.0/mlflow/model-versions/delete-tag",
                json={"name": reg["name"], "version": "1", "key": "nosuch"})
    assert r.status_code == 200 and r.json() == {}
    assert_intact(api, reg)


def test_tag_limits_are_inclusive(api, reg):
    other = reg["other"]
    r = api.post("registered-models/set-tag", {"name": other, "key": "k" * 250, "value": "v" * 100_000})
    assert r.status_code == 200, r.text[:300]
    r = api.post("model-versions/create", {"name": other, **reg["src"],
                                           "tags": [{"key": "t" * 250, "value": "w" * 100_000}]})
    assert r.status_code == 200, r.text[:300]
    version = r.json()["model_version"]["version"]
    r = api.post("registered-models/alias", {"name": other, "alias": "a" * 255, "version": version})
    assert r.status_code == 200, r.text[:300]
    rm = api.get("registered-models/get", {"name": other}).json()["registered_model"]
    assert _tags(rm) == {"k" * 250: "v" * 100_000}
    assert rm["aliases"] == [{"alias": "a" * 255, "version": version}]
    mv = api.get("model-versions/get", {"name": other, "version": version}).json()["model_version"]
    assert _tags(mv) == {"t" * 250: "w" * 100_000}
    assert_intact(api, reg)


def test_deleted_version_is_gone_everywhere(api, reg):
    name = reg["other"]
    src = reg["src"]
    for _ in range(2):
        assert api.post("model-versions/create", {"name": name, **src}).status_code == 200
    assert api.post("registered-models/alias", {"name": name, "alias": "gone", "version": "2"}).status_code == 200
    r = api.raw("DELETE", "/api/2.0/mlflow/model-versions/delete", json={"name": name, "version": "2"})
    assert r.status_code == 200 and r.json() == {}
    for method, endpoint, kw in [
        (G, "model-versions/get", {"params": {"name": name, "version": "2"}}),
        (D, "model-versions/delete", {"json": {"name": name, "version": "2"}}),
        (P, "model-versions/set-tag", {"json": {"name": name, "version": "2", "key": "k", "value": "v"}}),
        (P, "model-versions/transition-stage", {"json": {"name": name, "version": "2", "stage": "Staging"}}),
        (P, "registered-models/alias", {"json": {"name": name, "alias": "again", "version": "2"}}),
        (U, "model-versions/update", {"json": {"name": name, "version": "2", "description": "d"}}),
        (G, "model-versions/get-download-uri", {"params": {"name": name, "version": "2"}}),
    ]:
        r = api.s.request(method, f"{api.base}/api/2.0/mlflow/{endpoint}", timeout=60, **kw)
        assert error_of(r) == (404, RDNE), (endpoint, r.text[:300])
    # The alias that pointed at it is gone: looking it up is MLflow's 400.
    assert error_of(api.get("registered-models/alias", {"name": name, "alias": "gone"})) == (400, IPV)
    rm = api.get("registered-models/get", {"name": name}).json()["registered_model"]
    assert not rm.get("aliases")
    assert [v["version"] for v in rm["latest_versions"]] == ["1"]
    assert_intact(api, reg)


def test_versions_of_deleted_model(api, reg):
    name = _fresh()
    src = reg["src"]
    assert api.post("registered-models/create", {"name": name}).status_code == 200
    assert api.post("model-versions/create", {"name": name, **src}).status_code == 200
    assert api.post("registered-models/alias", {"name": name, "alias": "champion", "version": "1"}).status_code == 200
    r = api.raw("DELETE", "/api/2.0/mlflow/registered-models/delete", json={"name": name})
    assert r.status_code == 200 and r.json() == {}
    for method, endpoint, kw in [
        (G, "registered-models/get", {"params": {"name": name}}),
        (G, "model-versions/get", {"params": {"name": name, "version": "1"}}),
        (P, "model-versions/create", {"json": {"name": name, **src}}),
        (P, "model-versions/transition-stage", {"json": {"name": name, "version": "1", "stage": "Staging"}}),
        (G, "registered-models/alias", {"params": {"name": name, "alias": "champion"}}),
        (G, "model-versions/get-download-uri", {"params": {"name": name, "version": "1"}}),
        (D, "registered-models/delete", {"json": {"name": name}}),
        (P, "registered-models/get-latest-versions", {"json": {"name": name}}),
    ]:
        r = api.s.request(method, f"{api.base}/api/2.0/mlflow/{endpoint}", timeout=60, **kw)
        assert error_of(r) == (404, RDNE), (endpoint, r.text[:300])
    r = api.get("model-versions/search", {"filter": f"name = '{name}'"})
    assert r.status_code == 200 and r.json().get("model_versions", []) == []
    assert_intact(api, reg)


def test_rename_conflict_keeps_both_models(api, reg):
    src = reg["src"]
    assert api.post("model-versions/create", {"name": reg["other"], **src}).status_code == 200
    r = api.post("registered-models/rename", {"name": reg["other"], "new_name": reg["name"]})
    assert error_of(r) == (400, RAE)
    # Both names still resolve to their own versions.
    assert_intact(api, reg)
    r = api.get("model-versions/search", {"filter": f"name = '{reg['other']}'"})
    assert [v["version"] for v in r.json()["model_versions"]] == ["1"]
    # Renaming to a free name still works afterwards.
    new = _fresh()
    r = api.post("registered-models/rename", {"name": reg["other"], "new_name": new})
    assert r.status_code == 200 and r.json()["registered_model"]["name"] == new
    r = api.get("model-versions/get", {"name": new, "version": "1"})
    assert r.status_code == 200 and r.json()["model_version"]["name"] == new
    assert error_of(api.get("registered-models/get", {"name": reg["other"]})) == (404, RDNE)
    reg["other"] = new
    assert_intact(api, reg)


def test_errors_do_not_break_keepalive_connection(api, reg):
    for i in range(10):
        bad = api.post("registered-models/alias", {"name": reg["name"], "alias": "latest", "version": "1"})
        assert error_of(bad) == (400, IPV)
        bad = api.get("model-versions/get", {"name": reg["name"], "version": "99"})
        assert error_of(bad) == (404, RDNE)
        good = api.post("model-versions/set-tag", {"name": reg["name"], "version": "2",
                                                   "key": "round", "value": str(i)})
        assert good.status_code == 200
    mv = api.get("model-versions/get", {"name": reg["name"], "version": "2"}).json()["model_version"]
    assert _tags(mv) == {"round": "9"}
