"""The fault-injection tier: a local cluster per test, PostgreSQL where the case needs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.e2e.harness import Courses
from tests.pg import PostgresServer


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, migrated PostgreSQL database for one test."""
    return postgres_server.create_database()


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
