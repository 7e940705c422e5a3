#!/usr/bin/env python3
"""Turns the Kubernetes JSON schemas shipped in the PyPI package
kubernetes-validate into a directory kubeconform reads offline.

The package's strict schemas name themselves https://kubernetes.io/api/...
($id) and point at "/api/_definitions.json", so a validator resolving them
would go to the network. Dropping the $id and making every reference relative
to the file keeps resolution inside OUT_DIR/v<version>/, whose file names
(deployment-apps-v1.json, service-v1.json) are kubeconform's default
{{.ResourceKind}}{{.KindSuffix}}.json layout.

usage: kube_schemas.py OUT_DIR VERSION...   (e.g. third_party/kube-schemas 1.27.0 1.33.0)
"""
import json
import pathlib
import sys

import importlib.resources

REF_PREFIX = "/api/_definitions.json"


def rewrite(node):
    if isinstance(node, dict):
        node.pop("$id", None)
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(REF_PREFIX):
                value = "_definitions.json" + value[len(REF_PREFIX):]
            out[key] = rewrite(value)
        return out
    if isinstance(node, list):
        return [rewrite(v) for v in node]
    return node


def convert(out_root: pathlib.Path, version: str) -> int:
    source = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{version}-local-strict"
    if not source.is_dir():
        sys.exit(f"kube_schemas: kubernetes-validate has no schemas for Kubernetes {version}")
    target = out_root / f"v{version}"
    tmp = out_root / f".v{version}.tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    count = 0
    for entry in source.iterdir():
        if not entry.name.endswith(".json") or entry.name == "all.json":
            continue
        schema = rewrite(json.loads(entry.read_text()))
        (tmp / entry.name).write_text(json.dumps(schema, separators=(",", ":")))
        count += 1
    if target.exists():
        for f in target.iterdir():
            f.unlink()
        target.rmdir()
    tmp.rename(target)
    return count


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_root = pathlib.Path(sys.argv[1])
    for version in sys.argv[2:]:
        n = convert(out_root, version)
        print(f"kube_schemas: {n} schemas for Kubernetes {version} in {out_root}/v{version}")


if __name__ == "__main__":
    main()
