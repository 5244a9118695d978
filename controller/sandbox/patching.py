"""PATCH bodies: JSON merge patch, JSON patch, strategic merge patch, and apply.

A strategic merge patch merges lists of built-in kinds by their merge key; the keys are
declared per field name (``containers`` by ``name``...) since the sandbox serves few kinds
and no two of them use one field name with different keys.
"""

from __future__ import annotations

import copy
from typing import Any

from controller.sandbox.errors import ApiError, bad_request

JSON = dict[str, Any]

MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "containerStatuses": "name",
    "initContainerStatuses": "name",
    "ownerReferences": "uid",
}
MERGED_PRIMITIVE_LISTS = frozenset({"finalizers"})


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _unprocessable(message: str) -> ApiError:
    cause = {"reason": "UnexpectedServerResponse", "message": message}
    return ApiError(
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
        {"causes": [cause]},
    )


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise bad_request(f"json patch path must start with '/': {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], op: str, path: str) -> Any:
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise _unprocessable(f"{op} operation does not apply: doc is missing path: {path}")
    return node


def _get(doc: Any, path: str, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, op, path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise _unprocessable(f"{op} operation does not apply: doc is missing path: {path}")


def _remove(doc: Any, path: str, op: str) -> Any:
    value = _get(doc, path, op)
    parts = _pointer(path)
    parent = _parent(doc, parts, op, path)
    if isinstance(parent, dict):
        del parent[parts[-1]]
    else:
        del parent[int(parts[-1])]
    return value


def _add(doc: Any, path: str, value: Any, op: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent = _parent(doc, parts, op, path)
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list) and last == "-":
        parent.append(copy.deepcopy(value))
    elif isinstance(parent, list) and last.isdigit() and int(last) <= len(parent):
        parent.insert(int(last), copy.deepcopy(value))
    else:
        raise _unprocessable(f"{op} operation does not apply: doc is missing path: {path}")
    return doc


def _apply_op(doc: Any, op: JSON) -> Any:
    kind, path = op.get("op"), op.get("path", "")
    if kind == "test":
        if _get(doc, path, "test") != op.get("value"):
            raise _unprocessable(f"testing value {path} failed: test failed")
        return doc
    if kind == "remove":
        _remove(doc, path, "remove")
        return doc
    if kind == "add":
        return _add(doc, path, op.get("value"), "add")
    if kind == "replace":
        _remove(doc, path, "replace")
        return _add(doc, path, op.get("value"), "replace")
    if kind in ("move", "copy"):
        value = _get(doc, op.get("from", ""), kind)
        if kind == "move":
            _remove(doc, op.get("from", ""), kind)
        return _add(doc, path, value, kind)
    raise bad_request(f"Unexpected kind: {kind}")


def json_patch(target: JSON, ops: Any) -> Any:
    """RFC 6902; a failed ``test`` or a missing path is 422, as kube-apiserver answers."""
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc: Any = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict):
            raise bad_request("json patch operations must be objects")
        doc = _apply_op(doc, op)
    return doc


def _merge_keyed_list(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    result = [copy.deepcopy(item) for item in target]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            result.append(copy.deepcopy(item))
            continue
        index = next(
            (i for i, t in enumerate(result) if isinstance(t, dict) and t.get(key) == item[key]),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strategic_merge(None, item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def _merge_field(name: str, current: Any, value: Any) -> Any:
    if isinstance(value, list) and isinstance(current, list):
        if name in MERGE_KEYS:
            return _merge_keyed_list(current, value, MERGE_KEYS[name])
        if name in MERGED_PRIMITIVE_LISTS:
            return current + [v for v in value if v not in current]
        return copy.deepcopy(value)
    if isinstance(value, dict):
        return strategic_merge(current, value)
    return copy.deepcopy(value)


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge patch for built-in kinds; ``$setElementOrder`` and ``$retainKeys`` are
    accepted and ignored, ``$patch: replace|delete`` and ``$deleteFromPrimitiveList`` honoured."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or [] if v not in value]
        elif key.startswith("$"):
            continue
        elif value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_field(key, result.get(key), value)
    return result


def apply_patch(target: JSON | None, applied: JSON) -> JSON:
    """Server-side apply, simplified to a recursive field merge of the applied configuration."""
    merged = merge_patch(target or {}, {k: v for k, v in applied.items() if v is not None})
    assert isinstance(merged, dict)
    return merged
