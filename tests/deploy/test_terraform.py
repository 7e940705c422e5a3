"""Checks of the Terraform module deploy/terraform/aws that run offline.

The AWS provider cannot be downloaded on this machine, so `terraform init`,
`validate` and `plan` cannot run. What stands in for them:
  * `tofu fmt -check` (OpenTofu built by scripts/setup.sh; a terraform that
    happens to be on PATH is not ours and is not used),
  * tflint with its bundled terraform ruleset and the module's .tflint.hcl,
    required to report zero issues (and shown to report a planted one),
  * a parse of every file with python-hcl2,
  * structural checks over the parsed HCL: the security properties the
    module promises and a reference check (every var./local./resource
    reference is declared, every argument the example passes is a variable)
    that catches the typos `validate` would.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest
from hcl2.utils import SerializationOptions

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE_DIR = REPO_ROOT / "deploy" / "terraform" / "aws"
EXAMPLE_DIR = MODULE_DIR / "examples" / "production"
TFLINT_CONFIG = MODULE_DIR / ".tflint.hcl"
GO_TOOLS = REPO_ROOT / "third_party" / "go-tools" / "bin"
TFLINT = GO_TOOLS / "tflint"
TOFU = GO_TOOLS / "tofu"

HCL_OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


def tool(path: Path) -> str:
    assert path.is_file() and os.access(path, os.X_OK), (
        f"{path} is missing: scripts/setup.sh builds it (its 'Terraform checks' block)")
    return str(path)


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def tf_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.tf"))


def parse(path: Path) -> dict:
    with path.open() as f:
        return hcl2.load(f, serialization_options=HCL_OPTIONS)


def merged(directory: Path) -> dict[str, list]:
    """All top-level blocks of a module directory, by block type."""
    out: dict[str, list] = {}
    for f in tf_files(directory):
        for kind, blocks in parse(f).items():
            out.setdefault(kind, []).extend(blocks if isinstance(blocks, list) else [blocks])
    return out


def named(module: dict, kind: str) -> dict[str, dict]:
    """variable/output/module blocks by name."""
    result = {}
    for block in module.get(kind, []):
        for name, body in block.items():
            assert name not in result, f"{kind} {name} declared twice"
            result[name] = body
    return result


def typed(module: dict, kind: str) -> dict[tuple[str, str], dict]:
    """resource/data blocks by (type, name)."""
    result = {}
    for block in module.get(kind, []):
        for rtype, by_name in block.items():
            for name, body in by_name.items():
                result[(rtype, name)] = body
    return result


def resources_of(module: dict, rtype: str) -> dict[str, dict]:
    return {name: body for (t, name), body in typed(module, "resource").items() if t == rtype}


def only(blocks):
    """A nested block parsed as a one-element list (or already a dict)."""
    if isinstance(blocks, list):
        assert len(blocks) == 1, blocks
        return blocks[0]
    return blocks


def refers(value, target: str) -> bool:
    """Whether an expression (string, or any nesting of lists/dicts) mentions target."""
    if isinstance(value, str):
        return re.search(r"(?<![\w.])" + re.escape(target) + r"(?![\w])", value) is not None
    if isinstance(value, dict):
        return any(refers(v, target) for v in value.values())
    if isinstance(value, list):
        return any(refers(v, target) for v in value)
    return False


@pytest.fixture(scope="module")
def module() -> dict:
    return merged(MODULE_DIR)


@pytest.fixture(scope="module")
def example() -> dict:
    return merged(EXAMPLE_DIR)


# ------------------------------------------------------------ formatting ---

def tofu_env(tmp_path: Path) -> dict[str, str]:
    # The developer's TF_* settings and CLI configuration stay out.
    rc = tmp_path / "tofurc"
    rc.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    return {**env, "TF_CLI_CONFIG_FILE": str(rc), "HOME": str(tmp_path)}


def test_tofu_fmt_check(tmp_path):
    r = run([tool(TOFU), "fmt", "-check", "-recursive", "-diff", str(MODULE_DIR)], env=tofu_env(tmp_path))
    assert r.returncode == 0, f"tofu fmt would rewrite:\n{r.stdout}{r.stderr}"


def test_tofu_fmt_check_notices_bad_formatting(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "bad.tf").write_text('variable "x" {\ntype=string\n}\n')
    r = run([tool(TOFU), "fmt", "-check", str(src)], env=tofu_env(tmp_path))
    assert r.returncode != 0 and "bad.tf" in r.stdout


# ---------------------------------------------------------------- tflint ---

def tflint(directory: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    # An empty plugin dir: only the ruleset compiled into tflint can load,
    # as offline (`tflint --init` cannot download anything here).
    plugins = tmp_path / "plugins"
    plugins.mkdir(exist_ok=True)
    env = {**os.environ, "TFLINT_PLUGIN_DIR": str(plugins), "HOME": str(tmp_path)}
    env.pop("TFLINT_LOG", None)
    return run([tool(TFLINT), f"--chdir={directory}", f"--config={TFLINT_CONFIG}", "--format=compact",
                "--no-color"], env=env)


@pytest.mark.parametrize("directory", [MODULE_DIR, EXAMPLE_DIR], ids=["module", "example"])
def test_tflint_reports_no_issue(directory, tmp_path):
    r = tflint(directory, tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "", f"tflint:\n{r.stdout}{r.stderr}"


def test_tflint_config_is_active(tmp_path):
    """The same run reports what the enabled rules forbid, so a silent pass above means something."""
    copy = tmp_path / "aws"
    shutil.copytree(MODULE_DIR, copy, ignore=shutil.ignore_patterns("examples", ".terraform*"))
    with (copy / "variables.tf").open("a") as f:
        f.write('\nvariable "planted" {\n  default = 1\n}\n')  # untyped, undocumented, unused
    r = tflint(copy, tmp_path)
    assert r.returncode != 0
    for rule in ("terraform_typed_variables", "terraform_documented_variables", "terraform_unused_declarations"):
        assert rule in r.stdout, f"{rule} did not fire:\n{r.stdout}{r.stderr}"


# ----------------------------------------------------------------- parse ---

def test_every_file_parses():
    files = sorted(MODULE_DIR.rglob("*.tf")) + [TFLINT_CONFIG]
    expected = {"main.tf", "versions.tf", "variables.tf", "outputs.tf", "vpc.tf", "eks.tf", "rds.tf", "s3.tf",
                "redis.tf", "iam.tf"}
    assert expected <= {f.name for f in files}
    assert (EXAMPLE_DIR / "main.tf") in files
    for f in files:
        assert parse(f), f"{f} parsed to nothing"


# ------------------------------------------------- variables and outputs ---

@pytest.mark.parametrize("directory", [MODULE_DIR, EXAMPLE_DIR], ids=["module", "example"])
def test_every_variable_has_type_and_description(directory):
    variables = named(merged(directory), "variable")
    assert variables
    for name, body in variables.items():
        assert body.get("type"), f"variable {name} has no type"
        assert str(body.get("description", "")).strip(), f"variable {name} has no description"


def test_module_variables_validate_their_input(module):
    """Free-form strings and numbers that AWS would reject late are checked at plan time."""
    variables = named(module, "variable")
    must_validate = ["name", "vpc_cidr", "availability_zones", "kubernetes_version", "node_groups", "kiln_namespace",
                     "kiln_service_account", "db_engine_version", "db_backup_retention_days", "db_username",
                     "redis_engine_version", "artifacts_prefix", "extra_buckets"]
    for name in must_validate:
        validation = variables[name].get("validation")
        assert validation, f"variable {name} has no validation block"
        for v in validation if isinstance(validation, list) else [validation]:
            assert v.get("condition") and v.get("error_message"), f"variable {name}: incomplete validation"


SECRET_SOURCES = ("random_password.", "aws_secretsmanager_secret_version.", ".auth_token", ".password",
                  "secret_string", ".master_user_secret")


def test_outputs_documented_and_secrets_never_output(module):
    outputs = named(module, "output")
    for name, body in outputs.items():
        assert str(body.get("description", "")).strip(), f"output {name} has no description"
        leaks = [s for s in SECRET_SOURCES if s in str(body.get("value"))]
        # A secret would have to be marked sensitive to be output at all; the
        # module's rule is stricter: secrets are outputs only as Secrets Manager ARNs.
        assert not leaks, f"output {name} exposes {leaks} (sensitive={body.get('sensitive')})"
        if body.get("sensitive") is not None:
            assert body["sensitive"] is True


def test_outputs_built_from_sensitive_locals_are_marked(module):
    """An output going through a local that holds a secret must be sensitive."""
    secret_locals = set()
    for block in module.get("locals", []):
        for name, value in block.items():
            if any(s in str(value) for s in SECRET_SOURCES):
                secret_locals.add(name)
    for name, body in named(module, "output").items():
        for local in secret_locals:
            if refers(body.get("value"), f"local.{local}"):
                assert body.get("sensitive") is True, f"output {name} uses secret local.{local}"


def test_password_and_token_are_generated_and_stored(module):
    secrets = resources_of(module, "aws_secretsmanager_secret")
    versions = resources_of(module, "aws_secretsmanager_secret_version")
    passwords = resources_of(module, "random_password")
    assert {"database", "redis"} <= set(passwords)
    for pw in ("database", "redis"):
        assert passwords[pw]["length"] >= 32
        holders = [n for n, v in versions.items() if refers(v["secret_string"], f"random_password.{pw}.result")]
        assert len(holders) == 1, f"random_password.{pw} is not kept in exactly one secret"
        assert refers(versions[holders[0]]["secret_id"], f"aws_secretsmanager_secret.{holders[0]}.id")
    for name, s in secrets.items():
        assert refers(s.get("kms_key_id"), "aws_kms_key.data.arn"), f"secret {name} not under the module's key"


# -------------------------------------------------------------------- S3 ---

def test_s3_buckets_versioned_kms_encrypted_private_tls_only(module):
    buckets = resources_of(module, "aws_s3_bucket")
    assert buckets
    policies = {name: body for (t, name), body in typed(module, "data").items() if t == "aws_iam_policy_document"}

    def companions(rtype: str, bucket: str) -> list[dict]:
        found = [b for b in resources_of(module, rtype).values()
                 if refers(b.get("for_each"), f"aws_s3_bucket.{bucket}") and refers(b.get("bucket"), "each.value.id")]
        assert found, f"aws_s3_bucket.{bucket} has no {rtype}"
        return found

    for bucket in buckets:
        assert any(only(v["versioning_configuration"])["status"] == "Enabled"
                   for v in companions("aws_s3_bucket_versioning", bucket))

        def kms(c):
            default = only(only(c["rule"])["apply_server_side_encryption_by_default"])
            return default["sse_algorithm"] == "aws:kms" and refers(default.get("kms_master_key_id"), "aws_kms_key.data.arn")
        assert any(kms(c) for c in companions("aws_s3_bucket_server_side_encryption_configuration", bucket))

        flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
        assert any(all(p.get(f) is True for f in flags)
                   for p in companions("aws_s3_bucket_public_access_block", bucket))

        def tls_only(p):
            doc = re.search(r"data\.aws_iam_policy_document\.(\w+)", str(p["policy"]))
            assert doc, p["policy"]
            statements = policies[doc.group(1)]["statement"]
            for s in statements if isinstance(statements, list) else [statements]:
                conds = s.get("condition", [])
                for c in conds if isinstance(conds, list) else [conds]:
                    if (s.get("effect") == "Deny" and "s3:*" in s["actions"]
                            and c["variable"] == "aws:SecureTransport" and c["values"] == ["false"]):
                        return True
            return False
        assert any(tls_only(p) for p in companions("aws_s3_bucket_policy", bucket))

        owners = companions("aws_s3_bucket_ownership_controls", bucket)
        assert any(only(o["rule"])["object_ownership"] == "BucketOwnerEnforced" for o in owners)


def test_kms_keys_rotate(module):
    keys = resources_of(module, "aws_kms_key")
    assert {"data", "eks"} <= set(keys)
    for name, k in keys.items():
        assert k["enable_key_rotation"] is True, name


# ------------------------------------------------------------- databases ---

def test_rds_postgres_encrypted_private_tls(module):
    db = resources_of(module, "aws_db_instance")["this"]
    variables = named(module, "variable")
    assert db["engine"] == "postgres"
    assert refers(db["engine_version"], "var.db_engine_version")
    assert str(variables["db_engine_version"]["default"]).split(".")[0] == "15"
    assert db["storage_encrypted"] is True and refers(db["kms_key_id"], "aws_kms_key.data.arn")
    assert db["publicly_accessible"] is False
    assert refers(db["multi_az"], "var.db_multi_az") and variables["db_multi_az"]["type"] == "bool"
    assert refers(db["password"], "random_password.database.result")
    assert db["skip_final_snapshot"] is False
    assert refers(db["db_subnet_group_name"], "aws_db_subnet_group.this.name")
    assert refers(resources_of(module, "aws_db_subnet_group")["this"]["subnet_ids"], "aws_subnet.database")
    group = resources_of(module, "aws_db_parameter_group")["this"]
    params = group["parameter"] if isinstance(group["parameter"], list) else [group["parameter"]]
    assert {"name": "rds.force_ssl", "value": "1"} in params


def test_elasticache_tls_auth_encrypted(module):
    rg = resources_of(module, "aws_elasticache_replication_group")["this"]
    assert rg["transit_encryption_enabled"] is True
    assert rg["at_rest_encryption_enabled"] is True and refers(rg["kms_key_id"], "aws_kms_key.data.arn")
    assert refers(rg["auth_token"], "random_password.redis.result")
    assert refers(resources_of(module, "aws_elasticache_subnet_group")["this"]["subnet_ids"], "aws_subnet.database")


def test_database_and_redis_reachable_only_from_the_cluster(module):
    rules = resources_of(module, "aws_vpc_security_group_ingress_rule")
    for sg, port in (("database", 5432), ("redis", 6379)):
        mine = [r for r in rules.values() if refers(r["security_group_id"], f"aws_security_group.{sg}.id")]
        assert mine, f"no ingress rule for {sg}"
        for r in mine:
            assert "cidr_ipv4" not in r and "cidr_ipv6" not in r and "prefix_list_id" not in r
            assert refers(r["referenced_security_group_id"], "aws_eks_cluster.this.vpc_config[0].cluster_security_group_id")
            assert (r["from_port"], r["to_port"], r["ip_protocol"]) == (port, port, "tcp")
    for legacy in ("aws_security_group_rule",):
        assert not resources_of(module, legacy), "mixing rule styles hides rules from this test"
    for name, sg in resources_of(module, "aws_security_group").items():
        assert "ingress" not in sg and "egress" not in sg, f"inline rules in aws_security_group.{name}"
    default_sg = resources_of(module, "aws_default_security_group")["this"]
    assert "ingress" not in default_sg and "egress" not in default_sg


# ------------------------------------------------------------------- IAM ---

def test_irsa_trust_names_the_configured_service_account(module):
    role = resources_of(module, "aws_iam_role")["kiln"]
    doc_name = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", role["assume_role_policy"]).group(1)
    doc = typed(module, "data")[("aws_iam_policy_document", doc_name)]
    statement = only(doc["statement"])
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    principal = only(statement["principals"])
    assert principal["type"] == "Federated"
    assert principal["identifiers"] == ["${aws_iam_openid_connect_provider.eks.arn}"]
    conditions = {c["variable"]: c for c in statement["condition"]}
    sub = conditions["${local.oidc_issuer}:sub"]
    assert sub["test"] == "StringEquals"  # not StringLike: no wildcard service accounts
    assert sub["values"] == ["system:serviceaccount:${var.kiln_namespace}:${var.kiln_service_account}"]
    aud = conditions["${local.oidc_issuer}:aud"]
    assert aud["test"] == "StringEquals" and aud["values"] == ["sts.amazonaws.com"]
    issuer = next(b["oidc_issuer"] for b in module["locals"] if "oidc_issuer" in b)
    assert refers(issuer, "aws_eks_cluster.this.identity[0].oidc[0].issuer") and "https://" in issuer
    provider = resources_of(module, "aws_iam_openid_connect_provider")["eks"]
    assert refers(provider["url"], "aws_eks_cluster.this.identity[0].oidc[0].issuer")
    assert provider["client_id_list"] == ["sts.amazonaws.com"]


def test_kiln_policy_is_least_privilege(module):
    policy = resources_of(module, "aws_iam_role_policy")["kiln"]
    doc_name = re.search(r"data\.aws_iam_policy_document\.(\w+)\.json", policy["policy"]).group(1)
    statements = typed(module, "data")[("aws_iam_policy_document", doc_name)]["statement"]
    actions = set()
    for s in statements:
        assert s.get("effect", "Allow") == "Allow"
        for a in s["actions"]:
            assert "*" not in a, f"wildcard action {a}"
            actions.add(a)
        for r in s["resources"]:
            assert r != "*", f"statement {s.get('sid')} on every resource"
        if any(a.startswith("kms:") for a in s["actions"]):
            cond = only(s["condition"])
            assert cond["variable"] == "kms:ViaService"
    assert {a.split(":")[0] for a in actions} == {"s3", "kms", "secretsmanager"}
    objects = next(s for s in statements if "s3:PutObject" in s["actions"])
    assert objects["resources"] == ["${local.artifact_bucket.arn}/${var.artifacts_prefix}/*"]
    secrets = next(s for s in statements if "secretsmanager:GetSecretValue" in s["actions"])
    assert sorted(secrets["resources"]) == ["${aws_secretsmanager_secret.database_password.arn}",
                                            "${aws_secretsmanager_secret.redis_auth.arn}"]


# ------------------------------------------------------------ VPC and EKS ---

SUBNET_CIDR = re.compile(r"^\$\{cidrsubnet\(var\.vpc_cidr, (\d+), (?:(\d+) \+ )?count\.index\)\}$")


def test_subnets_span_two_azs_without_overlap(module):
    subnets = resources_of(module, "aws_subnet")
    assert set(subnets) == {"public", "private", "database"}
    layout = {}
    for tier, s in subnets.items():
        assert s["count"] == "${length(local.azs)}", tier
        assert s["availability_zone"] == "${local.azs[count.index]}", tier
        m = SUBNET_CIDR.match(s["cidr_block"])
        assert m, f"{tier}: {s['cidr_block']}"
        layout[tier] = (int(m.group(1)), int(m.group(2) or 0))
    azs = next(b["azs"] for b in module["locals"] if "azs" in b)
    assert "slice(data.aws_availability_zones.available.names, 0, 2)" in azs  # two AZs by default
    validation = named(module, "variable")["availability_zones"]["validation"][0]["condition"]
    assert "length(var.availability_zones) >= 2" in validation and "<= 4" in validation
    # cidrsubnet as Terraform computes it, for every VPC size and AZ count the variables allow.
    for prefix in range(16, 21):
        vpc = ipaddress.ip_network(f"10.0.0.0/{prefix}")
        for n in range(2, 5):
            nets = []
            for tier, (newbits, base) in layout.items():
                subs = list(vpc.subnets(new_prefix=prefix + newbits))
                nets += [(tier, subs[base + i]) for i in range(n)]
            for i, (ta, a) in enumerate(nets):
                for tb, b in nets[i + 1:]:
                    assert not a.overlaps(b), f"/{prefix}, {n} AZs: {ta} {a} overlaps {tb} {b}"


def test_data_tier_has_no_internet_route(module):
    routes = resources_of(module, "aws_route")
    for name, r in routes.items():
        assert not refers(r["route_table_id"], "aws_route_table.database"), f"aws_route.{name} on the database tier"
    assert not resources_of(module, "aws_route_table")["database"].get("route")
    private = resources_of(module, "aws_route")["private_nat"]
    assert refers(private["nat_gateway_id"], "aws_nat_gateway.this")


def test_node_groups_system_compute_gpu_tainted(module):
    ng = named(module, "variable")["node_groups"]["default"]
    assert set(ng) == {"system", "compute", "gpu"}
    gpu = ng["gpu"]
    assert "NVIDIA" in gpu["ami_type"]
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"} in gpu["taints"]
    assert gpu["min_size"] == 0
    for name in ("system", "compute"):
        assert not ng[name].get("taints")
    group = resources_of(module, "aws_eks_node_group")["this"]
    assert group["for_each"] == "${var.node_groups}"
    assert refers(group["subnet_ids"], "aws_subnet.private")
    taint = only(group["dynamic"])["taint"]
    assert taint["for_each"] == "${each.value.taints}"
    assert only(taint["content"])["effect"] == "${taint.value.effect}"
    template = resources_of(module, "aws_launch_template")["node"]
    meta = only(template["metadata_options"])
    assert meta["http_tokens"] == "required" and meta["http_put_response_hop_limit"] == 1
    assert only(only(template["block_device_mappings"])["ebs"])["encrypted"] is True


def test_eks_cluster_private_nodes_encrypted_secrets(module):
    cluster = resources_of(module, "aws_eks_cluster")["this"]
    vpc = only(cluster["vpc_config"])
    assert refers(vpc["subnet_ids"], "aws_subnet.private")
    assert vpc["endpoint_private_access"] is True
    enc = only(cluster["encryption_config"])
    assert enc["resources"] == ["secrets"] and refers(enc, "aws_kms_key.eks.arn")
    assert "audit" in cluster["enabled_cluster_log_types"]


# ---------------------------------------------------- a stand-in validate ---

def test_versions_pin_providers(module):
    tf = only(module["terraform"])
    assert tf["required_version"].startswith(">=")
    providers = only(tf["required_providers"])
    assert set(providers) == {"aws", "random"}
    for p in providers.values():
        assert re.fullmatch(r"hashicorp/\w+", p["source"]) and p["version"].startswith("~>")
    assert "module" not in module, "registry modules cannot be fetched or reviewed here; plain resources only"
    assert "provider" not in module, "a reusable module takes its provider configuration from the caller"


def strip_comments(text: str) -> str:
    return re.sub(r"(?m)(^|\s)(#|//).*$", r"\1", text)


def test_every_reference_is_declared(module):
    """What `terraform validate` would catch first: references to undeclared things."""
    declared_vars = set(named(module, "variable"))
    declared_locals = {k for b in module.get("locals", []) for k in b}
    declared_resources = set(typed(module, "resource"))
    declared_data = set(typed(module, "data"))
    used_vars, used_locals = set(), set()
    for f in tf_files(MODULE_DIR):
        text = strip_comments(f.read_text())
        used_vars |= set(re.findall(r"\bvar\.(\w+)", text))
        used_locals |= set(re.findall(r"\blocal\.(\w+)", text))
        for rtype, name in re.findall(r"\bdata\.((?:aws|random)_\w+)\.(\w+)", text):
            assert (rtype, name) in declared_data, f"{f.name}: data.{rtype}.{name} is not declared"
        without_data = re.sub(r"\bdata\.\w+\.\w+", "", text)
        for rtype, name in re.findall(r"(?<![\w.\"/:-])((?:aws|random)_\w+)\.(\w+)", without_data):
            assert (rtype, name) in declared_resources, f"{f.name}: {rtype}.{name} is not declared"
    assert used_vars <= declared_vars, f"undeclared variables: {used_vars - declared_vars}"
    assert used_locals <= declared_locals, f"undeclared locals: {used_locals - declared_locals}"


def test_example_calls_the_module_with_declared_variables(module, example):
    variables = named(module, "variable")
    calls = named(example, "module")
    assert set(calls) == {"kiln"}
    call = calls["kiln"]
    assert call["source"] == "../.."
    meta = {"source", "version", "providers", "depends_on", "count", "for_each"}
    passed = set(call) - meta
    assert passed <= set(variables), f"not module variables: {passed - set(variables)}"
    required = {n for n, v in variables.items() if "default" not in v}
    assert required <= passed, f"required variables not passed: {required - passed}"
    outputs = named(module, "output")
    for name, body in named(example, "output").items():
        for ref in re.findall(r"module\.kiln\.(\w+)", str(body["value"])):
            assert ref in outputs, f"example output {name} reads undeclared module.kiln.{ref}"
    # The example's GPU pool keeps the taint the module insists on.
    assert call["node_groups"]["gpu"]["taints"]


def test_readme_lists_every_input_and_output(module):
    readme = (MODULE_DIR / "README.md").read_text()
    for kind in ("variable", "output"):
        missing = [n for n in named(module, kind) if f"`{n}`" not in readme]
        assert not missing, f"README.md does not mention {kind}s {missing}"
    assert "Not verified here" in readme
