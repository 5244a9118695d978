"""Watch streams: replay from a resourceVersion, then follow live changes.

Selectors are applied to both the old and the new state of a change, so an object that
stops matching is reported to the watcher as DELETED (and one that starts matching as
ADDED), exactly like kube-apiserver's watch cache does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from controller.sandbox.errors import bad_request, expired
from controller.sandbox.resources import ResourceType
from controller.sandbox.store import Change, Store

JSON = dict[str, Any]
Matcher = Callable[[JSON], bool]
BOOKMARK_EVERY = 5.0


@dataclass(frozen=True)
class WatchRequest:
    rt: ResourceType
    namespace: str | None
    resource_version: str | None
    matches: Matcher
    bookmarks: bool = False
    timeout: float | None = None
    send_initial_events: bool = False


def _in_scope(req: WatchRequest, obj: JSON | None) -> bool:
    if obj is None:
        return False
    in_namespace = req.namespace is None or obj["metadata"].get("namespace") == req.namespace
    return in_namespace and req.matches(obj)


def translate(req: WatchRequest, change: Change) -> JSON | None:
    """The event this watcher sees for ``change``, if any."""
    if change.type == "DELETED":
        return {"type": "DELETED", "object": change.obj} if _in_scope(req, change.old) else None
    was, now = _in_scope(req, change.old), _in_scope(req, change.obj)
    if now:
        return {"type": "MODIFIED" if was else "ADDED", "object": change.obj}
    return {"type": "DELETED", "object": change.obj} if was else None


def start_rv(text: str | None) -> int | None:
    """None means "start with the current state"; otherwise the rv to replay after."""
    if text in (None, "", "0"):
        return None
    assert text is not None
    if not text.isdigit():
        raise bad_request(
            f'invalid resource version: strconv.ParseUint: parsing "{text}": invalid syntax'
        )
    return int(text)


def _bookmark(req: WatchRequest, rv: int, initial_end: bool = False) -> JSON:
    meta: JSON = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return {
        "type": "BOOKMARK",
        "object": {
            "kind": req.rt.kind,
            "apiVersion": req.rt.api_version(req.rt.versions[0]),
            "metadata": meta,
        },
    }


def _initial(store: Store, req: WatchRequest) -> list[JSON]:
    rv = start_rv(req.resource_version)
    if rv is None:
        events = [
            {"type": "ADDED", "object": obj}
            for obj in store.list(req.rt.key, req.namespace)
            if req.matches(obj)
        ]
        if req.send_initial_events and req.bookmarks:
            events.append(_bookmark(req, store.rv, initial_end=True))
        return events
    changes = store.since(req.rt.key, rv)
    if changes is None:
        error = expired(f"too old resource version: {rv} ({store.oldest_rv})")
        return [{"type": "ERROR", "object": error.status()}]
    return [e for e in (translate(req, c) for c in changes) if e is not None]


async def stream(store: Store, req: WatchRequest, closing: asyncio.Event) -> AsyncIterator[JSON]:
    """Yield watch events until the timeout, an ERROR, or server shutdown."""
    sub = store.subscribe(req.rt.key)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + req.timeout if req.timeout else None
    try:
        for event in _initial(store, req):
            yield event
            if event["type"] == "ERROR":
                return
        while not closing.is_set():
            left = (
                BOOKMARK_EVERY if deadline is None else min(BOOKMARK_EVERY, deadline - loop.time())
            )
            if left <= 0:
                return
            try:
                change = await asyncio.wait_for(sub.queue.get(), timeout=left)
            except TimeoutError:
                if req.bookmarks:
                    yield _bookmark(req, store.rv)
                continue
            translated = translate(req, change)
            if translated is not None:
                yield translated
    finally:
        store.unsubscribe(sub)
