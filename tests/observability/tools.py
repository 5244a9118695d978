"""Finding the Prometheus binaries (Debian's ``prometheus`` package; .ci/run installs it)."""

from __future__ import annotations

import os
import shutil

import pytest


def require(binary: str) -> str:
    """The binary's path; skip without it, except in CI where a missing tool is a failure."""
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} is not installed (apt-get install prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
