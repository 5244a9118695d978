"""The resource types the sandbox serves: built-in kinds and live-registered CRDs.

Objects are stored per (group, plural), not per version: a CRD's versions share one
storage, as they do in kube-apiserver (with ``None`` conversion).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    type: str
    json_path: str
    description: str = ""
    priority: int = 0
    format: str = ""


@dataclass(frozen=True)
class ResourceType:
    """One served resource; ``schema`` is the openAPIV3Schema of a CRD version, if any."""

    group: str
    versions: tuple[str, ...]
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    schemas: tuple[tuple[str, JSON | None], ...] = ()
    printer_columns: tuple[tuple[str, tuple[PrinterColumn, ...]], ...] = ()
    custom: bool = False
    list_kind: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        """``courses.learning.dev`` or ``pods``: the name used in error messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def kind_group(self) -> str:
        """``Course.learning.dev`` or ``Pod``: the prefix of Invalid messages."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version

    def schema(self, version: str) -> JSON | None:
        return dict(self.schemas).get(version)

    def columns(self, version: str) -> tuple[PrinterColumn, ...]:
        return dict(self.printer_columns).get(version, ())


@dataclass(frozen=True)
class Builtin:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    categories: tuple[str, ...] = ()


BUILTINS = (
    Builtin("", "v1", "namespaces", "Namespace", False, ("ns",), frozenset({"status"})),
    Builtin("", "v1", "pods", "Pod", True, ("po",), frozenset({"status", "log"}), ("all",)),
    Builtin("", "v1", "events", "Event", True, ("ev",)),
    Builtin("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    Builtin("", "v1", "secrets", "Secret", True),
    Builtin("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    Builtin("events.k8s.io", "v1", "events", "Event", True, ("ev",)),
    Builtin("coordination.k8s.io", "v1", "leases", "Lease", True),
    Builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        frozenset({"status"}),
    ),
)


def builtin_type(b: Builtin) -> ResourceType:
    return ResourceType(
        group=b.group,
        versions=(b.version,),
        plural=b.plural,
        singular=b.kind.lower(),
        kind=b.kind,
        namespaced=b.namespaced,
        short_names=b.short_names,
        categories=b.categories,
        subresources=b.subresources,
        list_kind=b.kind + "List",
    )


def _columns(version: JSON) -> tuple[PrinterColumn, ...]:
    return tuple(
        PrinterColumn(
            name=c["name"],
            type=c.get("type", "string"),
            json_path=c["jsonPath"],
            description=c.get("description", ""),
            priority=int(c.get("priority", 0)),
            format=c.get("format", ""),
        )
        for c in version.get("additionalPrinterColumns", [])
    )


def crd_type(crd: JSON) -> ResourceType:
    """The resource type a CustomResourceDefinition object registers."""
    spec = crd["spec"]
    names = spec["names"]
    served = [v for v in spec["versions"] if v.get("served", True)]
    storage_first = sorted(served, key=lambda v: not v.get("storage", False))
    subresources: set[str] = set()
    for v in served:
        subresources.update((v.get("subresources") or {}).keys())
    return ResourceType(
        group=spec["group"],
        versions=tuple(v["name"] for v in storage_first),
        plural=names["plural"],
        singular=names.get("singular", names["kind"].lower()),
        kind=names["kind"],
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(names.get("shortNames", [])),
        categories=tuple(names.get("categories", [])),
        subresources=frozenset(subresources),
        schemas=tuple((v["name"], (v.get("schema") or {}).get("openAPIV3Schema")) for v in served),
        printer_columns=tuple((v["name"], _columns(v)) for v in served),
        custom=True,
        list_kind=names.get("listKind", names["kind"] + "List"),
    )


@dataclass
class Registry:
    """Served resource types, looked up by (group, version, plural)."""

    types: dict[tuple[str, str], ResourceType] = field(default_factory=dict)

    @classmethod
    def with_builtins(cls) -> Registry:
        registry = cls()
        for b in BUILTINS:
            registry.add(builtin_type(b))
        return registry

    def add(self, rt: ResourceType) -> None:
        self.types[rt.key] = rt

    def fork(self) -> Registry:
        return Registry(dict(self.types))

    def remove(self, key: tuple[str, str]) -> None:
        self.types.pop(key, None)

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        rt = self.types.get((group, plural))
        return rt if rt is not None and version in rt.versions else None

    def by_key(self, key: tuple[str, str]) -> ResourceType | None:
        return self.types.get(key)

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in self.types.values():
            if rt.group == group and rt.kind == kind and version in rt.versions:
                return rt
        return None

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self.types.values()))

    def group_versions(self) -> dict[str, list[str]]:
        """Group name -> served versions, preferred (storage) first; "" is the core group."""
        groups: dict[str, list[str]] = {}
        for rt in self.types.values():
            versions = groups.setdefault(rt.group, [])
            versions.extend(v for v in rt.versions if v not in versions)
        return groups
