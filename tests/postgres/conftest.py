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


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:
    """The name of a database made by ``tessdb-core init`` once per session, to clone."""
    from tessdb_postgres import PostgresStore

    name = "tessdb_template"
    PostgresStore(pg_server.create_database(name)).initialise()
    return name


@pytest.fixture
def pg_db(pg_server, pg_template) -> str:
    """The URL of a new database already initialised (a copy of the template: fast)."""
    return pg_server.fresh_database("db", template=pg_template)
