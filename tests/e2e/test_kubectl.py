"""What a user types: kubectl against `course-controller sandbox`, with the shipped example."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from controller.localcluster import SAMPLES_DIR, LocalCluster, ensure_samples

from .harness import wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "course.yaml"


def kubectl(cluster: LocalCluster, home: Path, *args: str, check: bool = True,
            ) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("kubectl")
    assert binary, "kubectl is required (.ci/run installs it)"
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "HOME": str(home)}
    return subprocess.run([binary, *args], env=env, capture_output=True, text=True,
                          timeout=60, check=check)


def test_example_course_is_processed_and_shown_by_kubectl(
    cluster: LocalCluster, tmp_path: Path,
) -> None:
    ensure_samples(SAMPLES_DIR)
    name = yaml.safe_load(EXAMPLE.read_text())["metadata"]["name"]
    applied = kubectl(cluster, tmp_path, "apply", "-f", str(EXAMPLE))
    assert f"course.learning.dev/{name} created" in applied.stdout

    def phase() -> str:
        return kubectl(cluster, tmp_path, "get", "crs", name,
                       "-o", "jsonpath={.status.phase}").stdout
    wait_for(lambda: phase() == "Succeeded", 90, "the example Course to succeed", every=0.5)

    table = kubectl(cluster, tmp_path, "get", "courses").stdout.splitlines()
    assert table[0].split() == ["NAME", "OWNER", "MODULES", "DONE", "FAILED", "PHASE",
                                "PROGRESS", "AGE"]
    assert table[1].split()[:7] == [name, "user-42", "6", "6", "0", "Succeeded", "100"]
    described = kubectl(cluster, tmp_path, "describe", "crs", name).stdout
    assert "Ready" in described and "6/6 modules succeeded" in described

    deleted = kubectl(cluster, tmp_path, "delete", "-f", str(EXAMPLE))
    assert "deleted" in deleted.stdout
    gone = kubectl(cluster, tmp_path, "get", "crs", name, check=False)
    assert gone.returncode == 1 and "NotFound" in gone.stderr
    pods = kubectl(cluster, tmp_path, "get", "pods", "-o", "name").stdout
    assert pods.strip() == "", "the Course's pods are garbage-collected with it"


def test_invalid_course_is_rejected_at_apply_time_naming_the_field(
    cluster: LocalCluster, tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({
        "apiVersion": "learning.dev/v1alpha1", "kind": "Course",
        "metadata": {"name": "bad", "namespace": "default"},
        "spec": {"owner": "user-1", "modules": [
            {"name": "Lesson_1", "source": "file:///x.mp4"},
            {"name": "ok", "source": "file:///y.mp4"},
            {"name": "ok", "source": "file:///z.mp4"}]},
    }))
    result = kubectl(cluster, tmp_path, "apply", "-f", str(bad), check=False)
    assert result.returncode != 0
    assert "spec.modules[0].name" in result.stderr
    assert "Duplicate value" in result.stderr and "spec.modules[2]" in result.stderr
    missing = kubectl(cluster, tmp_path, "get", "crs", "bad", check=False)
    assert "NotFound" in missing.stderr
