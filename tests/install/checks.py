"""Checks over rendered objects: RBAC exactly as needed, the restricted Pod Security Standard."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]
Request = tuple[str, str]
"""(verb, resource): resource is ``[group/]plural[/subresource]``, the group only when it
has a dot (``learning.dev/courses/status``), so core resources read ``pods``, ``events``."""


def _split(resource: str) -> tuple[str, str]:
    head, _, rest = resource.partition("/")
    if "." in head and rest:
        return head, rest
    return "", resource


def _grants(rule: Obj) -> set[Request]:
    pairs = set()
    for group in rule.get("apiGroups") or []:
        for res in rule.get("resources") or []:
            for verb in rule.get("verbs") or []:
                pairs.add((verb, f"{group}/{res}" if group else res))
    return pairs


def rbac_problems(rules: Iterable[Obj], needed: Iterable[Request]) -> list[str]:
    """What is wrong with ``rules`` for exactly ``needed``: missing grants and extra ones.

    Wildcards, nonResourceURLs and resourceNames count as problems: the controller needs
    none of them, and a rule narrowed by name would not allow list/watch/create anyway.
    """
    needed = {(verb, "/".join(filter(None, _split(res)))) for verb, res in needed}
    problems: list[str] = []
    granted: set[Request] = set()
    for rule in rules:
        for key in ("nonResourceURLs", "resourceNames"):
            if rule.get(key):
                problems.append(f"rule uses {key}: {rule}")
        fields = ("apiGroups", "resources", "verbs")
        if any("*" in str(x) for k in fields for x in rule.get(k) or []):
            problems.append(f"rule uses a wildcard: {rule}")
        granted |= _grants(rule)
    problems += [f"missing: {verb} {res}" for verb, res in sorted(needed - granted)]
    problems += [f"not needed: {verb} {res}" for verb, res in sorted(granted - needed)]
    return problems


ALLOWED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                   "persistentVolumeClaim", "projected", "secret"}
SECCOMP_OK = {"RuntimeDefault", "Localhost"}


def restricted_problems(pod_spec: Obj) -> list[str]:
    """Violations of the restricted Pod Security Standard (v1.25+), plus a writable root
    filesystem, which the brief forbids too. An empty list means the pod is admitted."""
    problems: list[str] = []
    pod_sc = pod_spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod_spec.get(key):
            problems.append(f"pod sets {key}")
    for volume in pod_spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= ALLOWED_VOLUMES:
            problems.append(f"volume {volume['name']} uses {sorted(kinds - ALLOWED_VOLUMES)}")
    if pod_sc.get("runAsUser") == 0:
        problems.append("pod runs as UID 0")
    all_containers = [*(pod_spec.get("initContainers") or []), *pod_spec["containers"]]
    for container in all_containers:
        problems += [f"{container['name']}: {p}" for p in _container_problems(container, pod_sc)]
    return problems


def _container_problems(container: Obj, pod_sc: Obj) -> list[str]:
    sc = container.get("securityContext") or {}
    problems = []
    if sc.get("privileged"):
        problems.append("privileged")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
        problems.append("runAsNonRoot is not true")
    if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
        problems.append("runs as UID 0")
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp not in SECCOMP_OK:
        problems.append(f"seccompProfile is {seccomp}")
    capabilities = sc.get("capabilities") or {}
    if "ALL" not in (capabilities.get("drop") or []):
        problems.append("capabilities do not drop ALL")
    if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
        problems.append(f"adds capabilities {capabilities['add']}")
    if any(port.get("hostPort") for port in container.get("ports") or []):
        problems.append("uses a hostPort")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append("root filesystem is writable")
    return problems
