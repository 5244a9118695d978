"""In-memory object storage with one cluster-wide resourceVersion counter and a change log.

Everything runs on one asyncio loop, so the store needs no locks; the change log is what
watches replay from, and it is bounded like etcd's compaction window: a watch from a
resourceVersion older than the log gets 410 Expired.
"""

from __future__ import annotations

import asyncio
import builtins
import copy
from collections import deque
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
TypeKey = tuple[str, str]


@dataclass(frozen=True)
class Change:
    """One stored write; ``old`` is the previous state (None for ADDED)."""

    rv: int
    type: str
    key: TypeKey
    obj: JSON
    old: JSON | None


@dataclass(eq=False)
class Subscription:
    """A live feed of changes of one resource type, for one watch request."""

    key: TypeKey | None
    queue: asyncio.Queue[Change] = field(default_factory=asyncio.Queue)


class Store:
    def __init__(self, history_limit: int = 10000) -> None:
        self.history_limit = history_limit
        self.rv = 1
        self._objects: dict[TypeKey, dict[tuple[str, str], JSON]] = {}
        self._history: deque[Change] = deque()
        self._compacted_rv = 0
        self._subscriptions: set[Subscription] = set()

    def fork(self) -> Store:
        """A private copy of the objects and the counter, with no history or watchers: a
        dry-run request writes into it, so nothing it does is stored or seen by a watch."""
        copied = Store(self.history_limit)
        copied.rv = self.rv
        copied._objects = copy.deepcopy(self._objects)
        return copied

    def get(self, key: TypeKey, namespace: str, name: str) -> JSON | None:
        obj = self._objects.get(key, {}).get((namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, key: TypeKey, namespace: str | None = None) -> list[JSON]:
        items = self._objects.get(key, {})
        return [
            copy.deepcopy(items[k]) for k in sorted(items) if namespace is None or k[0] == namespace
        ]

    def keys(self) -> builtins.list[TypeKey]:
        return list(self._objects)

    def write(self, key: TypeKey, obj: JSON) -> JSON:
        """Create or replace ``obj``, stamping a new resourceVersion; returns the stored copy."""
        meta = obj["metadata"]
        ident = (meta.get("namespace", ""), meta["name"])
        bucket = self._objects.setdefault(key, {})
        old = bucket.get(ident)
        stored = self._stamp(obj)
        bucket[ident] = stored
        self._record(Change(self.rv, "MODIFIED" if old else "ADDED", key, stored, old))
        return copy.deepcopy(stored)

    def remove(self, key: TypeKey, namespace: str, name: str) -> JSON | None:
        """Remove an object; the DELETED event carries its last state with a new rv."""
        old = self._objects.get(key, {}).pop((namespace, name), None)
        if old is None:
            return None
        stored = self._stamp(old)
        self._record(Change(self.rv, "DELETED", key, stored, old))
        return copy.deepcopy(stored)

    def _stamp(self, obj: JSON) -> JSON:
        self.rv += 1
        stored = copy.deepcopy(obj)
        stored["metadata"]["resourceVersion"] = str(self.rv)
        return stored

    def _record(self, change: Change) -> None:
        self._history.append(change)
        while len(self._history) > self.history_limit:
            self._compacted_rv = self._history.popleft().rv
        for sub in list(self._subscriptions):
            if sub.key is None or sub.key == change.key:
                sub.queue.put_nowait(change)

    def since(self, key: TypeKey, rv: int) -> builtins.list[Change] | None:
        """Changes after ``rv``, or None if some of them were already compacted away."""
        if rv < self._compacted_rv:
            return None
        return [c for c in self._history if c.rv > rv and c.key == key]

    @property
    def oldest_rv(self) -> int:
        return self._compacted_rv + 1

    def subscribe(self, key: TypeKey | None) -> Subscription:
        sub = Subscription(key)
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscriptions.discard(sub)
