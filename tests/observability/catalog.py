"""What the controller exports and what docs/metrics.md documents, in one comparable form.

A metric is compared by the name a user writes in PromQL (counters with ``_total``), its
type and its label names. A histogram ``X`` is queried as ``X_bucket``, ``X_count`` and
``X_sum``; ``series_names`` expands those so a query can be checked name by name.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

import controller

ROOT = Path(__file__).resolve().parents[2]
METRICS_DOC = ROOT / "docs" / "metrics.md"
PREFIX = "course_controller_"
SKIPPED_PACKAGES = ("controller.migrations",)  # alembic's env.py runs migrations on import

_ROW = re.compile(r"^\|\s*`(course_controller_\w+)`\s*\|\s*(\w+)\s*\|([^|]*)\|")
_HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


@dataclass(frozen=True)
class Metric:
    name: str
    type: str
    labels: frozenset[str]


def import_controller() -> None:
    """Import every controller module, so a metric defined anywhere gets registered."""
    for info in pkgutil.walk_packages(controller.__path__, "controller."):
        if not info.name.startswith(SKIPPED_PACKAGES):
            importlib.import_module(info.name)


def _declared_labels() -> dict[str, frozenset[str]]:
    """Label names of the metric objects of loaded controller modules (a labelled metric
    without children has no samples to read them from)."""
    found: dict[str, frozenset[str]] = {}
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith("controller"):
            continue
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                found[value._name] = frozenset(value._labelnames)
    return found


def exported(registry: CollectorRegistry = REGISTRY) -> dict[str, Metric]:
    declared = _declared_labels()
    metrics: dict[str, Metric] = {}
    for family in registry.collect():
        if not family.name.startswith(PREFIX):
            continue
        name = f"{family.name}_total" if family.type == "counter" else family.name
        labels = {key for sample in family.samples for key in sample.labels} - {"le"}
        labels |= declared.get(family.name, frozenset())
        metrics[name] = Metric(name, family.type, frozenset(labels))
    return metrics


def documented(path: Path = METRICS_DOC) -> dict[str, Metric]:
    metrics: dict[str, Metric] = {}
    for line in path.read_text().splitlines():
        if match := _ROW.match(line):
            name, kind, labels = match.groups()
            assert name not in metrics, f"{name} is documented twice"
            metrics[name] = Metric(name, kind, frozenset(re.findall(r"`(\w+)`", labels)))
    return metrics


def series_names(metrics: dict[str, Metric]) -> set[str]:
    """Every name a query may use: a histogram's ``_bucket``/``_count``/``_sum`` series."""
    names = set()
    for metric in metrics.values():
        names.add(metric.name)
        if metric.type == "histogram":
            names |= {metric.name + suffix for suffix in _HISTOGRAM_SUFFIXES}
    return names


def metric_names_in(query: str) -> set[str]:
    return set(re.findall(r"\bcourse_controller_\w+", query))
