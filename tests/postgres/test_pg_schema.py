"""The star schema on PostgreSQL: same tables, columns, keys, indexes and view as SQLite; the
preload; init idempotent and careful; the store hook picks PostgreSQL URLs only."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from tessdb_core import app as app_mod
from tessdb_core.contracts import Store, StoreError
from tessdb_postgres import PostgresStore
from tessdb_postgres.dialect import qmark_to_format
from tessdb_postgres.schema import TESS_V_COLUMNS
from tessdb_postgres.urls import postgres_conninfo, redact
from tessdb_sqlite import SqliteStore
from tessdb_star.tables import OUR_TABLES


def pg_rows(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(sql, params or None).fetchall()]


def test_init_creates_every_table_and_the_preload(pg_url):
    report = PostgresStore(pg_url).initialise()
    assert report.startswith("initialised ") and "PostgreSQL" in report
    tables = {r[0] for r in pg_rows(pg_url, "SELECT table_name FROM information_schema.tables WHERE "
                                            "table_schema = 'public' AND table_type = 'BASE TABLE'")}
    assert tables == set(OUR_TABLES)
    counts = {t: pg_rows(pg_url, f"SELECT COUNT(*) FROM {t}")[0][0] for t in sorted(OUR_TABLES)}
    assert counts == {"date_t": 18628, "time_t": 86400, "tess_units_t": 4, "location_t": 1, "observer_t": 1,
                      "tess_t": 0, "name_to_mac_t": 0, "tess_readings_t": 0, "tess_readings4c_t": 0}
    assert pg_rows(pg_url, "SELECT MIN(date_id), MAX(date_id) FROM date_t") == [(20000101, 20501231)]
    assert pg_rows(pg_url, "SELECT units_id, timestamp_source, reading_source FROM tess_units_t ORDER BY 1") == [
        (0, "Subscriber", "Direct"), (1, "Publisher", "Direct"), (2, "Subscriber", "Imported"),
        (3, "Publisher", "Imported")]
    assert pg_rows(pg_url, "SELECT location_id, place, timezone FROM location_t") == [(-1, "Unknown", "Etc/UTC")]
    assert pg_rows(pg_url, "SELECT observer_id, name, valid_state, valid_until FROM observer_t") == [
        (-1, "Unknown", "Current", "2999-12-31 23:59:59.000000")]


def test_preload_rows_are_those_of_sqlite(pg_url, tmp_path):
    PostgresStore(pg_url).initialise()
    lite = tmp_path / "tess.db"
    SqliteStore(str(lite)).initialise()
    conn = sqlite3.connect(lite)
    try:
        for table, key in (("date_t", "date_id"), ("time_t", "time_id"), ("tess_units_t", "units_id"),
                           ("location_t", "location_id"), ("observer_t", "observer_id")):
            assert pg_rows(pg_url, f"SELECT * FROM {table} ORDER BY {key}") == \
                conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall(), table
    finally:
        conn.close()


def test_same_columns_keys_and_indexes_as_sqlite(pg_url, tmp_path):
    PostgresStore(pg_url).initialise()
    lite = tmp_path / "tess.db"
    SqliteStore(str(lite)).initialise()
    conn = sqlite3.connect(lite)
    try:
        for table in sorted(OUR_TABLES):
            lite_cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            pg_cols = [r[0] for r in pg_rows(pg_url, "SELECT column_name FROM information_schema.columns WHERE "
                                                     "table_name = %s ORDER BY ordinal_position", table)]
            assert pg_cols == lite_cols, table
            lite_pk = [r[1] for r in sorted((r for r in conn.execute(f"PRAGMA table_info({table})") if r[5]),
                                            key=lambda r: r[5])]
            pg_pk = [r[0] for r in pg_rows(
                pg_url, "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary "
                        "ORDER BY array_position(i.indkey, a.attnum)", table)]
            assert pg_pk == lite_pk, table
        lite_ix = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                              "AND name NOT LIKE 'sqlite_%'")}
        pg_ix = {r[0] for r in pg_rows(pg_url, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
        assert lite_ix <= pg_ix
        # the view: same columns, the observer's name as SQLite names it ("name:1")
        lite_view = [r[1] for r in conn.execute("PRAGMA table_info(tess_v)")]
    finally:
        conn.close()
    with psycopg.connect(pg_url) as pg:
        pg_view = [d.name for d in pg.execute("SELECT * FROM tess_v").description]
    assert pg_view == lite_view == list(TESS_V_COLUMNS)
    assert pg_view[32] == "name:1"


def test_init_is_idempotent_and_leaves_other_tables_alone(pg_url):
    store = PostgresStore(pg_url)
    store.initialise()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO location_t (location_id, place, town, sub_region, region, country) "
                     "VALUES (5, 'x', 'x', 'x', 'x', 'x')")
        conn.execute("CREATE TABLE notes (x int)")
    again = store.initialise()
    assert "already initialised" in again and "nothing changed" in again and "notes" in again
    assert pg_rows(pg_url, "SELECT COUNT(*) FROM location_t") == [(2,)]
    assert pg_rows(pg_url, "SELECT COUNT(*) FROM date_t") == [(18628,)]


def test_init_refuses_foreign_and_partial_databases(pg_server):
    foreign = pg_server.fresh_database("foreign")
    with psycopg.connect(foreign, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(StoreError, match="not a tessdb database.*invoices"):
        PostgresStore(foreign).initialise()
    assert pg_rows(foreign, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'") == [(1,)]
    partial = pg_server.fresh_database("partial")
    with psycopg.connect(partial, autocommit=True) as conn:
        conn.execute("CREATE TABLE tess_t (tess_id int)")
    with pytest.raises(StoreError, match="only part of the tessdb schema"):
        PostgresStore(partial).initialise()


def test_open_checks_the_database(pg_server, pg_url):
    with pytest.raises(StoreError, match="empty: run `tessdb-core init"):
        PostgresStore(pg_url).open()
    with pytest.raises(StoreError, match="cannot connect"):
        PostgresStore(pg_server.url("no_such_database")).initialise()
    store = PostgresStore(pg_url)
    store.initialise()
    store.open()
    try:
        assert isinstance(store, Store) and store.is_open
        assert store.load_catalog().mappings == []
        assert store.changed_elsewhere() is False
    finally:
        store.close()
    assert not store.is_open


def test_store_hook_speaks_postgresql_urls_only(pg_url, tmp_path, monkeypatch):
    for key in [k for k in __import__("os").environ if k.startswith("TESSDB_")]:
        monkeypatch.delenv(key)
    app = app_mod.create(configure_logs=False)
    assert isinstance(app.store(pg_url), PostgresStore)
    assert isinstance(app.store(pg_url.replace("postgresql://", "postgres://")), PostgresStore)
    assert isinstance(app.store(str(tmp_path / "x.db")), SqliteStore)
    assert postgres_conninfo("postgresql+psycopg://u@h/db") == "postgresql://u@h/db"
    assert postgres_conninfo("sqlite:///x.db") is None and postgres_conninfo("tess.db") is None


def test_passwords_never_reach_the_logs():
    assert redact("postgresql://tess:s3cret@db.example:5432/tessdb") == "postgresql://tess:***@db.example:5432/tessdb"
    assert redact("postgresql://h/db?user=x&password=s3cret") == "postgresql://h/db?user=x&password=***"
    assert PostgresStore("postgresql://tess:s3cret@127.0.0.1/x").url == "postgresql://tess:***@127.0.0.1/x"


def test_the_dialect_layer_translates_placeholders_outside_quotes():
    assert qmark_to_format("SELECT a FROM t WHERE b = ? AND c LIKE '%?%' AND d = ?") == \
        "SELECT a FROM t WHERE b = %s AND c LIKE '%%?%%' AND d = %s"
