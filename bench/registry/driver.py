#!/usr/bin/env python3
"""Helper for bench/registry/run.sh: registry population, wrk path lists, result checks.

Process control (launch, free-port, wait-gone, wait-quiet, rss) and wrk result parsing
are bench/tracking/driver.py's; this file only adds what the registry benchmark needs.
All traffic goes to 127.0.0.1. Every loop is bounded by a count and/or a deadline.

Population (per server):
  - one experiment "bench-registry" and one run in it; a small MLmodel file uploaded to the
    run's artifacts through the artifact proxy (PUT /api/2.0/mlflow-artifacts/artifacts/...),
  - M registered models named model-<i:05d>-<tag>, tag cycling through TAGS (so
    `name LIKE '%abc%'` matches exactly 1 model in 10),
  - V versions per model, each source=<run artifact_uri>/model, run_id=<the run>,
  - alias "champion" on the last version of every model.
Models are populated in parallel (one worker thread per model at a time, versions of a
model are created in order, since the server numbers them).
"""
import argparse
import json
import os
import random
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor, as_completed

import requests

HOST = "127.0.0.1"
API = "/api/2.0/mlflow"
TAGS = ["abc", "def", "ghi", "jkl", "mno", "pqr", "stu", "vwx", "yza", "bcd"]
ALIAS = "champion"
MLMODEL = """artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    python_version: 3.11.7
  sklearn:
    pickled_model: model.pkl
    serialization_format: cloudpickle
    sklearn_version: 1.5.0
mlflow_version: 3.17.2
model_uuid: 0f1e2d3c4b5a69788796a5b4c3d2e1f0
utc_time_created: '2026-11-27 00:00:00.000000'
"""


def model_name(i):
    return f"model-{i:05d}-{TAGS[i % len(TAGS)]}"


_tls = threading.local()


def session():
    s = getattr(_tls, "s", None)
    if s is None:
        s = requests.Session()
        _tls.s = s
    return s


class HttpError(RuntimeError):
    pass


def call(port, method, path, body=None, params=None, data=None, ok=(200,), timeout=120):
    url = f"http://{HOST}:{port}{path}"
    last = None
    for attempt in range(3):  # retry only on connection-level failures
        try:
            if body is not None:
                r = session().request(method, url, json=body, params=params, timeout=timeout)
            else:
                r = session().request(method, url, params=params, data=data, timeout=timeout)
            break
        except requests.ConnectionError as e:
            last = e
            _tls.s = None
            time.sleep(0.2 * (attempt + 1))
    else:
        raise HttpError(f"{method} {path}: connection failed: {last}")
    if r.status_code not in ok:
        raise HttpError(f"{method} {path} -> HTTP {r.status_code}: {r.text[:300]!r}")
    return r


def jcall(port, method, path, body=None, params=None, ok=(200,)):
    r = call(port, method, path, body=body, params=params, ok=ok)
    return r.json() if r.content else {}


# --------------------------------------------------------------------------- populate
def cmd_populate(a):
    port = a.port
    t_all = time.perf_counter()
    timings = {}

    # source run + MLmodel through the artifact proxy
    r = call(port, "POST", f"{API}/experiments/create", {"name": "bench-registry"}, ok=(200, 400))
    if r.status_code == 200:
        exp_id = str(r.json()["experiment_id"])
    else:
        exp_id = str(jcall(port, "GET", f"{API}/experiments/get-by-name",
                           params={"experiment_name": "bench-registry"})["experiment"]["experiment_id"])
    info = jcall(port, "POST", f"{API}/runs/create",
                 {"experiment_id": exp_id, "start_time": int(time.time() * 1000)})["run"]["info"]
    run_id = info.get("run_id") or info["run_uuid"]
    artifact_uri = info["artifact_uri"]
    parsed = urllib.parse.urlparse(artifact_uri)
    if parsed.scheme != "mlflow-artifacts":
        raise SystemExit(f"run artifact_uri is not proxied (mlflow-artifacts:): {artifact_uri}")
    # mlflow-artifacts:/<exp>/<run>/artifacts (or mlflow-artifacts://host:port/<...>)
    rel = parsed.path.lstrip("/")
    call(port, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{rel}/model/MLmodel",
         data=MLMODEL.encode(), ok=(200, 201, 204))
    source = artifact_uri.rstrip("/") + "/model"

    # registered models, versions, aliases: one model per task
    deadline = time.monotonic() + a.budget
    counts = {"models": 0, "versions": 0, "aliases": 0}
    lock = threading.Lock()

    def one(i):
        if time.monotonic() > deadline:
            raise TimeoutError(f"population budget of {a.budget} s exhausted")
        name = model_name(i)
        jcall(port, "POST", f"{API}/registered-models/create", {"name": name})
        last = None
        for v in range(a.versions):
            mv = jcall(port, "POST", f"{API}/model-versions/create",
                       {"name": name, "source": source, "run_id": run_id})["model_version"]
            last = str(mv["version"])
        jcall(port, "POST", f"{API}/registered-models/alias",
              {"name": name, "alias": ALIAS, "version": last})
        with lock:
            counts["models"] += 1
            counts["versions"] += a.versions
            counts["aliases"] += 1
        return last

    t = time.perf_counter()
    last_versions = set()
    errors = []
    with ThreadPoolExecutor(max_workers=a.threads) as ex:
        futs = [ex.submit(one, i) for i in range(a.models)]
        next_report = time.monotonic() + 30
        for f in as_completed(futs):
            if time.monotonic() >= next_report:
                next_report += 30
                el = time.perf_counter() - t
                print(f"  populate: {counts['models']}/{a.models} models after {el:.0f} s",
                      file=sys.stderr, flush=True)
            try:
                last_versions.add(f.result())
            except Exception as e:  # noqa: BLE001 - report the first few, fail below
                errors.append(str(e))
                if len(errors) == 1:
                    for g in futs:
                        g.cancel()
    dt = time.perf_counter() - t
    if errors:
        print(json.dumps({"error": errors[0], "errors": len(errors), **counts}), file=sys.stderr)
        raise SystemExit(1)
    reqs = counts["models"] + counts["versions"] + counts["aliases"]
    timings.update({"models": counts["models"], "versions_per_model": a.versions,
                    "versions": counts["versions"], "aliases": counts["aliases"],
                    "requests": reqs, "threads": a.threads,
                    "populate_s": round(dt, 2), "populate_req_per_s": round(reqs / dt, 1),
                    "total_s": round(time.perf_counter() - t_all, 2),
                    "last_versions": sorted(last_versions)})
    ids = {"experiment_id": exp_id, "run_id": run_id, "artifact_uri": artifact_uri,
           "source": source, "models": a.models, "versions": a.versions,
           "last_version": sorted(last_versions)[0] if len(last_versions) == 1 else None}
    with open(a.out, "w") as f:
        json.dump(ids, f)
    print(json.dumps(timings))


# --------------------------------------------------------------------------- wrk path lists
def q(s):
    return urllib.parse.quote(s, safe="")


def lookup_names(models, n, seed=7):
    rng = random.Random(seed)
    idx = list(range(models))
    rng.shuffle(idx)
    return [model_name(i) for i in idx[:max(1, min(n, models))]]


def paths_for(kind, models, versions, names, term, max_results):
    if kind == "alias":
        return [f"{API}/registered-models/alias?name={q(n)}&alias={ALIAS}" for n in names]
    if kind == "version":
        rng = random.Random(11)
        return [f"{API}/model-versions/get?name={q(n)}&version={rng.randint(1, versions)}"
                for n in names]
    if kind == "search_models":
        return [f"{API}/registered-models/search?filter={q(search_models_filter(term))}"
                f"&max_results={max_results}"]
    if kind == "search_versions":
        return [f"{API}/model-versions/search?filter={q(search_versions_filter(n))}" for n in names]
    raise ValueError(kind)


def search_models_filter(term):
    return f"name LIKE '%{term}%'"


def search_versions_filter(name):
    return f"name='{name}'"


def cmd_paths(a):
    names = lookup_names(a.models, a.names)
    for kind in ("alias", "version", "search_models", "search_versions"):
        ps = paths_for(kind, a.models, a.versions, names, a.term, a.max_results)
        with open(os.path.join(a.dir, f"paths_{kind}.txt"), "w") as f:
            f.write("\n".join(ps) + "\n")
    print(json.dumps({"names": len(names), "first": names[0]}))


# --------------------------------------------------------------------------- result checks
def cmd_check(a):
    """One request of each benchmarked kind; verify content; record response sizes."""
    with open(a.ids) as f:
        ids = json.load(f)
    port, V = a.port, ids["versions"]
    names = lookup_names(ids["models"], 3)
    out = {}

    def get(path):
        r = call(port, "GET", path, ok=(200, 400, 404, 500, 501))
        try:
            d = r.json()
        except ValueError:
            d = None
        get.last_text = r.text
        return r.status_code, d, len(r.content)

    # alias
    p = paths_for("alias", ids["models"], V, names, a.term, a.max_results)[0]
    st, d, nb = get(p)
    mv = (d or {}).get("model_version", {})
    out["alias"] = {"status": st, "bytes": nb, "ok": st == 200 and mv.get("name") == names[0]
                    and str(mv.get("version")) == str(V) and ALIAS in mv.get("aliases", [])
                    and mv.get("source") == ids["source"] and mv.get("run_id") == ids["run_id"]}
    alias_body = get.last_text
    # missing alias / missing model: recorded, the report compares them across servers
    # (MLflow 3.17.2: 400 INVALID_PARAMETER_VALUE for a missing alias of an existing model,
    # 404 RESOURCE_DOES_NOT_EXIST for a missing model)
    st, d, _ = get(f"{API}/registered-models/alias?name={q(names[0])}&alias=nope")
    out["alias_missing"] = {"status": st, "error_code": (d or {}).get("error_code")}
    st, d, _ = get(f"{API}/registered-models/alias?name=no-such-model&alias={ALIAS}")
    out["model_missing"] = {"status": st, "error_code": (d or {}).get("error_code")}
    # get version
    st, d, nb = get(f"{API}/model-versions/get?name={q(names[1])}&version=1")
    version_body = get.last_text
    mv = (d or {}).get("model_version", {})
    out["version"] = {"status": st, "bytes": nb, "ok": st == 200 and mv.get("name") == names[1]
                      and str(mv.get("version")) == "1" and mv.get("source") == ids["source"]}
    # search registered models, LIKE
    p = paths_for("search_models", ids["models"], V, names, a.term, a.max_results)[0]
    st, d, nb = get(p)
    sm_body = get.last_text
    rms = (d or {}).get("registered_models", [])
    got = [m.get("name") for m in rms]
    expected = sum(1 for i in range(ids["models"]) if a.term in model_name(i))
    want = min(expected, a.max_results)
    latest_ok = all(any(str(v.get("version")) == str(V) for v in m.get("latest_versions", []))
                    for m in rms)
    alias_ok = all(any(al.get("alias") == ALIAS and str(al.get("version")) == str(V)
                       for al in m.get("aliases", [])) for m in rms)
    out["search_models"] = {"status": st, "bytes": nb, "returned": len(rms), "expected": want,
                            "matches_total": expected,
                            "has_next_page_token": bool((d or {}).get("next_page_token")),
                            "all_match": all(a.term in (g or "") for g in got),
                            "sorted_by_name": got == sorted(got),
                            "latest_versions_ok": latest_ok, "aliases_ok": alias_ok}
    o = out["search_models"]
    o["ok"] = (st == 200 and o["returned"] == want and o["all_match"] and o["sorted_by_name"]
               and latest_ok and alias_ok
               and (o["has_next_page_token"] or expected <= a.max_results))
    # search model versions, name = X
    p = paths_for("search_versions", ids["models"], V, names[2:], a.term, a.max_results)[0]
    st, d, nb = get(p)
    sv_body = get.last_text
    mvs = (d or {}).get("model_versions", [])
    vs = sorted(int(m.get("version", 0)) for m in mvs)
    out["search_versions"] = {"status": st, "bytes": nb, "returned": len(mvs), "expected": V,
                              "ok": st == 200 and vs == list(range(1, V + 1))
                              and all(m.get("name") == names[2] for m in mvs)}
    bodies = {"alias": alias_body, "version": version_body, "search_models": sm_body,
              "search_versions": sv_body}
    for k, b in bodies.items():
        if not out[k]["ok"]:
            out[k]["body"] = b[:400]
    out["all_ok"] = all(v.get("ok") for v in out.values() if isinstance(v, dict) and "ok" in v)
    print(json.dumps(out))


def cmd_registry_ready(a):
    """Exit 0 if GET registered-models/alias answers with MLflow-style JSON (any status)."""
    try:
        r = requests.get(f"http://{HOST}:{a.port}{API}/registered-models/alias",
                         params={"name": "x", "alias": "y"}, timeout=10)
        d = r.json()
        ok = isinstance(d, dict) and ("error_code" in d or "model_version" in d)
    except (requests.RequestException, ValueError):
        ok = False
    print(json.dumps({"registry_routes": ok}))
    sys.exit(0 if ok else 1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd_name", required=True)

    p = sub.add_parser("populate")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--models", type=int, required=True)
    p.add_argument("--versions", type=int, default=10)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--budget", type=float, default=3600.0)
    p.set_defaults(fn=cmd_populate)

    p = sub.add_parser("paths")
    p.add_argument("--dir", required=True)
    p.add_argument("--models", type=int, required=True)
    p.add_argument("--versions", type=int, default=10)
    p.add_argument("--names", type=int, default=100)
    p.add_argument("--term", default="abc")
    p.add_argument("--max-results", type=int, default=100)
    p.set_defaults(fn=cmd_paths)

    p = sub.add_parser("check")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ids", required=True)
    p.add_argument("--term", default="abc")
    p.add_argument("--max-results", type=int, default=100)
    p.set_defaults(fn=cmd_check)

    p = sub.add_parser("registry-ready")
    p.add_argument("--port", type=int, required=True)
    p.set_defaults(fn=cmd_registry_ready)

    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
