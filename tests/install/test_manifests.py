"""manifests/ is the chart's default render as a kustomize base, and builds with kustomize."""

from __future__ import annotations

import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from .chart import CRD, MANIFESTS, Obj
from .sync_manifests import HAND_WRITTEN, base_objects

HINT = "manifests/ is out of step with the chart: run python -m tests.install.sync_manifests"


def load(name: str) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all((MANIFESTS / name).read_text()) if doc]


def test_the_base_holds_exactly_the_charts_objects() -> None:
    expected = base_objects()
    for name, objs in expected.items():
        assert load(name) == objs, f"{name}: {HINT}"
    generated = {p.name for p in MANIFESTS.glob("*.yaml")} - set(HAND_WRITTEN) - {"crd.yaml"}
    assert generated == set(expected), HINT
    assert load("crd.yaml") == [yaml.safe_load(CRD.read_text())], HINT


def test_the_kustomization_lists_every_file() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    files = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_every_object_of_the_base_is_valid_kubernetes() -> None:
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path.name in ("kustomization.yaml", "course.yaml"):
            continue
        for obj in load(path.name):
            kubernetes_validate.validate(obj, "1.30.0", strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (kustomize) not installed")
def test_kustomize_builds_the_base() -> None:
    built = subprocess.run(["kubectl", "kustomize", str(MANIFESTS)], check=True,
                           capture_output=True, text=True, timeout=60).stdout
    objs = [doc for doc in yaml.safe_load_all(built) if doc]
    names = sorted((o["kind"], o["metadata"]["name"]) for o in objs)
    listed = sorted((o["kind"], o["metadata"]["name"])
                    for name in yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())[
                        "resources"] for o in load(name))
    assert names == listed
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    assert deployment["metadata"]["namespace"] == "course-system"
