"""The CRD's openAPIV3Schema is enforced like kube-apiserver enforces it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from controller.sandbox import schema

from .helpers import GROUP, PLURAL, VERSION, course


def rejected(custom: client.CustomObjectsApi, ns: str, body: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ApiException) as e:
        custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)
    assert e.value.status == 422
    status: dict[str, Any] = json.loads(e.value.body)
    assert status["reason"] == "Invalid"
    return status


def test_missing_required_field(custom: client.CustomObjectsApi, ns: str) -> None:
    body = course("bad")
    del body["spec"]["owner"]
    status = rejected(custom, ns, body)
    assert status["message"] == 'Course.learning.dev "bad" is invalid: spec.owner: Required value'
    assert status["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.owner"}
    ]


def test_several_causes_are_listed(custom: client.CustomObjectsApi, ns: str) -> None:
    body = course("bad", "Bad_Name", "lesson-1", "lesson-1", owner="x" * 64)
    body["spec"]["priority"] = 5000
    status = rejected(custom, ns, body)
    fields = {(c["reason"], c["field"]) for c in status["details"]["causes"]}
    assert fields == {
        ("FieldValueTooLong", "spec.owner"),
        ("FieldValueInvalid", "spec.modules[0].name"),
        ("FieldValueDuplicate", "spec.modules[2]"),
        ("FieldValueInvalid", "spec.priority"),
    }
    assert status["message"].startswith('Course.learning.dev "bad" is invalid: [')
    assert (
        "spec.priority: Invalid value: 5000: spec.priority in body should be less than"
        in (status["message"])
    )


def test_type_and_enum_errors(custom: client.CustomObjectsApi, ns: str) -> None:
    body = course("bad")
    body["spec"]["suspend"] = "yes"
    status = rejected(custom, ns, body)
    assert status["details"]["causes"][0]["reason"] == "FieldValueTypeInvalid"
    assert "must be of type boolean" in status["message"]


def test_validated_after_patch(custom: client.CustomObjectsApi, ns: str) -> None:
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, course("x"))
    with pytest.raises(ApiException) as e:
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, "x", {"spec": {"modules": []}}
        )
    assert e.value.status == 422
    assert "spec.modules in body should have at least 1 items" in e.value.body


def test_defaults_applied_and_unknown_fields_pruned(
    custom: client.CustomObjectsApi, ns: str
) -> None:
    body = course("x")
    body["spec"]["colour"] = "blue"
    created = custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, body)
    assert created["spec"]["priority"] == 0 and created["spec"]["suspend"] is False
    assert "colour" not in created["spec"]


def test_preserve_unknown_fields_keeps_them() -> None:
    sch = {
        "type": "object",
        "properties": {"r": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    }
    assert schema.prune(sch, {"r": {"any": {"thing": 1}}, "x": 1}) == {"r": {"any": {"thing": 1}}}


def test_int_or_string_and_nested_list_map() -> None:
    sch = {
        "type": "object",
        "properties": {
            "q": {
                "x-kubernetes-int-or-string": True,
                "anyOf": [{"type": "integer"}, {"type": "string"}],
            },
            "c": {
                "type": "array",
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
                "items": {"type": "object", "properties": {"type": {"type": "string"}}},
            },
        },
    }
    assert schema.validate(sch, {"q": 1}) == [] and schema.validate(sch, {"q": "1Gi"}) == []
    causes = schema.validate(sch, {"q": 1.5, "c": [{"type": "A"}, {"type": "A"}]})
    assert [c.reason for c in causes] == ["FieldValueTypeInvalid", "FieldValueDuplicate"]
    assert causes[1].field == "c[1]"
