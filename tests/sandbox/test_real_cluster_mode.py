"""The conformance suite's real-cluster mode, tried on a second, separately started Sandbox
that knows nothing of Courses: the suite must install the CRD itself, run the portable
tests there, skip the sandbox-only ones with their reason, and clean up its namespaces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from controller.sandbox import Sandbox

from .helpers import REPO

PYTEST = (sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider")
PORTABLE = "tests/sandbox/test_kubectl.py::test_apply_create_unchanged_configure"
REPLAY = "tests/sandbox/test_watch.py::test_replays_changes_after_resource_version"
SANDBOX_ONLY = "tests/sandbox/test_watch.py::test_too_old_resource_version_is_410"


@pytest.mark.sandbox_only("starts a Sandbox of its own to play the real cluster")
def test_suite_runs_against_a_given_kubeconfig(tmp_path: Path) -> None:
    with Sandbox(tmp_path / "cluster") as cluster:
        option = ["--kube-conformance-kubeconfig", str(cluster.kubeconfig_path)]
        result = subprocess.run(
            [*PYTEST, PORTABLE, REPLAY, SANDBOX_ONLY, *option],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        crds = [o["metadata"]["name"] for o in cluster.store.list(CRDS)]
        namespaces = [o["metadata"]["name"] for o in cluster.store.list(NAMESPACES)]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed, 1 skipped" in result.stdout
    assert "sandbox only: shrinks the store's history" in result.stdout
    assert crds == ["courses.learning.dev"]
    assert not [n for n in namespaces if n.startswith("t-")]


CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
NAMESPACES = ("", "namespaces")
