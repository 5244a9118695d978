"""Options shared by every test tier."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-long", action="store_true", default=False,
        help="run randomized and concurrency tests longer (more examples, more jobs)",
    )


@pytest.fixture(scope="session")
def run_long(request: pytest.FixtureRequest) -> bool:
    """True when the run asked for the longer randomized runs (--run-long)."""
    return bool(request.config.getoption("--run-long"))
