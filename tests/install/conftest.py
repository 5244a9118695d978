"""Shared value sets: the defaults, and one that turns every switch away from its default."""

from __future__ import annotations

from typing import Any

import pytest

NON_DEFAULT: dict[str, Any] = {
    "fullnameOverride": "courses",
    "image": {"repository": "registry.example/course-controller", "tag": "0.2.0"},
    "imagePullSecrets": [{"name": "regcred"}],
    "replicaCount": 3,
    "commonLabels": {"team": "learning"},
    "controller": {
        "limits": {"global": 20, "perUser": 5, "perUserOverrides": {"alice": 8}},
        "sweepInterval": 2, "leaseSeconds": 30, "logFormat": "text",
    },
    "watch": {"allNamespaces": True},
    "worker": {
        "image": {"repository": "registry.example/course-worker", "tag": "0.2.1"},
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
        "serviceAccount": {"name": "video-worker", "namespaces": ["team-a", "team-b"]},
    },
    "database": {"url": "postgresql+psycopg://app:secret@db.example:5432/courses"},
    "metrics": {
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
        "prometheusRule": {"enabled": True, "labels": {"release": "prometheus"},
                           "alertLabels": {"team": "learning"}},
    },
    "networkPolicy": {
        "enabled": True,
        "metricsFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}],
    },
    "podDisruptionBudget": {"maxUnavailable": "50%"},
    "podLabels": {"sidecar.istio.io/inject": "false"},
    "nodeSelector": {"kubernetes.io/os": "linux"},
}

SQLITE: dict[str, Any] = {
    "replicaCount": 3,
    "watch": {"namespaces": ["team-a", "team-b"]},
    "database": {"sqlite": {"enabled": True, "persistence": {"enabled": True, "size": "5Gi"}}},
    "migrations": {"enabled": True},
}

VALUE_SETS = {"default": {}, "non-default": NON_DEFAULT, "sqlite": SQLITE}


@pytest.fixture(params=sorted(VALUE_SETS))
def values(request: pytest.FixtureRequest) -> dict[str, Any]:
    return VALUE_SETS[request.param]
