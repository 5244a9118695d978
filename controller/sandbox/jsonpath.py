"""The JSONPath subset printer columns use: ``.a.b``, ``.a[0].b``, ``.a['x.y']``."""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def evaluate(path: str, obj: Any) -> Any:
    """The value at ``path``, or None when any step is missing."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    node = obj
    for m in _TOKEN.finditer(text):
        name, index, quoted, dquoted = m.groups()
        if index is not None:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
        else:
            key = name if name is not None else (quoted if quoted is not None else dquoted)
            node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node
