"""deploy/ checked as files (nothing is started): Kubernetes manifests, CloudNativePG clusters, compose, Helm values.

- every core object of each overlay (rendered by deploy/k8s/render.py, compared with `kubectl kustomize` where
  kubectl exists) validates strictly with kubernetes-validate at a pinned Kubernetes version;
- every CloudNativePG object validates against the CRD vendored in deploy/vendor (unknown fields refused, as the
  API server's strict field validation does);
- deploy/compose.yaml validates against the vendored Compose Specification schema;
- the NATS Helm values use only keys of the vendored chart's values.yaml, except inside its free-form maps;
- generated files are what their generators write, and each check rejects a broken manifest.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
VENDOR = DEPLOY / "vendor"
KUBERNETES_VERSION = "1.33.0"  # the oldest release this deployment supports (native preStop sleep needs 1.30+)
OVERLAYS = ("dev", "production")
sys.path.insert(0, str(DEPLOY / "k8s"))


def _module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


render = _module(DEPLOY / "k8s" / "render.py")
generate = _module(DEPLOY / "k8s" / "generate.py")
accounts = _module(DEPLOY / "k8s" / "nats" / "accounts.py")
apps = _module(DEPLOY / "k8s" / "apps.py")


def rendered(overlay: str) -> list[dict[str, Any]]:
    return render.build(DEPLOY / "k8s" / "overlays" / overlay)


def is_cnpg(obj: dict[str, Any]) -> bool:
    return obj["apiVersion"].startswith("postgresql.cnpg.io/")


# -- validators --------------------------------------------------------------------------------------------------


def core_errors(obj: dict[str, Any]) -> list[str]:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [exc.message]
    return []


def _closed(schema: Any) -> Any:
    """A CRD's structural schema with unknown fields refused wherever Kubernetes would prune or refuse them."""
    if isinstance(schema, dict):
        schema = {k: _closed(v) for k, v in schema.items()}
        preserved = schema.get("x-kubernetes-preserve-unknown-fields")
        if "properties" in schema and "additionalProperties" not in schema and not preserved:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


def _crd_validators() -> dict[tuple[str, str], Any]:
    validators = {}
    for path in sorted((VENDOR / "cloudnative-pg").glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            schema = _closed(version["schema"]["openAPIV3Schema"])
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            validators[key] = jsonschema_rs.Draft7Validator(schema)
    return validators


CRDS = _crd_validators()


def cnpg_errors(obj: dict[str, Any]) -> list[str]:
    validator = CRDS.get((obj["apiVersion"], obj["kind"]))
    if validator is None:
        return [f"no vendored CRD for {obj['apiVersion']} {obj['kind']}"]
    return [f"{obj['kind']}/{obj['metadata']['name']}: {e.message}" for e in validator.iter_errors(obj)]


COMPOSE = jsonschema_rs.Draft7Validator(json.loads((VENDOR / "compose-spec" / "compose-spec.json").read_text()))


def compose_errors(document: dict[str, Any]) -> list[str]:
    return [f"{list(e.instance_path)}: {e.message}" for e in COMPOSE.iter_errors(document)]


CHART_VALUES = yaml.safe_load((VENDOR / "nats-helm" / "values.yaml").read_text())


def unknown_values(mine: dict[str, Any], chart: Any, path: str = "") -> list[str]:
    """Keys the chart does not know. Inside `merge`/`patch` (free-form by the chart's design) and inside a key
    whose chart default is an empty map (`env`, `resources`: the chart passes those maps through) anything goes."""
    unknown = []
    for key, value in mine.items():
        where = f"{path}.{key}".lstrip(".")
        if key in ("merge", "patch"):
            continue
        if not isinstance(chart, dict) or key not in chart:
            unknown.append(where)
        elif isinstance(value, dict) and chart[key]:
            unknown += unknown_values(value, chart[key], where)
    return unknown


NATS_VALUES = yaml.safe_load((DEPLOY / "k8s" / "nats" / "values.yaml").read_text())
COMPOSE_FILE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())


# -- the checks ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_core_object_validates_strictly_at_the_pinned_kubernetes(overlay: str) -> None:
    objects = [o for o in rendered(overlay) if not is_cnpg(o)]
    assert len(objects) > 40
    assert [e for o in objects for e in core_errors(o)] == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_cloudnativepg_object_validates_against_the_vendored_crd(overlay: str) -> None:
    objects = [o for o in rendered(overlay) if is_cnpg(o)]
    clusters = [o for o in objects if o["kind"] == "Cluster"]
    assert {c["metadata"]["name"] for c in clusters} == {f"{a}-db" for a in apps.APPS}
    assert [e for o in objects for e in cnpg_errors(o)] == []


def test_the_compose_file_follows_the_compose_specification() -> None:
    assert compose_errors(COMPOSE_FILE) == []
    for app in (*apps.SERVICES, "gateway"):
        service = COMPOSE_FILE["services"][app]
        assert apps.FACTORIES[app] in service["command"] and "healthcheck" in service and service["read_only"]
    assert "healthcheck" in COMPOSE_FILE["services"]["postgres"] and "healthcheck" in COMPOSE_FILE["services"]["nats"]


def test_the_nats_values_use_only_keys_the_pinned_chart_knows() -> None:
    chart = yaml.safe_load((VENDOR / "nats-helm" / "Chart.yaml").read_text())
    assert chart["version"] == "2.14.2"
    assert unknown_values(NATS_VALUES, CHART_VALUES) == []
    assert NATS_VALUES["config"]["cluster"]["replicas"] == 3 and NATS_VALUES["config"]["jetstream"]["enabled"]


def test_generated_files_are_what_their_generators_write() -> None:
    assert generate.main(["--check"]) == 0, "run python deploy/k8s/generate.py"
    assert accounts.main(["--check"]) == 0, "run python deploy/k8s/nats/accounts.py"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its kustomize) is not installed here")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_python_renderer_agrees_with_kubectl_kustomize(overlay: str) -> None:
    out = subprocess.run(
        ["kubectl", "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)], capture_output=True, text=True, check=True
    ).stdout
    theirs = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(out) if o}
    assert {(o["kind"], o["metadata"]["name"]): o for o in rendered(overlay)} == theirs


# -- each check can fail -------------------------------------------------------------------------------------------


def _first(overlay: str, kind: str) -> dict[str, Any]:
    return copy.deepcopy(next(o for o in rendered(overlay) if o["kind"] == kind))


def test_a_misspelt_deployment_field_is_refused() -> None:
    deployment = _first("production", "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    assert core_errors(deployment) != []


def test_a_misspelt_cluster_field_is_refused() -> None:
    cluster = _first("production", "Cluster")
    cluster["spec"]["backup"]["barmanObjectStore"]["destinationPth"] = "s3://x"
    assert cnpg_errors(cluster) != []
    cluster = _first("production", "Cluster")
    cluster["spec"]["instances"] = "three"
    assert cnpg_errors(cluster) != []


def test_a_misspelt_compose_field_is_refused() -> None:
    broken = copy.deepcopy(COMPOSE_FILE)
    broken["services"]["gateway"]["healthckeck"] = broken["services"]["gateway"].pop("healthcheck")
    assert compose_errors(broken) != []


def test_an_unknown_helm_value_is_refused_and_free_form_maps_are_not() -> None:
    broken = copy.deepcopy(NATS_VALUES)
    broken["config"]["jetstream"]["fileStorage"] = {"size": "1Gi"}
    assert unknown_values(broken, CHART_VALUES) == ["config.jetstream.fileStorage"]
    broken = copy.deepcopy(NATS_VALUES)
    broken["config"]["merge"]["anything_at_all"] = 1
    assert unknown_values(broken, CHART_VALUES) == []


# -- what the issue requires of the production shape -------------------------------------------------------------


def test_every_process_is_production_shaped_and_takes_secrets_only_by_reference() -> None:
    objects = rendered("production")
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for app in apps.APPS:
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"):
            assert (kind, app) in kinds, (kind, app)
    assert ("Job", "divert-migrate") in kinds and not any(o["kind"] == "Secret" for o in objects)
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            pod = obj["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"]
            for c in pod["containers"]:
                assert c["resources"]["requests"] and c["resources"]["limits"], obj["metadata"]["name"]
                assert c["securityContext"] == apps.container_security()
                if obj["kind"] == "Deployment":
                    assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(c)
                for env in c.get("env", []):
                    assert "value" in env or {"secretKeyRef", "configMapKeyRef"} & set(env["valueFrom"])
        if obj["kind"] == "Cluster":
            assert obj["spec"]["instances"] == 3 and obj["spec"]["backup"]["barmanObjectStore"]["s3Credentials"]
        if obj["kind"] == "Service":
            assert obj["spec"].get("type", "ClusterIP") == "ClusterIP"  # only the Ingress exposes anything
    backends = [o["spec"]["rules"][0]["http"]["paths"][0]["backend"] for o in objects if o["kind"] == "Ingress"]
    assert backends == [{"service": {"name": "gateway", "port": {"name": "http"}}}]


def _egress_peers(policy: dict[str, Any]) -> set[str]:
    peers = set()
    for rule in policy["spec"]["egress"]:
        for peer in rule["to"]:
            labels = peer.get("podSelector", {}).get("matchLabels", {})
            peers.add(labels.get("app.kubernetes.io/name") or labels.get("cnpg.io/cluster") or labels.get("k8s-app"))
            peers.discard(None)
            if "ipBlock" in peer:
                peers.add(f"{peer['ipBlock']['cidr']}:{rule['ports'][0]['port']}")
    return peers


def test_a_service_reaches_only_its_database_nats_consent_the_gateway_dns_and_the_collector() -> None:
    policies = {o["metadata"]["name"]: o for o in rendered("production") if o["kind"] == "NetworkPolicy"}
    common = {"nats", "otel-collector", "kube-dns"}
    for service in apps.SERVICES:
        assert _egress_peers(policies[service]) == common | {f"{service}-db", "consent", "gateway"}
    webhooks = {"0.0.0.0/0:443"}
    assert _egress_peers(policies["gateway"]) == common | {"gateway-db", *apps.SERVICES} | webhooks
    public = next(p for r in policies["gateway"]["spec"]["egress"] for p in r["to"] if "ipBlock" in p)
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(public["ipBlock"]["except"])


def test_partner_accounts_import_only_their_own_feed_durables_next_and_ack() -> None:
    accounts_map = NATS_VALUES["config"]["merge"]["accounts"]
    partners = {name: a for name, a in accounts_map.items() if name != "DIVERT"}
    assert partners
    for name, account in partners.items():
        agency, _, jurisdiction = name.partition("@")
        stream, durable = f"FEEDS_{agency}_IN_{jurisdiction}", agency
        imported = sorted(i["service"]["subject"] for i in account["imports"])
        assert imported == sorted([f"$JS.ACK.{stream}.{durable}.>", f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"])
    for account in accounts_map.values():
        for user in account["users"]:
            assert user["password"] == f"<< ${apps.nats_password_key(user['user'])} >>"  # by reference only


def test_the_image_is_multi_stage_non_root_and_without_test_extras() -> None:
    lines = [line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if not line.lstrip().startswith("#")]
    dockerfile = "\n".join(lines)
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert len(stages) >= 2 and users and users[-1].split(":")[0] not in ("0", "root")
    assert "[test]" not in dockerfile and "PASSWORD" not in dockerfile.upper() and "SECRET" not in dockerfile.upper()
