"""The contract between the Terraform module (deploy/terraform/aws) and the
Helm chart (deploy/helm/kiln): /work/notes/deploy_contract.md's table, kept
here as data and checked on both sides.

  * outputs.tf declares every output of the table;
  * the module's `helm_values` output carries each of them at its chart
    values path, as the same expression as the named output;
  * the chart's values.yaml has every path (empty by default) and
    values.schema.json describes it;
  * the values Terraform would output, computed from the module's
    expressions with the variables' defaults and sample AWS attributes, pass
    the chart's schema patterns, and `helm template` with them renders the
    ServiceAccount the IRSA trust admits and the settings kiln reads.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import hcl2
import pytest
import yaml
from hcl2.utils import SerializationOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR = REPO_ROOT / "deploy" / "terraform" / "aws"
CHART_DIR = REPO_ROOT / "deploy" / "helm" / "kiln"
HELM = REPO_ROOT / "third_party" / "go-tools" / "bin" / "helm"
HCL_OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)

# Terraform output -> Helm values path (the contract's table).
CONTRACT = [
    ("database_uri", 'database.uri'),
    ("artifacts_uri", 'artifacts.uri'),
    ("aws_region", 'artifacts.region'),
    ("redis_uri", 'onlineStore.uri'),
    ("kiln_irsa_role_arn", 'serviceAccount.annotations["eks.amazonaws.com/role-arn"]'),
]
# Secrets: the module names Secrets Manager ARNs; the chart takes Kubernetes
# Secret references (the bridge in between is deploy/README.md's).
SECRET_CONTRACT = [
    ("database_password_secret_arn", ["database.passwordSecret.name", "database.passwordSecret.key"]),
    ("redis_auth_secret_arn", ["onlineStore.passwordSecret.name", "onlineStore.passwordSecret.key"]),
]
# Further outputs the contract names ("..., cluster_name, ...").
OTHER_OUTPUTS = ["cluster_name"]

# What AWS would report for the attributes the chart-facing outputs read.
SAMPLE_ATTRIBUTES = {
    "aws_db_instance.this.address": "kiln.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com",
    "aws_db_instance.this.port": 5432,
    "local.artifact_bucket.id": "kiln-artifacts-123456789012-eu-west-1",
    "local.region": "eu-west-1",
    "aws_elasticache_replication_group.this.primary_endpoint_address": "master.kiln.abc123.euw1.cache.amazonaws.com",
    "aws_elasticache_replication_group.this.port": 6379,
    "aws_iam_role.kiln.arn": "arn:aws:iam::123456789012:role/kiln-kiln",
}


def split_path(path: str) -> list[str]:
    """'a.b["x.y/z"]' -> ['a', 'b', 'x.y/z']."""
    m = re.fullmatch(r'([\w.]+)(?:\["([^"]+)"\])?', path)
    assert m, path
    return m.group(1).split(".") + ([m.group(2)] if m.group(2) else [])


def is_map_key(path: str) -> bool:
    return path.endswith('"]')


def parse_dir(directory: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in sorted(directory.glob("*.tf")):
        with f.open() as fh:
            for kind, blocks in hcl2.load(fh, serialization_options=HCL_OPTIONS).items():
                out.setdefault(kind, []).extend(blocks)
    return out


@pytest.fixture(scope="module")
def module() -> dict:
    return parse_dir(MODULE_DIR)


@pytest.fixture(scope="module")
def outputs(module) -> dict[str, dict]:
    return {name: body for block in module["output"] for name, body in block.items()}


@pytest.fixture(scope="module")
def variables(module) -> dict[str, dict]:
    return {name: body for block in module["variable"] for name, body in block.items()}


@pytest.fixture(scope="module")
def locals_(module) -> dict[str, str]:
    return {k: v for block in module.get("locals", []) for k, v in block.items()}


def chart_file(name: str) -> Path:
    path = CHART_DIR / name
    assert path.is_file(), f"{path} does not exist yet (the Helm chart is written by the Helm side of the contract)"
    return path


@pytest.fixture(scope="module")
def chart_values() -> dict:
    return yaml.safe_load(chart_file("values.yaml").read_text())


@pytest.fixture(scope="module")
def chart_schema() -> dict:
    return json.loads(chart_file("values.schema.json").read_text())


def dig(tree, segments: list[str]):
    node = tree
    for s in segments:
        assert isinstance(node, dict) and s in node, f"no {s!r} in {'.'.join(segments)}"
        node = node[s]
    return node


# ---------------------------------------------------------- Terraform side ---

def test_outputs_tf_declares_every_contract_output(outputs):
    wanted = [o for o, _ in CONTRACT] + [o for o, _ in SECRET_CONTRACT] + OTHER_OUTPUTS
    missing = [o for o in wanted if o not in outputs]
    assert not missing, f"outputs.tf lacks {missing}"
    for o in wanted:
        assert outputs[o].get("description"), o
        assert outputs[o].get("sensitive") is not True, f"{o} is a chart value, not a secret"
    for o, _ in SECRET_CONTRACT:
        assert re.fullmatch(r"\$\{aws_secretsmanager_secret\.\w+\.arn\}", outputs[o]["value"]), outputs[o]["value"]


def test_helm_values_output_carries_each_contract_output(outputs):
    helm_values = outputs["helm_values"]["value"]
    for output, path in CONTRACT:
        leaf = dig(helm_values, split_path(path))
        assert leaf == outputs[output]["value"], f"helm_values.{path} is {leaf}, output {output} is {outputs[output]['value']}"


# A small evaluator for the expressions the chart-facing outputs use, so the
# test sees the values `terraform output` would print. Anything else is
# refused, so a new kind of expression makes this test be extended.
def evaluate(expr, variables: dict, locals_: dict):
    if isinstance(expr, dict):
        return {k: evaluate(v, variables, locals_) for k, v in expr.items()}
    if not isinstance(expr, str):
        return expr

    def ref(name: str):
        if name in SAMPLE_ATTRIBUTES:
            return SAMPLE_ATTRIBUTES[name]
        if name.startswith("var."):
            return variables[name[4:]]["default"]
        if name.startswith("local.") and name[6:] in locals_:
            return evaluate(locals_[name[6:]], variables, locals_)
        raise AssertionError(f"no sample value for {name}")

    whole = re.fullmatch(r"\$\{([\w.\[\]]+)\}", expr)
    if whole:
        return ref(whole.group(1))
    fmt = re.fullmatch(r'\$\{format\("((?:[^"\\]|\\.)*)", (.*)\)\}', expr)
    if fmt:
        args = [ref(a.strip()) for a in fmt.group(2).split(",")]
        return fmt.group(1) % tuple(args)  # %s/%d mean the same in Terraform's format
    assert "${" not in re.sub(r"\$\{[\w.\[\]]+\}", "", expr), f"cannot evaluate {expr}"
    return re.sub(r"\$\{([\w.\[\]]+)\}", lambda m: str(ref(m.group(1))), expr)


@pytest.fixture(scope="module")
def sample_helm_values(outputs, variables, locals_) -> dict:
    return evaluate(outputs["helm_values"]["value"], variables, locals_)


def test_sample_outputs_have_the_contract_shapes(outputs, variables, locals_):
    shapes = {
        "database_uri": r"postgresql://[a-z_]\w*@[\w.-]+:5432/\w+\?sslmode=require",  # no password
        "artifacts_uri": r"s3://[a-z0-9.-]+/[\w./-]+",
        "aws_region": r"[a-z]{2}(-[a-z]+)+-\d",
        "redis_uri": r"rediss://[\w.-]+:6379",
        "kiln_irsa_role_arn": r"arn:aws:iam::\d{12}:role/[\w+=,.@-]+",
    }
    for output, shape in shapes.items():
        value = evaluate(outputs[output]["value"], variables, locals_)
        assert re.fullmatch(shape, str(value)), f"{output} = {value!r}"


# --------------------------------------------------------------- Helm side ---

def test_values_yaml_has_every_path_with_an_empty_default(chart_values):
    for _, path in CONTRACT:
        segments = split_path(path)
        if is_map_key(path):
            parent = dig(chart_values, segments[:-1])
            assert isinstance(parent, dict), f"{'.'.join(segments[:-1])} is not a map in values.yaml"
            assert parent.get(segments[-1]) in (None, ""), f"{path} has a non-empty default"
        else:
            assert dig(chart_values, segments) in ("", None), f"{path} has a non-empty default"
    for _, paths in SECRET_CONTRACT:
        for path in paths:
            assert isinstance(dig(chart_values, split_path(path)), str), path
        assert dig(chart_values, split_path(paths[0])) == "", f"{paths[0]} must default to no Secret"


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"non-local $ref {ref}"
        target = schema
        for part in ref[2:].split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def schema_for(schema: dict, path: str) -> dict:
    node = resolve(schema, schema)
    segments = split_path(path)
    for i, s in enumerate(segments):
        props = node.get("properties", {})
        if s in props:
            node = resolve(schema, props[s])
            continue
        extra = node.get("additionalProperties")
        assert is_map_key(path) and i == len(segments) - 1 and isinstance(extra, dict), (
            f"values.schema.json does not describe {path} (stops at {s!r})")
        node = resolve(schema, extra)
    return node


def allows_string(node: dict) -> bool:
    t = node.get("type")
    return t == "string" or (isinstance(t, list) and "string" in t)


def test_values_schema_describes_every_path(chart_schema):
    for output, path in CONTRACT:
        node = schema_for(chart_schema, path)
        assert allows_string(node), f"schema of {path} does not take a string (output {output})"
    for _, paths in SECRET_CONTRACT:
        for path in paths:
            assert allows_string(schema_for(chart_schema, path)), path


def test_sample_terraform_values_pass_the_chart_schema(chart_schema, sample_helm_values):
    for output, path in CONTRACT:
        value = dig(sample_helm_values, split_path(path))
        node = schema_for(chart_schema, path)
        if "pattern" in node:
            assert re.search(node["pattern"], value), f"{output} = {value!r} fails {path}'s pattern {node['pattern']}"
        assert not node.get("enum") or value in node["enum"]
    name = dig(sample_helm_values, ["serviceAccount", "name"])
    assert allows_string(schema_for(chart_schema, "serviceAccount.name")) and name


def test_helm_renders_the_terraform_values(tmp_path, sample_helm_values, variables):
    """`terraform output -json helm_values` as a values file, over the chart's production example."""
    assert os.access(HELM, os.X_OK), f"{HELM} is missing: run scripts/setup.sh (it builds helm)"
    aws_values = tmp_path / "aws-values.json"
    aws_values.write_text(json.dumps(sample_helm_values))
    namespace = variables["kiln_namespace"]["default"]
    # The Kubernetes version the module's cluster runs.
    kube_version = variables["kubernetes_version"]["default"]
    r = subprocess.run([str(HELM), "template", "kiln", str(CHART_DIR), "--namespace", namespace,
                        "--kube-version", kube_version,
                        "-f", str(chart_file("ci/production-values.yaml")), "-f", str(aws_values)],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "HELM_CACHE_HOME": str(tmp_path / "cache"),
                            "HELM_CONFIG_HOME": str(tmp_path / "config"), "HELM_DATA_HOME": str(tmp_path / "data")})
    assert r.returncode == 0, r.stderr
    docs = [d for d in yaml.safe_load_all(r.stdout) if d]
    accounts = [d for d in docs if d["kind"] == "ServiceAccount"]
    assert len(accounts) == 1
    sa = accounts[0]["metadata"]
    # The identity the IRSA trust admits: system:serviceaccount:NAMESPACE:NAME.
    assert sa["name"] == variables["kiln_service_account"]["default"]
    assert sa.get("namespace", namespace) == namespace
    assert sa["annotations"]["eks.amazonaws.com/role-arn"] == SAMPLE_ATTRIBUTES["aws_iam_role.kiln.arn"]
    pods = [d for d in docs if d["kind"] == "Deployment"]
    assert pods and all(d["spec"]["template"]["spec"]["serviceAccountName"] == sa["name"] for d in pods)
    rendered = r.stdout
    for output, path in CONTRACT[:4]:
        value = dig(sample_helm_values, split_path(path))
        assert value in rendered, f"{output} ({value}) is not in the rendered manifests"
