"""The services of the integration tests: one throwaway PostgreSQL cluster per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.postgres_cluster import PostgresCluster, start_cluster


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster in a temporary folder, stopped and removed after the session."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()
