"""Render the chart with Helm's own Go engine (helm-python-sdk binds Helm's SDK in-process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "course-controller"
MANIFESTS = ROOT / "manifests"
CRD = ROOT / "controller" / "crds" / "course.yaml"
RELEASE = "course-controller"
NAMESPACE = "course-system"

Obj = dict[str, Any]

HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
HELM_ONLY_ANNOTATIONS = ("checksum/config",)


def render(values: Obj | None = None, *, release: str = RELEASE,
           namespace: str = NAMESPACE) -> dict[str, list[Obj]]:
    """Template path -> the objects it renders (empty documents dropped; NOTES.txt kept out)."""
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values or {})
        rendered = chart.render(values or {}, name=release, namespace=namespace,
                                is_install=True)
    return {path: [doc for doc in yaml.safe_load_all(text) if doc]
            for path, text in rendered.items() if not path.endswith("NOTES.txt")}


def notes(values: Obj | None = None) -> str:
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values or {}, name=RELEASE, namespace=NAMESPACE,
                                is_install=True)
    return next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))


def objects(values: Obj | None = None, **kwargs: Any) -> list[Obj]:
    return [obj for docs in render(values, **kwargs).values() for obj in docs]


def is_hook(obj: Obj) -> bool:
    return "helm.sh/hook" in (obj["metadata"].get("annotations") or {})


def find(objs: list[Obj], kind: str, name: str | None = None) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind and name in (None, o["metadata"]["name"])]


def one(objs: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = find(objs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def chart_crds() -> list[Obj]:
    return [doc for path in sorted((CHART / "crds").glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def containers(obj: Obj) -> Iterator[Obj]:
    spec = pod_spec(obj)
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj["spec"]["template"]["spec"] if obj["kind"] != "Pod" else obj["spec"]
    return spec


def without_helm_bookkeeping(obj: Obj) -> Obj:
    """The object as a plain kustomize base holds it: no Helm-only labels or annotations."""
    obj = yaml.safe_load(yaml.safe_dump(obj))
    for meta in _metadatas(obj):
        for key in HELM_ONLY_LABELS:
            (meta.get("labels") or {}).pop(key, None)
        annotations = meta.get("annotations") or {}
        for key in HELM_ONLY_ANNOTATIONS:
            annotations.pop(key, None)
        if "annotations" in meta and not annotations:
            del meta["annotations"]
    return obj


def _metadatas(obj: Obj) -> Iterator[Obj]:
    yield obj["metadata"]
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict) and "metadata" in template:
        yield template["metadata"]
