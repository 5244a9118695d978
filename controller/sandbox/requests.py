"""Parsing what a client sent: the resource path, query options, body and Accept header."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web

from controller.sandbox import errors
from controller.sandbox.cluster import DeleteOptions
from controller.sandbox.resources import Registry, ResourceType

JSON = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """A resource URL: /api/v1/namespaces/NS/PLURAL/NAME/SUB and its siblings."""

    rt: ResourceType
    version: str
    namespace: str | None
    name: str | None
    subresource: str


def resolve(registry: Registry, group: str, version: str, segments: list[str]) -> Target:
    namespace = None
    rest = segments
    if len(segments) >= 3 and segments[0] == "namespaces":
        candidate = registry.find(group, version, segments[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = segments[1], segments[2:]
    if not rest or len(rest) > 3:
        raise errors.page_not_found()
    rt = registry.find(group, version, rest[0])
    if rt is None:
        raise errors.page_not_found()
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else ""
    if sub and sub not in rt.subresources:
        raise errors.page_not_found()
    if rt.namespaced and name is not None and namespace is None:
        raise errors.page_not_found()
    return Target(rt, version, namespace if rt.namespaced else None, name, sub)


def wants_table(request: web.Request) -> str | None:
    """The Table apiVersion the Accept header asks for, if it asks for a Table."""
    for part in request.headers.get("Accept", "").split(","):
        params = dict(p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return f"meta.k8s.io/{params.get('v', 'v1')}"
    return None


class Yaml12Loader(yaml.SafeLoader):
    """YAML with 1.2 booleans: only true/false, so ``y``/``no``/``on`` stay strings (as in Go's
    sigs.k8s.io/yaml, which kubectl and the apiserver use)."""


Yaml12Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


async def body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        if request.content_type in ("application/yaml", "application/apply-patch+yaml"):
            return yaml.load(raw, Loader=Yaml12Loader)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as e:
        raise errors.bad_request(f"the body of the request could not be decoded: {e}") from e


def flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


def delete_options(request: web.Request, sent: Any) -> DeleteOptions:
    opts = sent if isinstance(sent, dict) else {}
    grace = request.query.get("gracePeriodSeconds", opts.get("gracePeriodSeconds"))
    policy = request.query.get("propagationPolicy", opts.get("propagationPolicy"))
    orphan = request.query.get("orphanDependents", opts.get("orphanDependents"))
    if policy is None and orphan is not None:
        policy = "Orphan" if str(orphan).lower() == "true" else "Background"
    if policy not in (None, "Orphan", "Background", "Foreground"):
        raise errors.bad_request(f'unsupported propagationPolicy: "{policy}"')
    pre = opts.get("preconditions") or {}
    return DeleteOptions(
        grace_period=int(grace) if grace is not None else None,
        propagation=policy,
        uid=pre.get("uid"),
        resource_version=pre.get("resourceVersion"),
    )


def encode_continue(rv: int, after: tuple[str, str]) -> str:
    raw = json.dumps({"rv": rv, "ns": after[0], "name": after[1]}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["ns"]), str(data["name"]))
    except (ValueError, KeyError, TypeError) as e:
        raise errors.bad_request(f"continue key is not valid: {e}") from e
