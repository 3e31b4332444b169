"""The Kubernetes objects Divert's processes share: namespace defaults, the migrations Job, the OpenTelemetry
collector, the Ingress (only the gateway is exposed) and the NATS pods' NetworkPolicy."""

from __future__ import annotations

from typing import Any

from apps import (
    APP_TIER,
    APPS,
    IMAGE,
    NATS_PODS,
    container_security,
    db_cluster,
    dns_egress,
    labels,
    meta,
    pod_security,
    secret_env,
    selector,
    tcp,
)

COLLECTOR_IMAGE = "otel/opentelemetry-collector:0.128.0"
COLLECTOR_CONFIG = """\
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  batch: {}
exporters:
  # Replace in an overlay with the site's tracing backend (otlp/otlphttp exporter and its secret reference).
  debug:
    verbosity: basic
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [debug]
"""


def namespace_defaults() -> list[dict[str, Any]]:
    site = {"issuer": "https://divert.example.org", "public-nats-url": "nats://nats.divert.example.org:4222"}
    deny = {
        # Every Divert process and job starts from nothing; each one's own policy opens what it needs.
        "podSelector": {"matchExpressions": [{"key": "divert.io/tier", "operator": "In", "values": ["app", "job"]}]},
        "policyTypes": ["Ingress", "Egress"],
    }
    nats = {
        "podSelector": {"matchLabels": NATS_PODS},
        "policyTypes": ["Ingress"],
        "ingress": [
            {"from": [{"podSelector": {"matchLabels": APP_TIER}}], "ports": tcp(4222)},
            {"from": [{"podSelector": {"matchLabels": NATS_PODS}}], "ports": tcp(4222, 6222, 8222)},
        ],
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "divert", "labels": {"divert.io/name": "divert"}},
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": meta("divert", "divert"),
            "automountServiceAccountToken": False,
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("divert-site", "divert"), "data": site},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("default-deny", "divert")}
        | {"spec": deny},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("nats", "divert")}
        | {"spec": nats},
    ]


def migrate_job() -> list[dict[str, Any]]:
    """`divert migrate` over every database; run to completion before the Deployments roll (README: upgrades)."""
    env: list[dict[str, Any]] = [
        {"name": "DIVERT_HOME", "value": "/tmp/divert"},
        {"name": "DIVERT_GATEWAY_URL", "value": "http://gateway"},
    ]
    for app in APPS:
        p = f"DIVERT_{app.upper()}_"
        env += [
            secret_env(p + "DB_USER", f"{db_cluster(app)}-app", "username"),
            secret_env(p + "DB_PASSWORD", f"{db_cluster(app)}-app", "password"),
            {
                "name": p + "DATABASE_URL",
                "value": f"postgresql://$({p}DB_USER):$({p}DB_PASSWORD)@{app}-db-rw:5432/{app}",
            },
        ]
    container = {
        "name": "migrate",
        "image": IMAGE,
        "command": ["divert", "migrate"],
        "env": env,
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = {
        "serviceAccountName": "divert",
        "automountServiceAccountToken": False,
        "restartPolicy": "OnFailure",
        "securityContext": pod_security(),
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }
    spec = {
        "backoffLimit": 6,
        "activeDeadlineSeconds": 1800,
        "ttlSecondsAfterFinished": 86400,
        "template": {"metadata": {"labels": labels("divert-migrate", "job")}, "spec": pod},
    }
    databases = {"key": "cnpg.io/cluster", "operator": "In", "values": [db_cluster(a) for a in APPS]}
    policy = {
        "podSelector": {"matchLabels": selector("divert-migrate")},
        "policyTypes": ["Ingress", "Egress"],
        "egress": [{"to": [{"podSelector": {"matchExpressions": [databases]}}], "ports": tcp(5432)}, dns_egress()],
    }
    return [
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta("divert-migrate", "divert-migrate", "job")}
        | {"spec": spec},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy"}
        | {"metadata": meta("divert-migrate", "divert-migrate", "job"), "spec": policy},
    ]


def collector() -> list[dict[str, Any]]:
    name = "otel-collector"
    container = {
        "name": name,
        "image": COLLECTOR_IMAGE,
        "args": ["--config=/conf/config.yaml"],
        "ports": [
            {"name": "otlp-grpc", "containerPort": 4317},
            {"name": "otlp-http", "containerPort": 4318},
            {"name": "health", "containerPort": 13133},
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        "startupProbe": {"httpGet": {"path": "/", "port": "health"}, "periodSeconds": 2, "failureThreshold": 30},
        "livenessProbe": {"httpGet": {"path": "/", "port": "health"}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/", "port": "health"}, "periodSeconds": 5},
        "securityContext": container_security(),
        "volumeMounts": [{"name": "config", "mountPath": "/conf", "readOnly": True}],
    }
    pod = {
        "automountServiceAccountToken": False,
        "securityContext": pod_security(),
        "containers": [container],
        "volumes": [{"name": "config", "configMap": {"name": name}}],
    }
    deployment = {
        "replicas": 2,
        "selector": {"matchLabels": selector(name)},
        "template": {"metadata": {"labels": labels(name, "telemetry")}, "spec": pod},
    }
    ports = [{"name": "otlp-grpc", "port": 4317, "targetPort": "otlp-grpc"}]
    ports.append({"name": "otlp-http", "port": 4318, "targetPort": "otlp-http"})
    policy = {
        "podSelector": {"matchLabels": selector(name)},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": APP_TIER}}], "ports": tcp(4317, 4318)}],
    }
    m = meta(name, name, "telemetry")
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": {"config.yaml": COLLECTOR_CONFIG}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": m, "spec": deployment},
        {"apiVersion": "v1", "kind": "Service", "metadata": m, "spec": {"selector": selector(name), "ports": ports}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": m}
        | {"spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(name)}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": m, "spec": policy},
    ]


def ingress() -> dict[str, Any]:
    host = "divert.example.org"
    backend = {"service": {"name": "gateway", "port": {"name": "http"}}}
    rule = {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
    spec = {"tls": [{"hosts": [host], "secretName": "divert-gateway-tls"}], "rules": [rule]}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": meta("gateway", "gateway"),
        "spec": spec,
    }
