"""A small Kustomize, enough for deploy/k8s: what `kustomize build` does with the fields our kustomizations use.

kustomize is not published on PyPI or npm, so `make test` renders with this; tests/test_deploy_manifests.py
also compares it with `kubectl kustomize` wherever kubectl is installed, so the two cannot drift apart.
Supported: `resources` (files and directories), `namespace`, `images` (newName/newTag) and `patches` (a file,
optionally with a `target` kind/name): a merge patch where maps merge, `null` deletes, lists of named items
merge by name and other lists are replaced, or `$patch: delete` to drop the matched objects. Anything else in
a kustomization is refused, so a new field is never silently ignored.

    python deploy/k8s/render.py deploy/k8s/overlays/production
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

KNOWN = {"apiVersion", "kind", "namespace", "resources", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
POD_TEMPLATES = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


class KustomizationError(ValueError):
    pass


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def build(directory: Path) -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - KNOWN
    if unknown:
        raise KustomizationError(f"{directory}: fields this renderer does not support: {sorted(unknown)}")
    objects: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        objects += build(path) if path.is_dir() else load_all(path)
    for patch in kustomization.get("patches", []):
        objects = apply_patch(objects, load_all(directory / patch["path"])[0], patch.get("target"))
    for image in kustomization.get("images", []):
        for obj in objects:
            set_image(obj, image)
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = kustomization["namespace"]
    return objects


def _match_target(obj: dict[str, Any], target: dict[str, Any]) -> bool:
    unknown = set(target) - {"kind", "name"}
    if unknown:
        raise KustomizationError(f"patch target fields this renderer does not support: {sorted(unknown)}")
    return obj["kind"] == target.get("kind", obj["kind"]) and obj["metadata"]["name"] == target.get(
        "name", obj["metadata"]["name"]
    )


def apply_patch(objects: list[dict[str, Any]], patch: dict[str, Any], target: dict[str, Any] | None) -> list[Any]:
    # Without a target, a patch names its object; with one, its own name is a placeholder (as in kustomize).
    target = target or {"kind": patch["kind"], "name": patch["metadata"]["name"]}
    hits = [obj for obj in objects if _match_target(obj, target)]
    if not hits:
        raise KustomizationError(f"a patch matched nothing: {target}")
    if patch.get("$patch") == "delete":
        return [obj for obj in objects if obj not in hits]
    body = {k: v for k, v in patch.items() if k not in {"apiVersion", "kind"}}
    body["metadata"] = {k: v for k, v in patch["metadata"].items() if k != "name"}
    return [merge(obj, body) if obj in hits else obj for obj in objects]


def merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge(base.get(key), value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        by_name = {item["name"]: item for item in base}
        for item in patch:
            by_name[item["name"]] = merge(by_name.get(item["name"]), item)
        return list(by_name.values())
    return patch


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "name" in item for item in items)


def set_image(obj: dict[str, Any], image: dict[str, str]) -> None:
    if obj["kind"] not in POD_TEMPLATES:
        return
    pod = obj["spec"]["template"]["spec"]
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        name, _, tag = container["image"].partition(":")
        if name == image["name"]:
            container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}".rstrip(":")


if __name__ == "__main__":
    sys.stdout.write("---\n".join(yaml.safe_dump(o, sort_keys=False) for o in build(Path(sys.argv[1]))))
