"""Every pod the chart renders meets the restricted Pod Security Standard."""

from __future__ import annotations

from typing import Any

from .chart import objects, pod_spec
from .checks import restricted_problems


def test_rendered_pods_are_restricted(values: dict[str, Any]) -> None:
    pods = [o for o in objects(values) if o["kind"] in ("Deployment", "Pod")]
    assert len(pods) == 2
    for pod in pods:
        assert restricted_problems(pod_spec(pod)) == [], pod["metadata"]["name"]


def test_the_checker_catches_each_violation() -> None:
    spec = {"hostNetwork": True, "securityContext": {},
            "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
            "containers": [{"name": "c", "securityContext": {
                "privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}},
                "ports": [{"containerPort": 80, "hostPort": 80}]}]}
    problems = restricted_problems(spec)
    for expected in ("pod sets hostNetwork", "volume h uses ['hostPath']", "c: privileged",
                     "c: allowPrivilegeEscalation is not false", "c: runAsNonRoot is not true",
                     "c: seccompProfile is None", "c: capabilities do not drop ALL",
                     "c: adds capabilities ['SYS_ADMIN']", "c: uses a hostPort",
                     "c: root filesystem is writable"):
        assert expected in problems
