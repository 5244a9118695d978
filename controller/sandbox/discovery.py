"""Discovery documents (legacy, non-aggregated: kubectl falls back to them)."""

from __future__ import annotations

from typing import Any

from controller.sandbox.resources import ALL_VERBS, Registry, ResourceType

JSON = dict[str, Any]
VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-sandbox",
    "gitCommit": "sandbox",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23.3",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def api_versions(address: str) -> JSON:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group(name: str, versions: list[str]) -> JSON:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def api_group(registry: Registry, name: str) -> JSON | None:
    versions = registry.group_versions().get(name)
    if not versions or not name:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def api_group_list(registry: Registry) -> JSON:
    groups = [_group(n, v) for n, v in sorted(registry.group_versions().items()) if n]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _entries(rt: ResourceType) -> list[JSON]:
    main: JSON = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(ALL_VERBS),
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    subs = [
        {
            "name": f"{rt.plural}/{sub}",
            "singularName": "",
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": ["get"] if sub == "log" else ["get", "patch", "update"],
        }
        for sub in sorted(rt.subresources)
    ]
    return [main, *subs]


def resource_list(registry: Registry, group: str, version: str) -> JSON | None:
    types = [rt for rt in registry if rt.group == group and version in rt.versions]
    if not types:
        return None
    resources = [entry for rt in sorted(types, key=lambda t: t.plural) for entry in _entries(rt)]
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }
