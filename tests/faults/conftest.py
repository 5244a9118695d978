"""The fault-injection tier: a local cluster per test, PostgreSQL where the case needs it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tests.e2e.harness import Courses

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"




@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test (the queue is migrated by LocalCluster)."""
    base = make_url(os.environ.get("COURSE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = f"course_fault_{secrets.token_hex(5)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL unreachable in CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def api_for(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(str(kubeconfig))


@pytest.fixture
def courses_for() -> Iterator[object]:
    """Build a Courses accessor for a cluster; closes the API clients at the end."""
    clients: list[client.ApiClient] = []

    def make(kubeconfig: Path) -> Courses:
        api = api_for(kubeconfig)
        clients.append(api)
        return Courses(api)

    yield make
    for api in clients:
        api.close()
