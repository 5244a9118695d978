"""Just enough OpenAPI v3 for kubectl: each PATCH operation declares ``fieldValidation``.

kubectl (>= 1.27) asks /openapi/v3 whether the server validates fields itself; when it
does, kubectl sends ``fieldValidation=Strict`` and skips client-side validation, so the
server's own 400/422 messages reach the user exactly as on a real cluster. Without any
OpenAPI document kubectl refuses to apply ("failed to download openapi").
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from controller.sandbox.resources import Registry, ResourceType

JSON = dict[str, Any]
QUERY_PARAMS = ("fieldValidation", "fieldManager", "dryRun", "force")


def _prefix(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def _operation(rt: ResourceType, version: str) -> JSON:
    return {
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": version, "kind": rt.kind},
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for name in QUERY_PARAMS
        ],
        "responses": {"200": {"description": "OK"}},
    }


def group_version_doc(registry: Registry, group: str, version: str) -> JSON | None:
    types = [rt for rt in registry if rt.group == group and version in rt.versions]
    if not types:
        return None
    paths: JSON = {}
    for rt in types:
        scope = "namespaces/{namespace}/" if rt.namespaced else ""
        base = f"/{_prefix(group, version)}/{scope}{rt.plural}"
        op = _operation(rt, version)
        paths[base] = {"post": op}
        paths[base + "/{name}"] = {"get": op, "put": op, "patch": op, "delete": op}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def root(registry: Registry) -> JSON:
    paths = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            doc = group_version_doc(registry, group, version)
            digest = hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]
            prefix = _prefix(group, version)
            paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={digest.upper()}"}
    return {"paths": paths}
