"""Watch streams: replay, live events, selectors, bookmarks, timeouts and 410 Expired."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from kubernetes import client, watch

from controller.sandbox import Sandbox

from .helpers import GROUP, PLURAL, VERSION, Raw, course


def watch_events(raw: Raw, ns: str, **params: str) -> list[dict[str, Any]]:
    """All events of a watch that the server closes after ``timeoutSeconds``."""
    return raw.watch(f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}", **params)


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


def create(custom: client.CustomObjectsApi, ns: str, name: str, **labels: str) -> dict[str, Any]:
    body = course(name)
    body["metadata"]["labels"] = labels
    created: dict[str, Any] = custom.create_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, body
    )
    return created


def test_replays_changes_after_resource_version(
    raw: Raw, custom: client.CustomObjectsApi, ns: str
) -> None:
    first = create(custom, ns, "a")
    create(custom, ns, "b")
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "a", {"spec": {"priority": 1}}
    )
    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "b")
    events = watch_events(raw, ns, resourceVersion=first["metadata"]["resourceVersion"])
    assert summary(events) == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions)


def test_without_resource_version_starts_with_current_objects(
    raw: Raw, custom: client.CustomObjectsApi, ns: str
) -> None:
    create(custom, ns, "a")
    assert summary(watch_events(raw, ns)) == [("ADDED", "a")]
    assert summary(watch_events(raw, ns, resourceVersion="0")) == [("ADDED", "a")]


@pytest.mark.sandbox_only("shrinks the store's history to force compaction")
def test_too_old_resource_version_is_410(
    sandbox: Sandbox, raw: Raw, custom: client.CustomObjectsApi, ns: str
) -> None:
    first = create(custom, ns, "a")
    limit = sandbox.store.history_limit
    sandbox.store.history_limit = 1
    try:
        create(custom, ns, "b")
        create(custom, ns, "c")
    finally:
        sandbox.store.history_limit = limit
    events = watch_events(raw, ns, resourceVersion=first["metadata"]["resourceVersion"])
    assert [e["type"] for e in events] == ["ERROR"]
    assert events[0]["object"]["code"] == 410
    assert events[0]["object"]["reason"] == "Expired"


def test_object_leaving_the_selector_is_deleted_for_the_watcher(
    raw: Raw, custom: client.CustomObjectsApi, ns: str
) -> None:
    first = create(custom, ns, "a", tier="gold")
    patch = {"metadata": {"labels": {"tier": "silver"}}}
    custom.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "a", patch)
    patch = {"metadata": {"labels": {"tier": "gold"}}}
    custom.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "a", patch)
    events = watch_events(
        raw,
        ns,
        resourceVersion=first["metadata"]["resourceVersion"],
        labelSelector="tier=gold",
    )
    assert summary(events) == [("DELETED", "a"), ("ADDED", "a")]


def test_live_events_and_bookmarks(raw: Raw, custom: client.CustomObjectsApi, ns: str) -> None:
    rv = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL)["metadata"][
        "resourceVersion"
    ]
    timer = threading.Timer(0.3, lambda: create(custom, ns, "late"))
    timer.start()
    started = time.monotonic()
    events = watch_events(
        raw, ns, resourceVersion=rv, allowWatchBookmarks="true", timeoutSeconds="2"
    )
    timer.join()
    assert time.monotonic() - started < 5
    assert summary(events)[0] == ("ADDED", "late")


def test_official_client_watch(custom: client.CustomObjectsApi, ns: str) -> None:
    create(custom, ns, "a")
    stream = watch.Watch().stream(
        custom.list_namespaced_custom_object, GROUP, VERSION, ns, PLURAL, timeout_seconds=1
    )
    seen = [(e["type"], e["object"]["metadata"]["name"]) for e in stream]
    assert seen == [("ADDED", "a")]


def test_field_selector_on_watch(raw: Raw, custom: client.CustomObjectsApi, ns: str) -> None:
    create(custom, ns, "a")
    create(custom, ns, "b")
    events = watch_events(raw, ns, fieldSelector="metadata.name=b")
    assert summary(events) == [("ADDED", "b")]
