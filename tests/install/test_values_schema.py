"""values.schema.json refuses wrong types, unknown keys and "latest", naming the key."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest
import yaml

from .chart import CHART
from .conftest import VALUE_SETS


def validate(values: dict[str, Any]) -> None:
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_the_shipped_value_sets_are_valid(name: str) -> None:
    validate(VALUE_SETS[name])


@pytest.mark.parametrize(("values", "message"), [
    ({"replicaCount": "two"}, "at '/replicaCount': got string, want integer"),
    ({"controller": {"limits": {"perUsr": 3}}},
     "at '/controller/limits': additional properties 'perUsr' not allowed"),
    ({"bogus": 1}, "at '': additional properties 'bogus' not allowed"),
    ({"image": {"tag": "latest"}}, "at '/image/tag': 'latest' does not match pattern"),
    ({"worker": {"image": {"tag": "latest"}}},
     "at '/worker/image/tag': 'latest' does not match pattern"),
    ({"controller": {"limits": {"perUser": 0}}},
     "at '/controller/limits/perUser': minimum: got 0, want 1"),
    ({"controller": {"logFormat": "xml"}}, "at '/controller/logFormat': value must be one of"),
    ({"watch": {"namespaces": "default"}}, "at '/watch/namespaces': got string, want array"),
    ({"database": {"url": "mysql://x"}}, "at '/database/url': 'mysql://x' does not match"),
    ({"metrics": {"serviceMonitor": {"labels": {"release": 1}}}},
     "at '/metrics/serviceMonitor/labels/release': got number, want string"),
])
def test_wrong_values_are_refused_naming_the_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmValuesError) as refused:
        validate(values)
    assert message in str(refused.value)


def test_every_value_is_documented_and_declared_in_the_schema() -> None:
    """Each leaf of values.yaml has a comment above it (or its parent) and a schema entry."""
    with helm.Chart.load(CHART) as chart:
        schema = chart.schema
        defaults = chart.values
    assert schema is not None
    undocumented = _undocumented((CHART / "values.yaml").read_text().splitlines())
    assert not undocumented, f"values without a comment: {undocumented}"
    _assert_declared(defaults, schema, "")
    assert yaml.safe_load((CHART / "values.yaml").read_text()) == defaults


def _assert_declared(values: dict[str, Any], schema: dict[str, Any], path: str) -> None:
    properties = schema.get("properties")
    if properties is None:
        return
    for key, value in values.items():
        assert key in properties, f"{path}.{key} is not in values.schema.json"
        sub = properties[key]
        if "$ref" in sub:
            continue
        assert sub.get("description") or sub.get("properties"), f"{path}.{key} undescribed"
        if isinstance(value, dict):
            _assert_declared(value, sub, f"{path}.{key}")


def _undocumented(lines: list[str]) -> list[str]:
    """Keys with no comment right above them or above one of their parent keys."""
    stack: list[tuple[int, bool]] = []  # (indent, documented) of the enclosing keys
    undocumented = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "-")) or ":" not in stripped:
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        commented = index > 0 and lines[index - 1].strip().startswith("#")
        documented = commented or any(doc for _, doc in stack)
        if not stripped.endswith(":") and not documented:
            undocumented.append(stripped)
        stack.append((indent, documented))
    return undocumented
