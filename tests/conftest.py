"""Options shared by every test tier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.samples import make_not_a_video, make_sample_video
from tests import pg


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-long", action="store_true", default=False,
        help="run randomized and concurrency tests longer (more examples, more jobs)",
    )


@pytest.fixture(scope="session")
def run_long(request: pytest.FixtureRequest) -> bool:
    """True when the run asked for the longer randomized runs (--run-long)."""
    return bool(request.config.getoption("--run-long"))


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Six short, real MP4 uploads (2 s each), shared by the tiers that process video."""
    root = tmp_path_factory.mktemp("uploads")
    return [make_sample_video(root / f"upload-{i}.mp4", seconds=2.0, label=f"upload {i}")
            for i in range(1, 7)]


@pytest.fixture(scope="session")
def not_a_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A text file named like a video: the worker must refuse it with a clear reason."""
    return make_not_a_video(tmp_path_factory.mktemp("bad") / "notes.mp4")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[pg.PostgresServer]:
    """The test PostgreSQL server (skipped when unreachable, a failure under CI=true)."""
    yield from pg.postgres_server()
