"""List filtering and pagination."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from .helpers import GROUP, PLURAL, VERSION, course


@pytest.fixture
def labelled(custom: client.CustomObjectsApi, ns: str) -> str:
    for name, labels in (
        ("a", {"tier": "gold", "team": "x"}),
        ("b", {"tier": "silver"}),
        ("c", {}),
    ):
        body = course(name)
        body["metadata"]["labels"] = labels
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)
    return ns


def names(custom: client.CustomObjectsApi, ns: str, **kw: str) -> list[str]:
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, **kw)
    return [item["metadata"]["name"] for item in listed["items"]]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=gold", ["a"]),
        ("tier==gold", ["a"]),
        ("tier!=gold", ["b", "c"]),
        ("tier in (gold, silver)", ["a", "b"]),
        ("tier notin (gold)", ["b", "c"]),
        ("team", ["a"]),
        ("!team", ["b", "c"]),
        ("tier,!team", ["b"]),
    ],
)
def test_label_selectors(
    custom: client.CustomObjectsApi, labelled: str, selector: str, expected: list[str]
) -> None:
    assert names(custom, labelled, label_selector=selector) == expected


def test_field_selectors(custom: client.CustomObjectsApi, labelled: str) -> None:
    assert names(custom, labelled, field_selector="metadata.name=b") == ["b"]
    assert names(custom, labelled, field_selector="metadata.name!=b") == ["a", "c"]


def test_unknown_field_selector_is_400(custom: client.CustomObjectsApi, labelled: str) -> None:
    with pytest.raises(ApiException) as e:
        names(custom, labelled, field_selector="spec.owner=x")
    assert e.value.status == 400


def test_pod_phase_field_selector(core: client.CoreV1Api, ns: str) -> None:
    with pytest.raises(ApiException) as e:
        core.list_namespaced_pod(ns, field_selector="status.bogus=x")
    assert e.value.status == 400
    assert core.list_namespaced_pod(ns, field_selector="status.phase=Running").items == []


def test_pagination(custom: client.CustomObjectsApi, labelled: str) -> None:
    first = custom.list_namespaced_custom_object(GROUP, VERSION, labelled, PLURAL, limit=2)
    assert [i["metadata"]["name"] for i in first["items"]] == ["a", "b"]
    assert first["metadata"]["remainingItemCount"] == 1
    rest = custom.list_namespaced_custom_object(
        GROUP, VERSION, labelled, PLURAL, limit=2, _continue=first["metadata"]["continue"]
    )
    assert [i["metadata"]["name"] for i in rest["items"]] == ["c"]
    assert "continue" not in rest["metadata"]


def test_cluster_wide_list(custom: client.CustomObjectsApi, labelled: str, ns: str) -> None:
    listed = custom.list_cluster_custom_object(GROUP, VERSION, PLURAL, label_selector="tier")
    mine = [i for i in listed["items"] if i["metadata"]["namespace"] == ns]
    assert len(mine) == 2


def test_events_by_involved_object(core: client.CoreV1Api, ns: str) -> None:
    for name, kind in (("e1", "Course"), ("e2", "Pod")):
        core.create_namespaced_event(
            ns,
            {
                "metadata": {"name": name},
                "reason": "R",
                "message": "m",
                "type": "Normal",
                "involvedObject": {"kind": kind, "name": "x", "namespace": ns},
            },
        )
    found = core.list_namespaced_event(
        ns,
        field_selector=f"involvedObject.kind=Course,involvedObject.name=x,"
        f"involvedObject.namespace={ns}",
    )
    assert [e.metadata.name for e in found.items] == ["e1"]
