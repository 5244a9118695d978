"""The HTTP face of the sandbox: an aiohttp application speaking the Kubernetes REST API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from controller.sandbox import discovery, errors, openapi, requests, selectors, table, watching
from controller.sandbox.cluster import Cluster, Write
from controller.sandbox.errors import ApiError
from controller.sandbox.requests import Target

JSON = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LogLocator = Callable[[str, str], Path | None]


def rbac_verb(request: web.Request, target: Target) -> str:
    """The RBAC verb of a request (get/list/watch/create/update/patch/delete/...)."""
    if request.method == "GET":
        if target.name is not None:
            return "get"
        return "watch" if requests.flag(request, "watch") else "list"
    if request.method == "DELETE":
        return "delete" if target.name is not None else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(request.method, "unknown")


def reply(body: JSON, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


@web.middleware
async def status_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every ApiError becomes a ``kind: Status`` body with its code."""
    try:
        return await handler(request)
    except ApiError as e:
        return reply(e.status(), e.code)


class ApiServer:
    def __init__(self, cluster: Cluster, logs: LogLocator | None = None) -> None:
        self.cluster = cluster
        self.logs = logs
        self.closing = asyncio.Event()
        self.address = ""
        # Who asked for what: bearer token -> {(verb, group, resource[/subresource])}, the
        # way RBAC sees requests (tests compare it with the Helm chart's rules).
        self.audit: dict[str, set[tuple[str, str, str]]] = {}

    def app(self) -> web.Application:
        app = web.Application(middlewares=[status_errors], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/version", self.version)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.healthz)
        app.router.add_get("/livez", self.healthz)
        app.router.add_get("/api", self.core_versions)
        app.router.add_get("/apis", self.groups)
        app.router.add_get("/apis/{group}", self.group)
        app.router.add_get("/api/{version}", self.core_resources)
        app.router.add_get("/apis/{group}/{version}", self.group_resources)
        app.router.add_get("/openapi/v3", self.openapi_root)
        app.router.add_get("/openapi/v3/api/{version}", self.openapi_core)
        app.router.add_get("/openapi/v3/apis/{group}/{version}", self.openapi_group)
        app.router.add_route("*", "/api/{version}/{rest:.+}", self.core_resource)
        app.router.add_route("*", "/apis/{group}/{version}/{rest:.+}", self.group_resource)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, app: web.Application) -> None:
        self.closing.set()

    # ---- discovery -----------------------------------------------------------------------

    async def version(self, request: web.Request) -> web.Response:
        return reply(discovery.VERSION)

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def core_versions(self, request: web.Request) -> web.Response:
        return reply(discovery.api_versions(self.address))

    async def groups(self, request: web.Request) -> web.Response:
        return reply(discovery.api_group_list(self.cluster.registry))

    async def group(self, request: web.Request) -> web.Response:
        found = discovery.api_group(self.cluster.registry, request.match_info["group"])
        if found is None:
            raise errors.page_not_found()
        return reply(found)

    async def core_resources(self, request: web.Request) -> web.Response:
        return self._resources("", request.match_info["version"])

    async def group_resources(self, request: web.Request) -> web.Response:
        return self._resources(request.match_info["group"], request.match_info["version"])

    def _resources(self, group: str, version: str) -> web.Response:
        found = discovery.resource_list(self.cluster.registry, group, version)
        if found is None:
            raise errors.page_not_found()
        return reply(found)

    async def openapi_root(self, request: web.Request) -> web.Response:
        return reply(openapi.root(self.cluster.registry))

    async def openapi_core(self, request: web.Request) -> web.Response:
        return self._openapi("", request.match_info["version"])

    async def openapi_group(self, request: web.Request) -> web.Response:
        return self._openapi(request.match_info["group"], request.match_info["version"])

    def _openapi(self, group: str, version: str) -> web.Response:
        found = openapi.group_version_doc(self.cluster.registry, group, version)
        if found is None:
            raise errors.page_not_found()
        return reply(found)

    # ---- resources -----------------------------------------------------------------------

    async def core_resource(self, request: web.Request) -> web.StreamResponse:
        return await self._dispatch(request, "")

    async def group_resource(self, request: web.Request) -> web.StreamResponse:
        return await self._dispatch(request, request.match_info["group"])

    async def _dispatch(self, request: web.Request, group: str) -> web.StreamResponse:
        segments = request.match_info["rest"].strip("/").split("/")
        target = requests.resolve(
            self.cluster.registry, group, request.match_info["version"], segments
        )
        self._record(request, group, target)
        if target.name is None:
            return await self._collection(request, target)
        if target.subresource == "log":
            return await self._log(request, target)
        return await self._object(request, target)

    def _record(self, request: web.Request, group: str, target: Target) -> None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        resource = target.rt.plural + (f"/{target.subresource}" if target.subresource else "")
        self.audit.setdefault(token, set()).add((rbac_verb(request, target), group, resource))

    async def _collection(self, request: web.Request, target: Target) -> web.StreamResponse:
        if request.method == "GET":
            if requests.flag(request, "watch"):
                return await self._watch(request, target)
            return self._list(request, target)
        if request.method == "POST":
            if target.rt.namespaced and target.namespace is None:
                raise errors.method_not_allowed()
            writer = self._writer(request)
            created = writer.create(
                target.rt,
                target.version,
                target.namespace or "",
                await requests.body(request),
                request.query.get("fieldValidation", ""),
            )
            return self._one(request, target, self._undry(writer, target, created), 201)
        if request.method == "DELETE":
            return self._delete_collection(request, target)
        raise errors.method_not_allowed()

    async def _object(self, request: web.Request, target: Target) -> web.StreamResponse:
        rt, ns, name = target.rt, target.namespace or "", target.name or ""
        if request.method == "GET":
            return self._one(request, target, self.cluster.get(rt, ns, name))
        if request.method not in ("PUT", "PATCH", "DELETE"):
            raise errors.method_not_allowed()
        writer = self._writer(request)
        if request.method == "PUT":
            obj = writer.update(_write(request, target), await requests.body(request))
        elif request.method == "PATCH":
            obj = writer.patch(
                _write(request, target), request.content_type, await requests.body(request)
            )
        elif not target.subresource:
            options = requests.delete_options(request, await requests.body(request))
            obj = writer.delete(rt, ns, name, options)
        else:
            raise errors.method_not_allowed()
        return self._one(request, target, self._undry(writer, target, obj))

    def _writer(self, request: web.Request) -> Cluster:
        """The cluster a write goes to: a throwaway fork of it for ``dryRun=All``."""
        values = request.query.getall("dryRun", [])
        unsupported = [v for v in values if v != "All"]
        if unsupported:
            options = {"POST": "Create", "PUT": "Update", "PATCH": "Patch"}.get(
                request.method, "Delete"
            )
            cause = errors.Cause(
                "FieldValueNotSupported",
                "dryRun",
                f'Unsupported value: "{unsupported[0]}": supported values: "All"',
            )
            raise errors.invalid(f"{options}Options.meta.k8s.io", "", [cause])
        return self.cluster.fork() if values else self.cluster

    def _undry(self, writer: Cluster, target: Target, obj: JSON) -> JSON:
        """A dry run answers with the resourceVersion the object still has (none for one
        that was never created), since nothing was written."""
        if writer is self.cluster:
            return obj
        meta = obj["metadata"]
        current = self.cluster.store.get(
            target.rt.key, meta.get("namespace", ""), meta.get("name", "")
        )
        if current is None:
            meta.pop("resourceVersion", None)
        else:
            meta["resourceVersion"] = current["metadata"]["resourceVersion"]
        return obj

    # ---- representation ------------------------------------------------------------------

    def _present(self, target: Target, obj: JSON) -> JSON:
        obj["apiVersion"] = target.rt.api_version(target.version)
        obj["kind"] = target.rt.kind
        return obj

    def _one(
        self, request: web.Request, target: Target, obj: JSON, status: int = 200
    ) -> web.Response:
        obj = self._present(target, obj)
        table_version = requests.wants_table(request)
        if table_version and request.method == "GET":
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            return reply(self._table(request, target, [obj], meta, table_version))
        return reply(obj, status)

    def _table(
        self, request: web.Request, target: Target, objs: list[JSON], meta: JSON, version: str
    ) -> JSON:
        include = request.query.get("includeObject", "Metadata")
        result = table.to_table(
            target.rt, target.version, objs, meta, self.cluster.clock(), include
        )
        result["apiVersion"] = version
        return result

    def _selected(self, request: web.Request, target: Target) -> list[JSON]:
        matches = self._matcher(request, target)
        objs = self.cluster.store.list(target.rt.key, target.namespace)
        return [self._present(target, o) for o in objs if matches(o)]

    def _matcher(self, request: web.Request, target: Target) -> selectors.Selector:
        labels = selectors.parse_labels(request.query.get("labelSelector"))
        fields = selectors.parse_fields(
            request.query.get("fieldSelector"), target.rt.key, target.rt.custom
        )
        return lambda obj: labels(obj) and fields(obj)

    def _list(self, request: web.Request, target: Target) -> web.Response:
        items = self._selected(request, target)
        rv = self.cluster.store.rv
        meta: JSON = {"resourceVersion": str(rv)}
        token = request.query.get("continue")
        if token:
            rv, after = requests.decode_continue(token)
            meta["resourceVersion"] = str(rv)
            items = [o for o in items if _ident(o) > after]
        limit = int(request.query.get("limit") or 0)
        if 0 < limit < len(items):
            meta["continue"] = requests.encode_continue(rv, _ident(items[limit - 1]))
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        table_version = requests.wants_table(request)
        if table_version:
            return reply(self._table(request, target, items, meta, table_version))
        return reply(
            {
                "kind": target.rt.list_kind,
                "apiVersion": target.rt.api_version(target.version),
                "metadata": meta,
                "items": items,
            }
        )

    def _delete_collection(self, request: web.Request, target: Target) -> web.Response:
        options = requests.delete_options(request, None)
        writer = self._writer(request)
        deleted = []
        for obj in self._selected(request, target):
            meta = obj["metadata"]
            try:
                gone = writer.delete(target.rt, meta.get("namespace", ""), meta["name"], options)
                deleted.append(self._undry(writer, target, gone))
            except ApiError:
                continue
        return reply(
            {
                "kind": target.rt.list_kind,
                "apiVersion": target.rt.api_version(target.version),
                "metadata": {"resourceVersion": str(self.cluster.store.rv)},
                "items": [self._present(target, o) for o in deleted],
            }
        )

    # ---- watch and logs ------------------------------------------------------------------

    async def _watch(self, request: web.Request, target: Target) -> web.StreamResponse:
        timeout = request.query.get("timeoutSeconds")
        req = watching.WatchRequest(
            rt=target.rt,
            namespace=target.namespace,
            resource_version=request.query.get("resourceVersion"),
            matches=self._matcher(request, target),
            bookmarks=requests.flag(request, "allowWatchBookmarks"),
            timeout=float(timeout) if timeout else None,
            send_initial_events=requests.flag(request, "sendInitialEvents"),
        )
        watching.start_rv(req.resource_version)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        table_version = requests.wants_table(request)
        async for event in watching.stream(self.cluster.store, req, self.closing):
            if event["type"] not in ("ERROR", "BOOKMARK"):
                obj = self._present(target, event["object"])
                if table_version:
                    meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
                    obj = self._table(request, target, [obj], meta, table_version)
                event = {"type": event["type"], "object": obj}
            try:
                await response.write(json.dumps(event).encode() + b"\n")
            except (ConnectionResetError, RuntimeError):
                break
        return response

    async def _log(self, request: web.Request, target: Target) -> web.StreamResponse:
        pod = self.cluster.get(target.rt, target.namespace or "", target.name or "")
        path = self.logs(target.namespace or "", target.name or "") if self.logs else None
        if path is None or not path.exists():
            container = pod["spec"]["containers"][0]["name"]
            raise ApiError(
                400,
                "BadRequest",
                f'container "{container}" in pod'
                f' "{target.name}" is waiting to start: ContainerCreating',
            )
        text = path.read_text(errors="replace")
        tail = request.query.get("tailLines")
        if tail:
            text = "".join(text.splitlines(keepends=True)[-int(tail) :])
        return web.Response(text=text, content_type="text/plain")


def _write(request: web.Request, target: Target) -> Write:
    return Write(
        target.rt,
        target.version,
        target.namespace or "",
        target.name or "",
        target.subresource,
        request.query.get("fieldValidation", ""),
    )


def _ident(obj: JSON) -> tuple[str, str]:
    return (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
