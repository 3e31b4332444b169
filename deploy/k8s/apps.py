"""The Kubernetes objects of one Divert process (a service or the gateway): Deployment, Service, PDB, HPA,
NetworkPolicy, and its CloudNativePG database with scheduled backups.

Kustomize has no loops, and seven processes differ only in names and a few settings, so `generate.py` writes
the base from here and tests/test_deploy_manifests.py checks the committed base is what this writes.
The environment mirrors devstack/divert_devstack/stack.py (`_service_env`, `_gateway_env`).
"""

from __future__ import annotations

from typing import Any

SERVICES = ("referral", "casemgmt", "consent", "prosecution", "audit", "evaluation")
APPS = (*SERVICES, "gateway")
FACTORIES = {**{s: f"{s}.bootstrap:create" for s in SERVICES}, "gateway": "divert_gateway.bootstrap:create"}
IMAGE = "divert"
PG_IMAGE = "ghcr.io/cloudnative-pg/postgresql:18.6"
NATS_HOST = "divert-nats"  # the Helm release `divert-nats` in the same namespace (deploy/k8s/nats/values.yaml)
NATS_USERS_SECRET = "divert-nats-users"
PORT = 8000
UID = 10001
APP_TIER = {"divert.io/tier": "app"}
NATS_PODS = {"app.kubernetes.io/name": "nats", "app.kubernetes.io/instance": "divert-nats"}
PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"]


def labels(app: str, tier: str = "app") -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "divert", "divert.io/tier": tier}


def selector(app: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app}


def meta(name: str, app: str, tier: str = "app") -> dict[str, Any]:
    return {"name": name, "labels": labels(app, tier)}


def db_cluster(app: str) -> str:
    return f"{app}-db"


def nats_password_key(user: str) -> str:
    """The key of a NATS user's password in the `divert-nats-users` Secret (also its env name in the NATS pods)."""
    return "NATS_PW_" + "".join(c if c.isalnum() else "_" for c in user).upper()


def secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def site_env(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"configMapKeyRef": {"name": "divert-site", "key": key}}}


def credentials_env(app: str) -> list[dict[str, Any]]:
    """Defined first, so the URLs below can use them through Kubernetes' $(VAR) expansion, never in the repo."""
    return [
        secret_env("DB_USER", f"{db_cluster(app)}-app", "username"),
        secret_env("DB_PASSWORD", f"{db_cluster(app)}-app", "password"),
        secret_env("NATS_PASSWORD", NATS_USERS_SECRET, nats_password_key(f"divert-{app}")),
    ]


def app_env(app: str) -> list[dict[str, Any]]:
    p = app.upper() + "_"
    env = [
        *credentials_env(app),
        {"name": p + "ENVIRONMENT", "value": "production"},
        {"name": p + "DATABASE_URL", "value": f"postgresql+asyncpg://$(DB_USER):$(DB_PASSWORD)@{app}-db-rw:5432/{app}"},
        {"name": p + "NATS_URL", "value": f"nats://divert-{app}:$(NATS_PASSWORD)@{NATS_HOST}:4222"},
        {"name": p + "SITES_FILE", "value": "/etc/divert/sites/sites.json"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector:4318"},
    ]
    if app == "gateway":
        env += [
            site_env("GATEWAY_ISSUER", "issuer"),
            site_env("GATEWAY_PUBLIC_NATS_URL", "public-nats-url"),
            *({"name": f"GATEWAY_{s.upper()}_URL", "value": f"http://{s}"} for s in SERVICES),
            # Whose X-Forwarded-For uvicorn believes. The gateway's NetworkPolicy admits only the ingress namespace
            # and Divert's own pods, so in-cluster addresses are the Ingress (and our services, which send none);
            # a site may narrow this to its ingress controller's pod range with a patch.
            {"name": "FORWARDED_ALLOW_IPS", "value": ",".join(PRIVATE_RANGES)},
        ]
    else:
        env += [
            site_env(p + "TOKEN_ISSUER", "issuer"),
            {"name": p + "JWKS_URL", "value": "http://gateway/.well-known/jwks.json"},
            {"name": p + "CONSENT_URL", "value": "http://consent"},
        ]
    if app == "audit":
        env.append({"name": "AUDIT_SIGNING_KEY_FILE", "value": "/etc/divert/audit-key/key.pem"})
    return env


def volumes(app: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    vols = [
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        {"name": "sites", "configMap": {"name": "divert-sites"}},
    ]
    mounts = [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "sites", "mountPath": "/etc/divert/sites", "readOnly": True},
    ]
    if app == "audit":
        vols.append({"name": "audit-key", "secret": {"secretName": "divert-audit-signing-key", "defaultMode": 0o440}})
        mounts.append({"name": "audit-key", "mountPath": "/etc/divert/audit-key", "readOnly": True})
    return vols, mounts


def probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period, "failureThreshold": failures}


def pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}


def deployment(app: str) -> dict[str, Any]:
    vols, mounts = volumes(app)
    gateway = app == "gateway"
    argv = ["uvicorn", "--factory", FACTORIES[app], "--host", "0.0.0.0", "--port", str(PORT), "--no-access-log"]
    if gateway:
        # The caller's address (rate limits, failed-secret throttling) from X-Forwarded-For, believed only from the
        # peers FORWARDED_ALLOW_IPS names (see app_env): otherwise every partner is the ingress controller.
        argv.append("--proxy-headers")
    container = {
        "name": app,
        "image": IMAGE,
        "command": [*argv, "--timeout-graceful-shutdown", "20"],
        "ports": [{"name": "http", "containerPort": PORT}],
        "env": app_env(app),
        "resources": {
            "requests": {"cpu": "200m" if gateway else "100m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "startupProbe": probe("/healthz", 2, 30),
        "livenessProbe": probe("/healthz", 10, 3),
        "readinessProbe": probe("/readyz", 5, 2),
        # Endpoints drop a terminating pod a moment after SIGTERM; until then it keeps answering.
        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}},
        "securityContext": container_security(),
        "volumeMounts": mounts,
    }
    spread = {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(app, app),
        "spec": {
            "replicas": 2,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector(app)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels(app)},
                "spec": {
                    "serviceAccountName": "divert",
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": pod_security(),
                    "topologySpreadConstraints": [{**spread, "labelSelector": {"matchLabels": selector(app)}}],
                    "containers": [container],
                    "volumes": vols,
                },
            },
        },
    }


def service(app: str) -> dict[str, Any]:
    port = {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    spec = {"type": "ClusterIP", "selector": selector(app), "ports": [port]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(app, app), "spec": spec}


def pdb(app: str) -> dict[str, Any]:
    spec = {"maxUnavailable": 1, "selector": {"matchLabels": selector(app)}}
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(app, app), "spec": spec}


def hpa(app: str) -> dict[str, Any]:
    target = {"type": "Utilization", "averageUtilization": 70}
    spec = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
        "minReplicas": 2,
        "maxReplicas": 6,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}],
        # Scale in slowly: a replica leaving hands its durable-consumer share and any lock back to the others.
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
    }
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(app, app), "spec": spec}


def tcp(*ports: int, protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": p} for p in ports]


def to_pods(match: dict[str, str], *ports: int) -> dict[str, Any]:
    return {"to": [{"podSelector": {"matchLabels": match}}], "ports": tcp(*ports)}


def dns_egress() -> dict[str, Any]:
    kube_dns = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    return {"to": [kube_dns], "ports": tcp(53, protocol="UDP") + tcp(53)}


def network_policy(app: str) -> dict[str, Any]:
    """A service reaches its database, NATS, consent, the gateway's JWKS, DNS and the collector; nothing else."""
    egress = [
        to_pods({"cnpg.io/cluster": db_cluster(app)}, 5432),
        to_pods(NATS_PODS, 4222),
        to_pods(selector("otel-collector"), 4317, 4318),
        dns_egress(),
    ]
    if app == "gateway":
        egress += [to_pods(selector(s), PORT) for s in SERVICES]
        # The delivery component's webhooks: public HTTPS endpoints only, never an address inside the network.
        public = {"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE_RANGES}}
        egress.append({"to": [public], "ports": tcp(443)})
        ingress = [
            {"from": [{"podSelector": {"matchLabels": APP_TIER}}], "ports": tcp(PORT)},  # JWKS for every service
            {"from": [{"namespaceSelector": {"matchLabels": {"divert.io/ingress": "true"}}}], "ports": tcp(PORT)},
        ]
    else:
        egress += [to_pods(selector("consent"), PORT), to_pods(selector("gateway"), PORT)]
        callers = APP_TIER if app == "consent" else selector("gateway")
        ingress = [{"from": [{"podSelector": {"matchLabels": callers}}], "ports": tcp(PORT)}]
    spec = {"podSelector": {"matchLabels": selector(app)}, "policyTypes": ["Ingress", "Egress"]}
    spec |= {"ingress": ingress, "egress": egress}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(app, app), "spec": spec}


def database(app: str) -> list[dict[str, Any]]:
    """Three PostgreSQL instances run by CloudNativePG, WAL archived and base-backed-up nightly to object storage."""
    name = db_cluster(app)
    creds = {
        "accessKeyId": {"name": "divert-backup-s3", "key": "ACCESS_KEY_ID"},
        "secretAccessKey": {"name": "divert-backup-s3", "key": "ACCESS_SECRET_KEY"},
    }
    store = {
        "destinationPath": f"s3://divert-backups/{app}",
        "s3Credentials": creds,
        "wal": {"compression": "gzip"},
        "data": {"compression": "gzip"},
    }
    cluster = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": meta(name, app, "database"),
        "spec": {
            "instances": 3,
            "imageName": PG_IMAGE,
            "primaryUpdateStrategy": "unsupervised",
            "bootstrap": {"initdb": {"database": app, "owner": app}},
            "storage": {"size": "10Gi"},
            "walStorage": {"size": "5Gi"},
            "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
            "affinity": {"podAntiAffinityType": "required", "topologyKey": "kubernetes.io/hostname"},
            "backup": {"retentionPolicy": "30d", "barmanObjectStore": store},
        },
    }
    scheduled = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": meta(name, app, "database"),
        "spec": {"schedule": "0 0 2 * * *", "cluster": {"name": name}, "backupOwnerReference": "self"},
    }
    peers = [
        {"podSelector": {"matchLabels": selector(app)}},
        {"podSelector": {"matchLabels": selector("divert-migrate")}},
        {"podSelector": {"matchLabels": {"cnpg.io/cluster": name}}},  # replication between its own instances
    ]
    operator = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "cnpg-system"}}}
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(name, app, "database"),
        "spec": {
            "podSelector": {"matchLabels": {"cnpg.io/cluster": name}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": peers, "ports": tcp(5432)}, {"from": [operator], "ports": tcp(8000, 5432)}],
        },
    }
    return [cluster, scheduled, policy]


def app_objects(app: str) -> list[dict[str, Any]]:
    return [deployment(app), service(app), pdb(app), hpa(app), network_policy(app)]
