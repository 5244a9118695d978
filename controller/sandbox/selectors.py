"""Label and field selectors, parsed the way kube-apiserver parses them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controller.sandbox.errors import ApiError, bad_request

JSON = dict[str, Any]


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # "!=" and "notin"


Selector = Callable[[JSON], bool]

_SET_RE = re.compile(r"^\s*(\S+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)\s*$")
_KEY_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9][-A-Za-z0-9_./]*)\s*$")


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def _requirement(text: str) -> Requirement:
    if m := _SET_RE.match(text):
        values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
        return Requirement(m.group(1), m.group(2), values)
    if m := _EQ_RE.match(text):
        op = "!=" if m.group(2) == "!=" else "="
        return Requirement(m.group(1), op, (m.group(3),))
    if m := _KEY_RE.match(text):
        return Requirement(m.group(2), "!" if m.group(1) else "exists")
    raise bad_request(f"unable to parse requirement: found '{text.strip()}', expected: key")


def parse_labels(text: str | None) -> Selector:
    requirements = [_requirement(p) for p in _split_top(text or "")]

    def matches(obj: JSON) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return matches


COMMON_FIELDS = ("metadata.name", "metadata.namespace")
EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)
BUILTIN_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "pods"): (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    ("", "namespaces"): ("status.phase",),
    ("", "events"): EVENT_FIELDS,
    ("events.k8s.io", "events"): EVENT_FIELDS,
    ("", "secrets"): ("type",),
}


def field_value(obj: JSON, path: str) -> str:
    if path == "source":
        return str((obj.get("source") or {}).get("component", ""))
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None and path.startswith("involvedObject."):
        node = (obj.get("regarding") or {}).get(path.split(".", 1)[1])
    return "" if node is None else str(node)


def _unknown_field(custom: bool, name: str) -> ApiError:
    if custom:
        return bad_request(
            f'"{name}" is not a known field selector: only "metadata.name", "metadata.namespace"'
        )
    return bad_request(f"field label not supported: {name}")


def parse_fields(text: str | None, key: tuple[str, str], custom: bool) -> Selector:
    allowed = COMMON_FIELDS + BUILTIN_FIELDS.get(key, ())
    terms: list[tuple[str, bool, str]] = []
    for part in _split_top(text or ""):
        m = _EQ_RE.match(part)
        if not m:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        if m.group(1) not in allowed:
            raise _unknown_field(custom, m.group(1))
        terms.append((m.group(1), m.group(2) != "!=", m.group(3)))

    def matches(obj: JSON) -> bool:
        return all((field_value(obj, f) == v) == eq for f, eq, v in terms)

    return matches
