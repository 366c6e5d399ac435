"""PostgreSQL fixtures: one real server per test session, one fresh database per test.

The server is the throwaway cluster of ``tests/pgserver.py`` (127.0.0.1, a free port,
durability off).  Missing PostgreSQL binaries make these tests fail with a message
saying what to install; they are never skipped.
"""

from __future__ import annotations

import os
import sqlite3

import psycopg
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


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    """Each store in turn: a SQLite file path, then a new empty PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "tess.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def app(monkeypatch):
    """The application with every installed plugin and the default settings (no TESSDB_ variable)."""
    from tessdb_core import app as app_mod

    for key in [k for k in os.environ if k.startswith("TESSDB_")]:
        monkeypatch.delenv(key)
    return app_mod.create(configure_logs=False)


def _select_rows(url: str, queries: dict[str, str]) -> dict[str, list[tuple]]:
    if url.startswith("postgresql://"):
        with psycopg.connect(url) as conn:
            return {key: [tuple(r) for r in conn.execute(sql).fetchall()] for key, sql in queries.items()}
    conn = sqlite3.connect(url)
    try:
        return {key: conn.execute(sql).fetchall() for key, sql in queries.items()}
    finally:
        conn.close()


@pytest.fixture
def select_rows():
    """``select_rows(url, {key: sql})`` -> {key: rows as tuples}, read by a connection of its
    own from a SQLite path or a postgresql:// URL (what another program would see)."""
    return _select_rows


@pytest.fixture
def open_store():
    """``open_store(url)``: a new open store on a SQLite path or a postgresql:// URL (as each
    collector or tool has its own), closed after the test."""
    from tessdb_postgres import PostgresStore
    from tessdb_sqlite import SqliteStore

    opened = []

    def make(url: str):
        store = PostgresStore(url) if url.startswith("postgresql://") else SqliteStore(url)
        store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
