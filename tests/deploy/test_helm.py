"""The Helm chart deploy/helm/kiln: `helm lint --strict` and `helm template`
for every value set in deploy/helm/kiln/ci/, every rendered manifest through
`kubeconform -strict` against the Kubernetes 1.27 and 1.33 schemas kept in
third_party/kube-schemas (scripts/setup.sh converts them from the PyPI
package kubernetes-validate) and, for ServiceMonitor/PrometheusRule, the
local CRD schemas in tests/deploy/crd-schemas; then what the manifests must
say for kiln to run right (secrets only referenced, probes, drain timing,
security context, the migration hook, refusals of unsafe value sets).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import CHART_DIR, CRD_SCHEMA_DIR, KUBE_SCHEMA_DIR, go_tool

VALUE_SETS = sorted(p.name for p in (CHART_DIR / "ci").glob("*.yaml"))
KUBE_VERSIONS = ["1.27.0", "1.33.0"]
SECRET_MOUNT_ROOT = "/etc/kiln/secrets"


def ci(name: str) -> Path:
    return CHART_DIR / "ci" / name


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HELM_CACHE_HOME": "/tmp/kiln-helm-cache", "HELM_CONFIG_HOME": "/tmp/kiln-helm-config",
           "HELM_DATA_HOME": "/tmp/kiln-helm-data"}
    result = subprocess.run([str(go_tool("helm")), *args], capture_output=True, text=True, env=env)
    if check:
        assert result.returncode == 0, f"helm {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


def template_text(values: list[str] = (), sets: list[str] = (), chart: Path = CHART_DIR,
                  kube_version: str = "1.33.0", check: bool = True) -> subprocess.CompletedProcess:
    args = ["template", "kiln", str(chart), "--namespace", "mlops", "--kube-version", kube_version]
    for v in values:
        args += ["-f", str(v)]
    for s in sets:
        args += ["--set", s]
    return helm(*args, check=check)


def render(values: list[str] = (), sets: list[str] = (), chart: Path = CHART_DIR) -> list[dict]:
    return [d for d in yaml.safe_load_all(template_text(values, sets, chart).stdout) if d]


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict], kind: str) -> dict:
    found = of_kind(docs, kind)
    assert len(found) == 1, f"{len(found)} {kind} objects"
    return found[0]


def settings(docs: list[dict]) -> dict:
    """The data of the chart's settings ConfigMap (dashboards are ConfigMaps too)."""
    found = [d for d in of_kind(docs, "ConfigMap") if "KILN_HOST" in d.get("data", {})]
    assert len(found) == 1, f"{len(found)} settings ConfigMaps"
    return found[0]["data"]


def refused(sets: list[str], values: list[str] = (), expect: str = "") -> str:
    """The chart refuses this value set (schema or template `fail`); returns helm's message."""
    result = template_text(values, sets, check=False)
    assert result.returncode != 0, f"rendered although it must be refused:\n{result.stdout[:2000]}"
    if expect:
        assert expect in result.stderr, result.stderr
    return result.stderr


def pod_specs(docs: list[dict]) -> list[tuple[str, dict]]:
    return [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in docs if d["kind"] in ("Deployment", "Job")]


# --- lint, render, validate ------------------------------------------------

def test_value_sets_cover_the_deployment_shapes():
    assert {"embedded-values.yaml", "production-values.yaml", "roles-values.yaml", "monitoring-values.yaml"} <= set(VALUE_SETS)


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_lint_strict(value_set):
    result = helm("lint", "--strict", str(CHART_DIR), "-f", str(ci(value_set)))
    assert "0 chart(s) failed" in result.stdout, result.stdout


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_rendered_manifests_pass_kubeconform_strict(value_set, kube_version, tmp_path):
    schemas = KUBE_SCHEMA_DIR / f"v{kube_version}"
    assert (schemas / "deployment-apps-v1.json").exists(), f"{schemas} is missing: run scripts/setup.sh"
    manifest = template_text([ci(value_set)], kube_version=kube_version).stdout
    expected = len([d for d in yaml.safe_load_all(manifest) if d])
    (tmp_path / "manifest.yaml").write_text(manifest)
    result = subprocess.run(
        [str(go_tool("kubeconform")), "-strict", "-summary", "-output", "json",
         "-kubernetes-version", kube_version,
         "-schema-location", str(KUBE_SCHEMA_DIR) + "/{{ .NormalizedKubernetesVersion }}/{{ .ResourceKind }}{{ .KindSuffix }}.json",
         "-schema-location", str(CRD_SCHEMA_DIR) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json",
         str(tmp_path / "manifest.yaml")],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary == {"valid": expected, "invalid": 0, "errors": 0, "skipped": 0}, result.stdout


def test_kubeconform_rejects_what_the_schemas_forbid(tmp_path):
    """The local schemas are really consulted: a misspelt field fails."""
    docs = render([ci("embedded-values.yaml")])
    deployment = one(docs, "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(deployment))
    result = subprocess.run(
        [str(go_tool("kubeconform")), "-strict", "-kubernetes-version", "1.33.0", "-schema-location",
         str(KUBE_SCHEMA_DIR) + "/{{ .NormalizedKubernetesVersion }}/{{ .ResourceKind }}{{ .KindSuffix }}.json",
         str(tmp_path / "bad.yaml")], capture_output=True, text=True)
    assert result.returncode != 0 and "readinessProbes" in result.stdout, result.stdout


# --- secrets are only referenced -------------------------------------------

@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_chart_never_renders_secret_values(value_set):
    docs = render([ci(value_set)])
    assert not of_kind(docs, "Secret")
    for key, value in settings(docs).items():
        assert key.startswith(("KILN_", "AWS_")), key
        if any(word in key for word in ("PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIALS", "_CA")):
            assert key.endswith("_FILE"), f"{key} would carry a secret value"
            assert value.startswith((SECRET_MOUNT_ROOT + "/", "/etc/kiln/tls/")), (key, value)
    for name, spec in pod_specs(docs):
        for container in spec["containers"]:
            for env in container.get("env", []):
                assert "PASSWORD" not in env["name"] or env["name"].endswith("_FILE"), (name, env)


def test_every_secret_file_setting_is_a_mounted_secret_key():
    docs = render([ci("production-values.yaml")])
    config = settings(docs)
    files = {k: v for k, v in config.items() if k.endswith("_FILE")}
    assert set(files) == {"KILN_DATABASE_PASSWORD_FILE", "KILN_REDIS_PASSWORD_FILE", "KILN_REDIS_CA_FILE",
                          "KILN_ADMIN_PASSWORD_FILE", "KILN_SECRET_KEY_FILE", "KILN_AUDIT_KEY_FILE",
                          "KILN_TLS_CERT_FILE", "KILN_TLS_KEY_FILE"}
    values = yaml.safe_load(ci("production-values.yaml").read_text())
    wanted_secret = {"KILN_DATABASE_PASSWORD_FILE": values["database"]["passwordSecret"],
                     "KILN_REDIS_PASSWORD_FILE": values["onlineStore"]["passwordSecret"],
                     "KILN_REDIS_CA_FILE": values["onlineStore"]["caSecret"],
                     "KILN_ADMIN_PASSWORD_FILE": values["auth"]["adminPasswordSecret"],
                     "KILN_SECRET_KEY_FILE": values["secretKey"]["secret"],
                     "KILN_AUDIT_KEY_FILE": values["audit"]["signingKeySecret"],
                     "KILN_TLS_CERT_FILE": {"name": values["tls"]["secretName"], "key": "tls.crt"},
                     "KILN_TLS_KEY_FILE": {"name": values["tls"]["secretName"], "key": "tls.key"}}
    for name, spec in pod_specs(docs):
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
        for setting, path in files.items():
            directory, key = path.rsplit("/", 1)
            assert directory in mounts, f"{name}: {setting}={path} is not under a mount"
            assert mounts[directory]["readOnly"] is True
            secret = volumes[mounts[directory]["name"]]["secret"]
            assert secret["secretName"] == wanted_secret[setting]["name"], (name, setting)
            assert {"key": wanted_secret[setting]["key"], "path": key} in secret["items"], (name, setting)


@pytest.mark.parametrize("setting", ["database.uri=postgresql://kiln:hunter2@db:5432/kiln",
                                     "onlineStore.uri=rediss://:hunter2@redis:6379"])
def test_a_password_inside_a_uri_is_refused(setting):
    message = refused([setting], expect="holds a password")
    assert "hunter2" not in message


# --- replicas and shared stores --------------------------------------------

@pytest.mark.parametrize("sets", [["replicaCount=2"], ["autoscaling.enabled=true"],
                                  ["roles.serving.services=serving"],
                                  ["replicaCount=3", "database.uri=sqlite:///var/lib/kiln/kiln.db"]])
def test_several_replicas_without_postgresql_are_refused(sets):
    refused(sets, [ci("embedded-values.yaml")])


@pytest.mark.parametrize("missing, expect", [("artifacts.uri", "artifacts.uri"),
                                             ("onlineStore.uri", "onlineStore.uri"),
                                             ("secretKey.secret.name", "secretKey.secret"),
                                             ("audit.signingKeySecret.name", "audit.signingKeySecret")])
def test_several_replicas_need_every_shared_store(missing, expect):
    refused([f"{missing}=", *(["onlineStore.caSecret.name="] if missing == "onlineStore.uri" else [])],
            [ci("production-values.yaml")], expect=expect)


def test_embedded_mode_is_one_replica_on_a_volume():
    docs = render([ci("embedded-values.yaml")])
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate"  # the volume and store locks move, never shared
    pvc = one(docs, "PersistentVolumeClaim")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"
    data = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "data"][0]
    assert data["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["data"] == settings(docs)["KILN_DATA_DIR"] == "/var/lib/kiln"
    assert not of_kind(docs, "Job")  # serve migrates the embedded database itself
    assert not of_kind(docs, "HorizontalPodAutoscaler")
    assert "KILN_DATABASE_URI" not in settings(docs)


def test_production_rolls_without_losing_capacity():
    docs = render([ci("production-values.yaml")])
    deployment = one(docs, "Deployment")
    assert "replicas" not in deployment["spec"]  # the HPA owns it
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}}
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 12)
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert not of_kind(docs, "PersistentVolumeClaim")


# --- probes, drain, security -----------------------------------------------

@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_probes_and_graceful_drain(value_set):
    docs = render([ci(value_set)])
    config = settings(docs)
    delay_ms, grace_ms = int(config["KILN_SHUTDOWN_DELAY_MS"]), int(config["KILN_SHUTDOWN_GRACE_MS"])
    assert delay_ms == 5000
    scheme = "HTTPS" if "KILN_TLS_CERT_FILE" in config else "HTTP"
    for deployment in of_kind(docs, "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        container = spec["containers"][0]
        assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http", "scheme": scheme}
        assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http", "scheme": scheme}
        assert "lifecycle" not in container  # the drain is kiln's own --shutdown-delay-ms, no preStop sleep
        assert spec["terminationGracePeriodSeconds"] * 1000 > delay_ms + grace_ms
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["http"] == int(config["KILN_PORT"])
        assert ports.get("grpc", -1) == int(config["KILN_GRPC_PORT"])


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_pods_run_unprivileged_on_a_read_only_root(value_set):
    docs = render([ci(value_set)])
    for name, spec in pod_specs(docs):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert "add" not in sc["capabilities"], name
            writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
            assert writable == {"/var/lib/kiln", "/tmp"}, (name, writable)


def test_service_account_carries_the_irsa_role():
    production = one(render([ci("production-values.yaml")]), "ServiceAccount")
    assert production["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/kiln"}
    embedded = one(render([ci("embedded-values.yaml")]), "ServiceAccount")
    assert "annotations" not in embedded["metadata"]  # the empty default is not rendered as an empty role


def test_store_settings_reach_kiln():
    config = settings(render([ci("production-values.yaml")]))
    values = yaml.safe_load(ci("production-values.yaml").read_text())
    assert config["KILN_DATABASE_URI"] == values["database"]["uri"]
    assert config["KILN_ARTIFACTS_URI"] == values["artifacts"]["uri"]
    assert config["AWS_REGION"] == values["artifacts"]["region"]
    assert config["KILN_ONLINE_STORE_URI"] == values["onlineStore"]["uri"]
    assert config["KILN_AUTH"] == "true" and config["KILN_AUDIT"] == "true"
    assert config["KILN_DEFAULT_ROLE"] == "none"
    assert config["KILN_OIDC_ISSUER"] == values["auth"]["oidc"]["issuer"]
    assert config["KILN_LOG_LEVEL"] == "warn"  # from `config:`


# --- the migration hook ----------------------------------------------------

def test_migration_job_is_a_pre_install_and_pre_upgrade_hook():
    docs = render([ci("production-values.yaml")])
    job = one(docs, "Job")
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["migrate"]
    assert container["image"] == one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    # Same settings as the servers, inline: a pre-install hook runs before the ConfigMap exists.
    assert {e["name"]: e["value"] for e in container["env"]} == settings(docs)
    assert "envFrom" not in container
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


# --- per-role deployments --------------------------------------------------

def test_one_deployment_and_service_pair_per_role():
    docs = render([ci("roles-values.yaml")])
    roles = yaml.safe_load(ci("roles-values.yaml").read_text())["roles"]
    deployments = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in of_kind(docs, "Deployment")}
    assert set(deployments) == set(roles)
    services = of_kind(docs, "Service")
    for role, spec in roles.items():
        d = deployments[role]
        assert d["spec"]["replicas"] == spec["replicaCount"]
        env = {e["name"]: e["value"] for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["KILN_SERVICES"] == spec["services"]
        selected = [s for s in services if s["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert sorted(p["name"] for s in selected for p in s["spec"]["ports"]) == ["grpc", "http"], role
    serving = deployments["serving"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert serving["requests"]["cpu"] == "4"
    paths = {p["path"]: p["backend"]["service"]["name"]
             for rule in one(docs, "Ingress")["spec"]["rules"] for p in rule["http"]["paths"]}
    assert paths["/v2"] == deployments["serving"]["metadata"]["name"]
    assert paths["/api/2.0/mlflow"] == deployments["tracking"]["metadata"]["name"]
    assert len(of_kind(docs, "PodDisruptionBudget")) == len(roles)


def test_roles_name_only_known_services():
    refused(["roles.api.services=tracking,inference"], [ci("roles-values.yaml")])


# --- network policy --------------------------------------------------------

def test_network_policy_admits_only_the_named_peers():
    docs = render([ci("production-values.yaml")])
    policy = one(docs, "NetworkPolicy")
    ingress = policy["spec"]["ingress"][0]
    assert {p["port"] for p in ingress["ports"]} == {"http", "grpc"}
    peers = ingress["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}} in peers
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}} in peers
    egress = policy["spec"]["egress"]
    assert {"port": 53, "protocol": "UDP"} in egress[0]["ports"]  # DNS stays open when egress is restricted
    assert {"port": 5432, "protocol": "TCP"} in egress[1]["ports"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= \
        one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"].items()


# --- monitoring ------------------------------------------------------------

@pytest.fixture()
def chart_with_fixture_monitoring(tmp_path) -> Path:
    """The chart plus one rule file and one dashboard of this test's own, beside
    whatever files/prometheus and files/dashboards already hold."""
    chart = tmp_path / "kiln"
    shutil.copytree(CHART_DIR, chart)
    (chart / "files" / "prometheus").mkdir(parents=True, exist_ok=True)
    (chart / "files" / "dashboards").mkdir(parents=True, exist_ok=True)
    (chart / "files" / "prometheus" / "zz-test-fixture.yaml").write_text(yaml.safe_dump({"groups": [{
        "name": "kiln-test-fixture", "rules": [
            {"record": "kiln:test_fixture_requests:rate5m", "expr": "sum(rate(kiln_http_requests_total[5m]))"},
            {"alert": "KilnTestFixtureDown", "expr": "up{job=\"kiln\"} == 0", "for": "5m",
             "labels": {"severity": "critical"}, "annotations": {"summary": "kiln replica down"}}]}]}))
    (chart / "files" / "dashboards" / "zz_test_fixture.json").write_text(json.dumps(
        {"title": "kiln test fixture", "uid": "kiln-test-fixture", "panels": []}))
    return chart


def test_monitoring_is_off_by_default():
    docs = render([ci("embedded-values.yaml")])
    assert not of_kind(docs, "ServiceMonitor") and not of_kind(docs, "PrometheusRule")


def test_prometheus_rule_carries_every_rule_file(chart_with_fixture_monitoring, tmp_path):
    chart = chart_with_fixture_monitoring
    docs = render([ci("monitoring-values.yaml")], chart=chart)
    rule = one(docs, "PrometheusRule")
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    expected = []
    for path in sorted((chart / "files" / "prometheus").glob("*.yaml")):
        expected += yaml.safe_load(path.read_text())["groups"]
    assert rule["spec"]["groups"] == expected
    # The CRD object validates against the local schema too.
    (tmp_path / "rule.yaml").write_text(yaml.safe_dump(rule))
    result = subprocess.run([str(go_tool("kubeconform")), "-strict", "-schema-location",
                             str(CRD_SCHEMA_DIR) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json", str(tmp_path / "rule.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_dashboards_are_sidecar_configmaps(chart_with_fixture_monitoring):
    chart = chart_with_fixture_monitoring
    docs = render([ci("monitoring-values.yaml")], chart=chart)
    dashboards = {}
    for cm in of_kind(docs, "ConfigMap"):
        if cm["metadata"]["labels"].get("grafana_dashboard") == "1":
            assert cm["metadata"]["namespace"] == "monitoring"
            assert cm["metadata"]["annotations"] == {"grafana_folder": "kiln"}
            (name, body), = cm["data"].items()
            dashboards[name] = body
    files = {p.name: p.read_text() for p in (chart / "files" / "dashboards").glob("*.json")}
    assert set(dashboards) == set(files)
    for name, body in dashboards.items():
        assert json.loads(body) == json.loads(files[name]), name


def test_service_monitor_scrapes_each_http_service_once():
    docs = render([ci("monitoring-values.yaml"), ci("roles-values.yaml")])
    monitor = one(docs, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    scraped = [s for s in of_kind(docs, "Service") if selector.items() <= s["metadata"]["labels"].items()]
    assert len(scraped) == len(of_kind(docs, "Deployment")) == 4
    assert all([p["name"] for p in s["spec"]["ports"]] == ["http"] for s in scraped)
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["mlops"]}


# --- values.schema.json ----------------------------------------------------

@pytest.mark.parametrize("sets", [["databse.uri=postgresql://kiln@db/kiln"], ["auth.defaultRole=admin"],
                                  ["artifacts.uri=gs://bucket"], ["service.port=70000"]])
def test_schema_refuses_unknown_or_invalid_values(sets):
    refused(sets)


@pytest.mark.parametrize("sets, expect", [(["config.database-uri=postgresql://x@y/z"], "config.database-uri"),
                                          (["config.tls-client-ca-file=/ca.pem"], "config.tls-client-ca-file"),
                                          (["auth.enabled=true"], "adminPasswordSecret")])
def test_template_refuses_settings_it_cannot_honour(sets, expect):
    refused(sets, expect=expect)


def test_contract_values_have_empty_defaults():
    """deploy_contract: every Terraform-fed values path exists, empty by default."""
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert values["database"]["uri"] == ""
    assert values["artifacts"]["uri"] == "" and values["artifacts"]["region"] == ""
    assert values["onlineStore"]["uri"] == ""
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == ""
    assert values["database"]["passwordSecret"]["name"] == "" and values["onlineStore"]["passwordSecret"]["name"] == ""


# --- the rendered settings drive the real binary ---------------------------

def _materialize_secret_files(config: dict, root: Path) -> dict:
    """Points every *_FILE setting at a local file of the kind the Secret would hold."""
    out = dict(config)
    for key, path in config.items():
        if not key.endswith("_FILE"):
            continue
        local = root / path.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        if key == "KILN_AUDIT_KEY_FILE":
            subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(local)], check=True)
        elif key == "KILN_SECRET_KEY_FILE":
            local.write_bytes(os.urandom(32))
        else:
            local.write_text("chart-test-password\n")
        out[key] = str(local)
    return out


def test_rendered_settings_start_kiln_which_drains_on_sigterm(kiln, tmp_path):
    """The ConfigMap and the Deployment's env, as the pod gets them, are
    settings the real binary accepts (auth with the admin password file,
    audit with the shared keys); on SIGTERM readiness turns 503 "draining"
    while kiln still answers, then it exits 0."""
    import signal

    import requests

    from conftest import KilnProcess

    docs = render([ci("embedded-values.yaml")],
                  ["auth.enabled=true", "auth.adminPasswordSecret.name=kiln-admin",
                   "secretKey.secret.name=kiln-server-key", "audit.signingKeySecret.name=kiln-audit-key",
                   "shutdown.delayMs=1500"])
    container = one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = {**settings(docs), **{e["name"]: e["value"] for e in container["env"]}}
    env = _materialize_secret_files(env, tmp_path / "mounts")
    env.update(KILN_DATA_DIR=str(tmp_path / "data"), KILN_HOST="127.0.0.1", KILN_PORT="0", KILN_GRPC_PORT="0")
    server = KilnProcess(kiln, tmp_path / "data", env=env)
    try:
        assert server.get("/health").status_code == 200, server.log()
        assert server.get("/health/live").status_code == 200, server.log()
        search = server.url + "/api/2.0/mlflow/experiments/search?max_results=1"
        assert requests.get(search, timeout=10).status_code == 401
        assert requests.get(search, auth=("admin", "chart-test-password"), timeout=10).status_code == 200
        server.proc.send_signal(signal.SIGTERM)
        draining = None
        while server.proc.poll() is None and draining is None:
            try:
                r = server.get("/health")
            except requests.ConnectionError:
                break
            if r.status_code == 503:
                draining = r.json()
        assert draining is not None and draining["status"] == "draining", server.log()
    finally:
        assert server.stop() == 0, server.log()
