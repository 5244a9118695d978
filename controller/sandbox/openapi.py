"""Just enough OpenAPI v3 for kubectl: each PATCH operation declares ``fieldValidation``,
and each custom resource's schema is a component, for ``kubectl explain``.

kubectl (>= 1.27) asks /openapi/v3 whether the server validates fields itself; when it
does, kubectl sends ``fieldValidation=Strict`` and skips client-side validation, so the
server's own 400/422 messages reach the user exactly as on a real cluster. Without any
OpenAPI document kubectl refuses to apply ("failed to download openapi").

``kubectl explain`` looks the kind up by ``x-kubernetes-group-version-kind`` among
``components.schemas``; kube-apiserver publishes a CRD version's openAPIV3Schema there as
``<reversed group>.<version>.<Kind>``, with ``apiVersion``, ``kind`` and a ``metadata``
reference added. Built-in kinds have no schema here (``kubectl explain pods`` fails).
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from controller.sandbox.resources import Registry, ResourceType

JSON = dict[str, Any]
QUERY_PARAMS = ("fieldValidation", "fieldManager", "dryRun", "force")
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
API_VERSION_DOC = (
    "APIVersion defines the versioned schema of this representation of an object. Servers"
    " should convert recognized schemas to the latest internal value, and may reject"
    " unrecognized values. More info:"
    " https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
KIND_DOC = (
    "Kind is a string value representing the REST resource this object represents. Servers"
    " may infer this from the endpoint the client submits requests to. Cannot be updated. In"
    " CamelCase. More info:"
    " https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)
METADATA_DOC = (
    "Standard object's metadata. More info:"
    " https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


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


def schema_name(rt: ResourceType, version: str, kind: str) -> str:
    """``dev.learning.v1alpha1.Course``: the component name kube-apiserver gives a CRD kind."""
    return ".".join([*reversed(rt.group.split(".")), version, kind])


def _ref(name: str, description: str) -> JSON:
    return {"allOf": [{"$ref": f"#/components/schemas/{name}"}], "description": description}


def _gvk(rt: ResourceType, version: str, kind: str) -> JSON:
    return {
        "x-kubernetes-group-version-kind": [{"group": rt.group, "kind": kind, "version": version}]
    }


def _components(rt: ResourceType, version: str) -> JSON:
    found = rt.schema(version)
    if not rt.custom or found is None:
        return {}
    item = copy.deepcopy(found)
    item.setdefault("type", "object")
    props = item.setdefault("properties", {})
    props["apiVersion"] = {"type": "string", "description": API_VERSION_DOC}
    props["kind"] = {"type": "string", "description": KIND_DOC}
    props["metadata"] = _ref(OBJECT_META, METADATA_DOC)
    name = schema_name(rt, version, rt.kind)
    listing = {
        "type": "object",
        "description": f"{rt.list_kind} is a list of {rt.kind}",
        "required": ["items"],
        "properties": {
            "apiVersion": {"type": "string", "description": API_VERSION_DOC},
            "kind": {"type": "string", "description": KIND_DOC},
            "items": {
                "type": "array",
                "description": f"List of {rt.plural}.",
                "items": _ref(name, ""),
            },
            "metadata": _ref(LIST_META, "Standard list metadata."),
        },
    }
    return {
        name: {**item, **_gvk(rt, version, rt.kind)},
        schema_name(rt, version, rt.list_kind): {**listing, **_gvk(rt, version, rt.list_kind)},
    }


def _meta_components() -> JSON:
    return {
        OBJECT_META: {
            "type": "object",
            "description": "ObjectMeta is metadata that all persisted resources must have,"
            " which includes all objects users must create.",
            "x-kubernetes-preserve-unknown-fields": True,
        },
        LIST_META: {
            "type": "object",
            "description": "ListMeta describes metadata that synthetic resources must have,"
            " including lists and various status objects.",
            "x-kubernetes-preserve-unknown-fields": True,
        },
    }


def group_version_doc(registry: Registry, group: str, version: str) -> JSON | None:
    types = [rt for rt in registry if rt.group == group and version in rt.versions]
    if not types:
        return None
    paths: JSON = {}
    schemas: JSON = {}
    for rt in types:
        schemas.update(_components(rt, version))
        scope = "namespaces/{namespace}/" if rt.namespaced else ""
        base = f"/{_prefix(group, version)}/{scope}{rt.plural}"
        op = _operation(rt, version)
        paths[base] = {"post": op}
        paths[base + "/{name}"] = {"get": op, "put": op, "patch": op, "delete": op}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {**_meta_components(), **schemas} if schemas else {}},
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
