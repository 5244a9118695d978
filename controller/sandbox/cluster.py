"""The API operations on stored objects: create, update, patch, delete, and their effects.

This is the apiserver's generic registry plus the parts of controllers the sandbox folds in
(CRD establishment, garbage collection, namespace cleanup), done synchronously on write.
"""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from controller.sandbox import errors, naming, patching, schema, strategies
from controller.sandbox.clock import Clock, rfc3339, utcnow
from controller.sandbox.errors import ApiError
from controller.sandbox.resources import Registry, ResourceType, crd_type
from controller.sandbox.store import Store

JSON = dict[str, Any]
PODS = ("", "pods")
NAMESPACES = ("", "namespaces")
CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
FOREGROUND = "foregroundDeletion"


class PodRuntime(Protocol):
    """What deletion needs to know from the pod runner (the kubelet stand-in)."""

    def is_running(self, namespace: str, name: str) -> bool: ...


class NoRuntime:
    def is_running(self, namespace: str, name: str) -> bool:
        return False


@dataclass(frozen=True)
class Write:
    """Where a write goes: type, version, namespace, name, subresource, fieldValidation."""

    rt: ResourceType
    version: str
    namespace: str
    name: str = ""
    subresource: str = ""
    validation: str = ""


IMMUTABLE_META = (
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "namespace",
    "name",
)


@dataclass(frozen=True)
class DeleteOptions:
    grace_period: int | None = None
    propagation: str | None = None
    uid: str | None = None
    resource_version: str | None = None


def _meta(obj: JSON) -> JSON:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


class Cluster:
    def __init__(self, store: Store, registry: Registry, clock: Clock = utcnow) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.runtime: PodRuntime = NoRuntime()

    def fork(self) -> Cluster:
        """A cluster over copies of the store and registry, for ``dryRun=All``: the request
        runs through every step of a real write (defaults, validation, conflicts, garbage
        collection) and nothing of it reaches the real store, its watchers or its counter."""
        forked = Cluster(self.store.fork(), self.registry.fork(), self.clock)
        forked.runtime = self.runtime
        return forked

    def now(self) -> str:
        return rfc3339(self.clock())

    # ---- reads -------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> JSON:
        obj = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        if obj is None:
            raise errors.not_found(rt.qualified, name)
        return obj

    def require_namespace(self, rt: ResourceType, namespace: str) -> None:
        if rt.namespaced and self.store.get(NAMESPACES, "", namespace) is None:
            raise errors.not_found("namespaces", namespace)

    # ---- create ------------------------------------------------------------------------

    def create(
        self, rt: ResourceType, version: str, namespace: str, body: Any, validation: str = ""
    ) -> JSON:
        obj = self._check_body(rt, version, body)
        self._strict(rt, version, obj, validation)
        meta = obj["metadata"]
        if rt.namespaced:
            if meta.get("namespace", namespace) != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on"
                    " the request"
                )
            meta["namespace"] = namespace
            self.require_namespace(rt, namespace)
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = naming.generate(meta["generateName"])
        self._stamp_new(rt, meta)
        obj = strategies.prepare_create(rt, version, obj, self.now())
        self._validate(rt, version, obj, naming.name_causes(meta.get("name", "")))
        if self.store.get(rt.key, meta.get("namespace", ""), meta["name"]) is not None:
            raise errors.already_exists(rt.qualified, meta["name"])
        stored = self.store.write(rt.key, obj)
        self._after_write(rt, stored)
        return stored

    def _check_body(self, rt: ResourceType, version: str, body: Any) -> JSON:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request was not a JSON object")
        obj = copy.deepcopy(body)
        kind = obj.get("kind")
        if kind and kind != rt.kind:
            raise errors.bad_request(
                f"the API version in the data ({obj.get('apiVersion')}) does not match the"
                f" expected API version ({rt.api_version(version)})"
                if obj.get("apiVersion") != rt.api_version(version)
                else f"kind {kind} does not match the expected kind {rt.kind}"
            )
        obj["apiVersion"] = rt.api_version(version)
        obj["kind"] = rt.kind
        if not isinstance(obj.get("metadata"), dict):
            obj["metadata"] = {}
        return obj

    def _strict(self, rt: ResourceType, version: str, obj: JSON, validation: str) -> None:
        found = rt.schema(version) if rt.custom and validation == "Strict" else None
        unknown = schema.unknown_fields(found, obj) if found else []
        if unknown:
            listed = ", ".join(f'unknown field "{path}"' for path in unknown)
            raise errors.bad_request(
                f'{rt.kind} in version "{version}" cannot be handled as a {rt.kind}:'
                f" strict decoding error: {listed}"
            )

    def _stamp_new(self, rt: ResourceType, meta: JSON) -> None:
        for key in (
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = self.now()
        if strategies.tracks_generation(rt):
            meta["generation"] = 1
        else:
            meta.pop("generation", None)

    def _validate(
        self, rt: ResourceType, version: str, obj: JSON, extra: list[errors.Cause]
    ) -> None:
        causes = extra + strategies.causes(rt, version, obj)
        if causes:
            raise errors.invalid(rt.kind_group, _meta(obj).get("name", ""), causes)

    # ---- update ------------------------------------------------------------------------

    def update(self, w: Write, body: Any) -> JSON:
        new = self._check_body(w.rt, w.version, body)
        old = self.get(w.rt, w.namespace, w.name)
        return self._replace(w, old, new)

    def _replace(self, w: Write, old: JSON, new: JSON) -> JSON:
        rt, meta, old_meta = w.rt, new["metadata"], old["metadata"]
        if meta.get("name", old_meta["name"]) != old_meta["name"]:
            raise errors.bad_request(
                f"the name of the object ({meta.get('name')}) does not match the name on the"
                f" URL ({old_meta['name']})"
            )
        sent_rv = meta.get("resourceVersion")
        if sent_rv and sent_rv != old_meta["resourceVersion"]:
            raise errors.conflict(rt.qualified, old_meta["name"])
        self._strict(rt, w.version, new, w.validation)
        merged = self._merge_update(rt, old, new, w.subresource)
        merged = strategies.normalize(rt, w.version, merged)
        self._validate(rt, w.version, merged, [])
        if _same(merged, old):
            return old
        stored = self.store.write(rt.key, merged)
        self._after_write(rt, stored)
        return self._finalize_if_done(rt, stored)

    def _merge_update(self, rt: ResourceType, old: JSON, new: JSON, subresource: str) -> JSON:
        """Which parts of ``new`` a write may change: status-only on /status, everything but
        status on the main resource when a status subresource exists."""
        if subresource == "status":
            merged = copy.deepcopy(old)
            merged.pop("status", None)
            if new.get("status") is not None:
                merged["status"] = copy.deepcopy(new["status"])
            return merged
        merged = copy.deepcopy(new)
        if "status" in rt.subresources:
            merged.pop("status", None)
            if "status" in old:
                merged["status"] = copy.deepcopy(old["status"])
        meta, old_meta = merged["metadata"], old["metadata"]
        for key in IMMUTABLE_META:
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta.pop("managedFields", None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        spec_changed = strategies.spec_of(merged) != strategies.spec_of(old)
        if strategies.tracks_generation(rt) and spec_changed:
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        return merged

    # ---- patch -------------------------------------------------------------------------

    def patch(self, w: Write, content_type: str, body: Any) -> JSON:
        if content_type == "application/apply-patch+yaml":
            return self._apply(w, body)
        old = self.get(w.rt, w.namespace, w.name)
        patched = self._patched(w.rt, old, content_type, body)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patched object is not a JSON object")
        return self._replace(w, old, self._check_body(w.rt, w.version, patched))

    def _patched(self, rt: ResourceType, old: JSON, content_type: str, body: Any) -> Any:
        if content_type == "application/json-patch+json":
            return patching.json_patch(old, body)
        if content_type not in PATCH_TYPES[rt.custom]:
            raise errors.unsupported_media_type(content_type, PATCH_TYPES[rt.custom])
        if not isinstance(body, dict):
            raise errors.bad_request("the patch body is not a JSON object")
        if content_type == "application/merge-patch+json":
            return patching.merge_patch(old, body)
        return patching.strategic_merge(old, body)

    def _apply(self, w: Write, body: Any) -> JSON:
        if not isinstance(body, dict):
            raise errors.bad_request("the apply configuration is not an object")
        old = self.store.get(w.rt.key, w.namespace if w.rt.namespaced else "", w.name)
        if old is None:
            if w.subresource:
                raise errors.not_found(w.rt.qualified, w.name)
            meta = {**(body.get("metadata") or {}), "name": w.name}
            return self.create(
                w.rt, w.version, w.namespace, {**body, "metadata": meta}, w.validation
            )
        return self._replace(
            w, old, self._check_body(w.rt, w.version, patching.apply_patch(old, body))
        )

    # ---- delete ------------------------------------------------------------------------

    def delete(self, rt: ResourceType, namespace: str, name: str, options: DeleteOptions) -> JSON:
        obj = self.get(rt, namespace, name)
        meta = obj["metadata"]
        self._check_preconditions(rt, obj, options)
        grace = self._grace(rt, obj, options)
        if meta.get("deletionTimestamp"):
            return self._shorten_grace(rt, obj, grace)
        propagation = options.propagation or "Background"
        if propagation == "Orphan":
            self._orphan(meta["uid"])
        elif propagation == "Foreground" and self._dependents(meta["uid"]):
            meta.setdefault("finalizers", []).append(FOREGROUND)
        if meta.get("finalizers") or grace > 0:
            meta["deletionTimestamp"] = self.now()
            meta["deletionGracePeriodSeconds"] = grace
            obj = self.store.write(rt.key, obj)
            if propagation == "Foreground":
                self._delete_dependents(meta["uid"])
            return self._finalize_if_done(rt, obj)
        return self._remove(rt, obj)

    def _check_preconditions(self, rt: ResourceType, obj: JSON, options: DeleteOptions) -> None:
        meta = obj["metadata"]
        if options.uid and options.uid != meta["uid"]:
            raise ApiError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {rt.qualified} "{meta["name"]}": Precondition'
                f" failed: UID in precondition: {options.uid}, UID in object meta: {meta['uid']}",
            )
        if options.resource_version and options.resource_version != meta["resourceVersion"]:
            raise errors.conflict(rt.qualified, meta["name"])

    def _grace(self, rt: ResourceType, obj: JSON, options: DeleteOptions) -> int:
        if rt.key != PODS:
            return 0
        meta = obj["metadata"]
        if obj.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        if not self.runtime.is_running(meta.get("namespace", ""), meta["name"]):
            return 0
        if options.grace_period is not None:
            return max(0, options.grace_period)
        return int(obj.get("spec", {}).get("terminationGracePeriodSeconds", 30))

    def _shorten_grace(self, rt: ResourceType, obj: JSON, grace: int) -> JSON:
        meta = obj["metadata"]
        if grace < int(meta.get("deletionGracePeriodSeconds", 0)):
            meta["deletionGracePeriodSeconds"] = grace
            obj = self.store.write(rt.key, obj)
        return self._finalize_if_done(rt, obj)

    def finish_pod(self, namespace: str, name: str) -> None:
        """The kubelet's final word on a terminating pod: its processes are gone."""
        pod = self.store.get(PODS, namespace, name)
        if pod is None or not pod["metadata"].get("deletionTimestamp"):
            return
        pod["metadata"]["deletionGracePeriodSeconds"] = 0
        rt = self.registry.by_key(PODS)
        assert rt is not None
        self._finalize_if_done(rt, self.store.write(PODS, pod))

    def _finalize_if_done(self, rt: ResourceType, obj: JSON) -> JSON:
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp") or meta.get("finalizers"):
            return obj
        if rt.key == PODS and int(meta.get("deletionGracePeriodSeconds", 0)) > 0:
            return obj
        return self._remove(rt, obj)

    def _remove(self, rt: ResourceType, obj: JSON) -> JSON:
        meta = obj["metadata"]
        removed = self.store.remove(rt.key, meta.get("namespace", ""), meta["name"])
        if removed is None:
            return obj
        self._after_remove(rt, removed)
        return removed

    # ---- effects of writes -------------------------------------------------------------

    def _after_write(self, rt: ResourceType, obj: JSON) -> None:
        if rt.key == CRDS and obj.get("status"):
            self.registry.add(crd_type(obj))

    def _after_remove(self, rt: ResourceType, obj: JSON) -> None:
        if rt.key == CRDS:
            self._drop_crd(obj)
        elif rt.key == NAMESPACES:
            self._drop_namespace(obj["metadata"]["name"])
        self._collect(obj["metadata"]["uid"])
        self._release_foreground_owners()

    def _drop_crd(self, crd: JSON) -> None:
        custom = crd_type(crd)
        for obj in self.store.list(custom.key):
            self.store.remove(
                custom.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
            )
        self.registry.remove(custom.key)

    def _drop_namespace(self, namespace: str) -> None:
        for rt in self.registry:
            if rt.namespaced:
                for obj in self.store.list(rt.key, namespace):
                    self._delete_quietly(rt, obj)

    def _delete_quietly(self, rt: ResourceType, obj: JSON) -> None:
        meta = obj["metadata"]
        with contextlib.suppress(ApiError):
            self.delete(rt, meta.get("namespace", ""), meta["name"], DeleteOptions())

    def _all_objects(self) -> list[tuple[ResourceType, JSON]]:
        return [(rt, obj) for rt in self.registry for obj in self.store.list(rt.key)]

    def _dependents(self, uid: str) -> list[tuple[ResourceType, JSON]]:
        return [
            (rt, obj)
            for rt, obj in self._all_objects()
            if any(ref.get("uid") == uid for ref in _meta(obj).get("ownerReferences") or [])
        ]

    def _live_uids(self) -> set[str]:
        return {obj["metadata"]["uid"] for _, obj in self._all_objects()}

    def _collect(self, uid: str) -> None:
        """Background garbage collection: dependents whose owners are all gone are deleted,
        others only lose the reference to the removed owner."""
        live = self._live_uids()
        for rt, obj in self._dependents(uid):
            refs = obj["metadata"]["ownerReferences"]
            if any(ref.get("uid") in live for ref in refs):
                obj["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                self.store.write(rt.key, obj)
            else:
                self._delete_quietly(rt, obj)

    def _delete_dependents(self, uid: str) -> None:
        for rt, obj in self._dependents(uid):
            if not obj["metadata"].get("deletionTimestamp"):
                self._delete_quietly(rt, obj)

    def _orphan(self, uid: str) -> None:
        for rt, obj in self._dependents(uid):
            refs = obj["metadata"]["ownerReferences"]
            obj["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
            self.store.write(rt.key, obj)

    def _release_foreground_owners(self) -> None:
        for rt, obj in self._all_objects():
            meta = obj["metadata"]
            if FOREGROUND in (meta.get("finalizers") or []) and not self._dependents(meta["uid"]):
                meta["finalizers"] = [f for f in meta["finalizers"] if f != FOREGROUND]
                self._finalize_if_done(rt, self.store.write(rt.key, obj))

    # ---- internal writes (the pod runner) ------------------------------------------------

    def write_status(
        self, key: tuple[str, str], obj: JSON, mutate: Callable[[JSON], None]
    ) -> JSON | None:
        """Change a stored object's status in place, as a kubelet's status update would."""
        meta = obj["metadata"]
        current = self.store.get(key, meta.get("namespace", ""), meta["name"])
        if current is None or current["metadata"]["uid"] != meta["uid"]:
            return None
        before = copy.deepcopy(current)
        mutate(current)
        if current == before:
            return current
        return self.store.write(key, current)


PATCH_TYPES = {
    True: [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    ],
    False: [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
    ],
}


def _same(a: JSON, b: JSON) -> bool:
    def strip(obj: JSON) -> JSON:
        copied = copy.deepcopy(obj)
        copied["metadata"].pop("resourceVersion", None)
        return copied

    return strip(a) == strip(b)
