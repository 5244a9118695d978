"""The Grafana dashboard: valid JSON, the panels the issue asks for, only existing metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .catalog import ROOT, documented, metric_names_in, series_names

DASHBOARD = ROOT / "docs" / "dashboards" / "course-controller.json"


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # panels inside collapsed rows


def queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of the dashboard."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"])
            for panel in _panels(dashboard["panels"]) for target in panel.get("targets", [])]


def test_every_query_names_only_metrics_that_exist() -> None:
    known = series_names(documented())
    found = queries()
    assert len(found) >= 10
    for title, expr in found:
        names = metric_names_in(expr)
        assert names, f"{title}: {expr} queries no controller metric"
        assert names <= known, f"{title}: unknown {sorted(names - known)}"


def test_the_panels_the_issue_asks_for_are_there() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    titles = {panel["title"] for panel in _panels(dashboard["panels"])}
    for wanted in ("Queue depth by state", "Wait time before a claim", "Throughput",
                   "Failures by reason", "Repairs", "Slot saturation"):
        assert wanted in titles
    ids = [panel["id"] for panel in _panels(dashboard["panels"])]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["templating"]["list"][0]["type"] == "datasource"
