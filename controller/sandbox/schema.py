"""A small structural-schema (OpenAPI v3) engine for custom resources.

The order is kube-apiserver's: prune unknown fields, apply defaults, then validate. Error
causes carry the reason and message wording of the real server so that ``kubectl apply``
shows what a user of a real cluster would see.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from controller.sandbox.errors import Cause

JSON = dict[str, Any]
SKIPPED_TOP = frozenset({"apiVersion", "kind", "metadata"})


def _preserves(schema: JSON) -> bool:
    return bool(schema.get("x-kubernetes-preserve-unknown-fields"))


def prune(schema: JSON, value: Any, top: bool = False) -> Any:
    """Drop fields the schema does not declare, and nulls of non-nullable fields."""
    if isinstance(value, dict):
        props: JSON = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        result: JSON = {}
        for key, item in value.items():
            if top and key in SKIPPED_TOP:
                result[key] = item
                continue
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if item is None and not (sub or {}).get("nullable"):
                continue
            if sub is not None:
                result[key] = prune(sub, item)
            elif _preserves(schema) or extra is True:
                result[key] = item
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune(schema["items"], item) for item in value]
    return value


def default(schema: JSON, value: Any) -> Any:
    """Fill absent properties that declare a ``default``, recursively."""
    if isinstance(value, dict):
        result = dict(value)
        for key, sub in (schema.get("properties") or {}).items():
            if key not in result and "default" in sub:
                result[key] = copy.deepcopy(sub["default"])
            if key in result:
                result[key] = default(sub, result[key])
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in result.keys() - (schema.get("properties") or {}).keys():
                result[key] = default(extra, result[key])
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [default(schema["items"], item) for item in value]
    return value


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _type_ok(expected: str, value: Any, schema: JSON) -> bool:
    actual = type_name(value)
    if schema.get("x-kubernetes-int-or-string"):
        return actual in ("integer", "string")
    if actual == "null":
        return bool(schema.get("nullable"))
    if expected == "number":
        return actual in ("integer", "number")
    return actual == expected


def show(value: Any) -> str:
    """A value the way Go's ``%#v``-ish field errors print it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        inner = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in value.items())
        return "map[string]interface {}{" + inner + "}"
    return json.dumps(value)


def _invalid(path: str, value: Any, text: str) -> Cause:
    return Cause("FieldValueInvalid", path, f"Invalid value: {show(value)}: {path} in body {text}")


class Validator:
    """Collects causes while walking a value against its schema."""

    def __init__(self) -> None:
        self.causes: list[Cause] = []

    def run(self, schema: JSON, value: Any, path: str) -> None:
        expected = schema.get("type")
        if schema.get("x-kubernetes-int-or-string"):
            expected = "integer,string"
        if expected and not _type_ok(expected, value, schema):
            name = type_name(value)
            msg = f'Invalid value: "{name}": {path} in body must be of type {expected}: "{name}"'
            self.causes.append(Cause("FieldValueTypeInvalid", path, msg))
            return
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(show(v) for v in schema["enum"])
            msg = f"Unsupported value: {show(value)}: supported values: {allowed}"
            self.causes.append(Cause("FieldValueNotSupported", path, msg))
        if isinstance(value, str):
            self._string(schema, value, path)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self._number(schema, value, path)
        elif isinstance(value, list):
            self._array(schema, value, path)
        elif isinstance(value, dict):
            self._object(schema, value, path)

    def _string(self, schema: JSON, value: str, path: str) -> None:
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            msg = f"Too long: may not be longer than {schema['maxLength']}"
            self.causes.append(Cause("FieldValueTooLong", path, msg))
        if "minLength" in schema and len(value) < schema["minLength"]:
            text = f"should be at least {schema['minLength']} chars long"
            self.causes.append(_invalid(path, value, text))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            self.causes.append(_invalid(path, value, f"should match '{schema['pattern']}'"))

    def _number(self, schema: JSON, value: float, path: str) -> None:
        if "minimum" in schema and value < schema["minimum"]:
            text = f"should be greater than or equal to {schema['minimum']}"
            self.causes.append(_invalid(path, value, text))
        if "maximum" in schema and value > schema["maximum"]:
            text = f"should be less than or equal to {schema['maximum']}"
            self.causes.append(_invalid(path, value, text))

    def _array(self, schema: JSON, value: list[Any], path: str) -> None:
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            msg = f"Too many: {len(value)}: must have at most {schema['maxItems']} items"
            self.causes.append(Cause("FieldValueTooMany", path, msg))
        if "minItems" in schema and len(value) < schema["minItems"]:
            text = f"should have at least {schema['minItems']} items"
            self.causes.append(_invalid(path, len(value), text))
        items = schema.get("items")
        for i, item in enumerate(value):
            if isinstance(items, dict):
                self.run(items, item, f"{path}[{i}]")
        self._unique(schema, value, path)

    def _unique(self, schema: JSON, value: list[Any], path: str) -> None:
        list_type = schema.get("x-kubernetes-list-type")
        if list_type not in ("map", "set"):
            return
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen: list[Any] = []
        for i, item in enumerate(value):
            ident = (
                {k: item.get(k) for k in keys}
                if list_type == "map" and isinstance(item, dict)
                else item
            )
            if ident in seen:
                msg = f"Duplicate value: {show(ident)}"
                self.causes.append(Cause("FieldValueDuplicate", f"{path}[{i}]", msg))
            seen.append(ident)

    def _object(self, schema: JSON, value: JSON, path: str) -> None:
        props: JSON = schema.get("properties") or {}
        for key in schema.get("required") or []:
            if key not in value:
                self.causes.append(Cause("FieldValueRequired", _join(path, key), "Required value"))
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if path == "" and key in SKIPPED_TOP:
                continue
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                self.run(sub, item, _join(path, key))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate(schema: JSON, value: Any, path: str = "") -> list[Cause]:
    validator = Validator()
    validator.run(schema, value, path)
    return validator.causes


def normalize(schema: JSON, obj: JSON) -> JSON:
    """Prune then default a whole custom object (metadata and type fields left alone)."""
    pruned = prune(schema, obj, top=True)
    defaulted = default({**schema, "properties": _without_top(schema)}, pruned)
    assert isinstance(defaulted, dict)
    return defaulted


def _without_top(schema: JSON) -> JSON:
    return {k: v for k, v in (schema.get("properties") or {}).items() if k not in SKIPPED_TOP}


def unknown_fields(schema: JSON, value: Any, path: str = "") -> list[str]:
    """Paths that pruning would drop: what ``fieldValidation=Strict`` rejects."""
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        found = []
        for i, item in enumerate(value):
            found += unknown_fields(schema["items"], item, f"{path}[{i}]")
        return found
    if not isinstance(value, dict) or _preserves(schema):
        return []
    props: JSON = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    found = []
    for key, item in value.items():
        if path == "" and key in SKIPPED_TOP:
            continue
        sub = props.get(key, extra if isinstance(extra, dict) else None)
        if sub is not None:
            found += unknown_fields(sub, item, _join(path, key))
        elif extra is not True:
            found.append(_join(path, key))
    return found
