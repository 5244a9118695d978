"""Write manifests/ (the kustomize base) from the chart's default render.

Run ``python -m tests.install.sync_manifests`` after changing the chart;
test_manifests.py fails while manifests/ and the chart disagree.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from .chart import CRD, MANIFESTS, NAMESPACE, Obj, is_hook, objects, without_helm_bookkeeping

HEADER = ("# Generated from helm/course-controller (default values) by\n"
          "# `python -m tests.install.sync_manifests`; edit the chart, not this file.\n")

FILES = {  # kind -> file of the base
    "ServiceAccount": "serviceaccount.yaml",
    "Role": "rbac.yaml", "RoleBinding": "rbac.yaml",
    "ClusterRole": "rbac.yaml", "ClusterRoleBinding": "rbac.yaml",
    "ConfigMap": "configmap.yaml",
    "Deployment": "deployment.yaml",
    "Service": "service.yaml",
    "PodDisruptionBudget": "poddisruptionbudget.yaml",
}
HAND_WRITTEN = ("kustomization.yaml", "namespace.yaml", "course.yaml")


def base_objects() -> dict[str, list[Obj]]:
    """File name -> the chart's objects that belong in it, as the base holds them."""
    files: dict[str, list[Obj]] = {}
    for obj in objects():
        if is_hook(obj):
            continue
        files.setdefault(FILES[obj["kind"]], []).append(without_helm_bookkeeping(obj))
    return files


def write(directory: Path = MANIFESTS) -> None:
    for name, objs in base_objects().items():
        body = "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objs)
        (directory / name).write_text(HEADER + body)
    shutil.copyfile(CRD, directory / "crd.yaml")


if __name__ == "__main__":
    write()
    print(f"wrote {MANIFESTS} for namespace {NAMESPACE}")
