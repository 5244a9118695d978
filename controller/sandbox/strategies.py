"""Per-kind rules applied on create and update: defaults, initial status, validation.

This mirrors the apiserver's registry strategies; only the kinds the project relies on get
real rules (pods, custom resources, CRDs, namespaces). Everything else is stored as sent.
"""

from __future__ import annotations

from typing import Any

from controller.sandbox import schema
from controller.sandbox.errors import Cause
from controller.sandbox.resources import ResourceType

JSON = dict[str, Any]
NON_SPEC = frozenset({"metadata", "status", "apiVersion", "kind"})
GENERATION_KINDS = frozenset({("", "pods"), ("apiextensions.k8s.io", "customresourcedefinitions")})


def tracks_generation(rt: ResourceType) -> bool:
    return rt.custom or rt.key in GENERATION_KINDS


def spec_of(obj: JSON) -> JSON:
    """What a generation bump is about: every top-level field but metadata and status."""
    return {k: v for k, v in obj.items() if k not in NON_SPEC}


def _container_defaults(container: JSON) -> None:
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("imagePullPolicy", "IfNotPresent")
    container.setdefault("resources", {})


def default_pod(pod: JSON) -> None:
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("priority", 0)
    for container in spec.get("containers") or []:
        if isinstance(container, dict):
            _container_defaults(container)


def pod_causes(pod: JSON) -> list[Cause]:
    containers = (pod.get("spec") or {}).get("containers")
    if not isinstance(containers, list) or not containers:
        return [Cause("FieldValueRequired", "spec.containers", "Required value")]
    causes = []
    for i, container in enumerate(containers):
        for key in ("name", "image"):
            if not (isinstance(container, dict) and container.get(key)):
                causes.append(
                    Cause("FieldValueRequired", f"spec.containers[{i}].{key}", "Required value")
                )
    return causes


def crd_causes(crd: JSON) -> list[Cause]:
    spec = crd.get("spec") or {}
    causes = [
        Cause("FieldValueRequired", f"spec.{key}", "Required value")
        for key in ("group", "names", "versions")
        if not spec.get(key)
    ]
    names = spec.get("names") or {}
    if spec.get("names") and not (names.get("plural") and names.get("kind")):
        causes.append(Cause("FieldValueRequired", "spec.names.plural", "Required value"))
    name = crd.get("metadata", {}).get("name")
    if not causes and name != f"{names['plural']}.{spec['group']}":
        msg = f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'
        causes.append(Cause("FieldValueInvalid", "metadata.name", msg))
    return causes


def crd_status(crd: JSON, now: str) -> JSON:
    names = dict((crd.get("spec") or {}).get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")

    def condition(kind: str, reason: str, message: str) -> JSON:
        return {
            "type": kind,
            "status": "True",
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }

    return {
        "acceptedNames": names,
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition(
                "Established", "InitialNamesAccepted", "the initial names have been accepted"
            ),
        ],
        "storedVersions": [v["name"] for v in crd["spec"]["versions"] if v.get("storage")],
    }


def prepare_create(rt: ResourceType, version: str, obj: JSON, now: str) -> JSON:
    """Defaults and initial status of a new object (status sent by the client is dropped
    where a status subresource exists, as the real server does)."""
    if rt.custom and "status" in rt.subresources:
        obj.pop("status", None)
    if rt.key == ("", "pods"):
        default_pod(obj)
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    elif rt.key == ("", "namespaces"):
        obj["status"] = {"phase": "Active"}
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"][
            "name"
        ]
    elif rt.key == ("apiextensions.k8s.io", "customresourcedefinitions") and not crd_causes(obj):
        obj["status"] = crd_status(obj, now)
    return normalize(rt, version, obj)


def normalize(rt: ResourceType, version: str, obj: JSON) -> JSON:
    found = rt.schema(version) if rt.custom else None
    if found is None:
        return obj
    return schema.normalize(found, obj)


def causes(rt: ResourceType, version: str, obj: JSON) -> list[Cause]:
    if rt.key == ("", "pods"):
        return pod_causes(obj)
    if rt.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        return crd_causes(obj)
    found = rt.schema(version) if rt.custom else None
    return schema.validate(found, obj) if found else []
