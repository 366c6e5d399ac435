"""PostgreSQL fixtures: one real server per test session, one fresh database per test.

The server is the throwaway cluster of ``tests/pgserver.py`` (127.0.0.1, a free port,
durability off).  Missing PostgreSQL binaries make these tests fail with a message
saying what to install; they are never skipped.
"""

from __future__ import annotations

import pytest

from pgserver import PgServer


@pytest.fixture(scope="session")
def pg_server():
    """A running PostgreSQL server, stopped (and its directory removed) after the session."""
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """The URL of a new, empty database (CREATE DATABASE t_<n>) for this test only."""
    return pg_server.fresh_database("t")
