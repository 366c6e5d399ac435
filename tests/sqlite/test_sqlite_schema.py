"""initialise(): the schema it creates, the preload, idempotence and refusals."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from pathlib import Path

import pytest

from tessdb_core.contracts import StoreError
from tessdb_sqlite import SqliteStore, tessdb_store
from tessdb_star.tables import OUR_TABLES

LEGACY_EXTRAS = {
    "location_t": [("contact_name", "TEXT", 0, None), ("contact_email", "TEXT", 0, None),
                   ("organization", "TEXT", 0, None)],
    "tess_t": [("cover_offset", "REAL", 1, "0.0"), ("fov", "REAL", 1, "17.0"),
               ("azimuth", "REAL", 1, "0.0"), ("altitude", "REAL", 1, "90.0")],
}


def table_info(conn: sqlite3.Connection, table: str) -> list[tuple]:
    """(name, type, notnull, pk) per column, in order."""
    return [(r[1], r[2], r[3], r[5]) for r in conn.execute(f"PRAGMA table_info({table})")]


def indexes(conn: sqlite3.Connection, table: str) -> set[tuple]:
    """(name or origin, unique, columns) of every index of a table."""
    out = set()
    for _, name, unique, origin, _ in conn.execute(f"PRAGMA index_list({table})"):
        cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info('{name}')"))
        out.add((name if origin == "c" else origin, unique, cols))
    return out


def objects(conn: sqlite3.Connection, kind: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%'", (kind,))}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fresh(db_path: Path) -> Path:
    report = SqliteStore(str(db_path)).initialise()
    assert "initialised" in report and "already" not in report
    return db_path


def test_same_tables_columns_indexes_and_view_as_5x_reference(fresh: Path, ref_5x: Path) -> None:
    ours, ref = sqlite3.connect(fresh), sqlite3.connect(ref_5x)
    # one table more than 5.x, on purpose: config_t, which the 4.x server needs to reopen the
    # file (issue 15, the way back); no tool of ours, of 5.x or tess-ida reads it
    assert objects(ref, "table") == set(OUR_TABLES)
    assert objects(ours, "table") == set(OUR_TABLES) | {"config_t"}
    assert objects(ours, "index") == objects(ref, "index")
    assert objects(ours, "view") == objects(ref, "view") == {"tess_v"}
    for table in OUR_TABLES:
        mine, theirs = table_info(ours, table), table_info(ref, table)
        assert mine[: len(theirs)] == theirs, table  # 5.x columns first, same names/types/order
        extras = [(r[1], r[2], r[3], r[4]) for r in ours.execute(f"PRAGMA table_info({table})")][len(theirs):]
        assert extras == LEGACY_EXTRAS.get(table, []), table
        assert indexes(ours, table) == indexes(ref, table), table
    assert table_info(ours, "tess_v") == table_info(ref, "tess_v")
    assert [r[1] for r in ours.execute("PRAGMA table_info(tess_v)")][32] == "name:1"


def test_config_t_is_the_4x_one_with_the_rows_the_4x_server_reads(fresh: Path, ref_v04: Path, db_path: Path) -> None:
    """The one table added to the 5.x schema: config_t exactly as the 4.x schema declares it,
    with ('database', 'version') = '04' (so 4.x runs no update script) and a database uuid
    (so 4.x writes none at its first start)."""
    ours, ref = sqlite3.connect(fresh), sqlite3.connect(ref_v04)
    assert table_info(ours, "config_t") == table_info(ref, "config_t") == [
        ("section", "TEXT", 1, 1), ("property", "TEXT", 1, 2), ("value", "TEXT", 1, 0)]
    rows = dict(((s, p), v) for s, p, v in ours.execute("SELECT section, property, value FROM config_t"))
    assert set(rows) == {("database", "version"), ("database", "uuid"), ("database", "created_by")}
    assert rows["database", "version"] == "04"
    assert str(uuid.UUID(rows["database", "uuid"])) == rows["database", "uuid"]
    assert rows["database", "created_by"].startswith("tessdb-core ")
    # 4.x's own queries (tessdb/dbase/dbutils.py) find what they look for
    assert ours.execute("SELECT value from config_t WHERE section ='database' AND property = 'version'"
                        ).fetchone() == ("04",)
    # every database gets its own uuid
    other = db_path.parent / "other.db"
    SqliteStore(str(other)).initialise()
    assert sqlite3.connect(other).execute("SELECT value FROM config_t WHERE property = 'uuid'").fetchone()[0] != \
        rows["database", "uuid"]


def test_our_database_is_told_from_a_4x_one_by_its_columns_not_by_config_t(fresh: Path) -> None:
    assert "(tessdb-core schema)" in SqliteStore(str(fresh)).initialise()
    store = SqliteStore(str(fresh))
    store.open()  # and the store uses it as its own: the full layout, no legacy projection
    try:
        assert store._layout.mapping.project is None and store._layout.version.project is None
    finally:
        store.close()


def test_not_null_columns_have_the_agreed_defaults(fresh: Path) -> None:
    conn = sqlite3.connect(fresh)
    dflt = {r[1]: r[4] for r in conn.execute("PRAGMA table_info(tess_t)")}
    assert dflt["model"] == "'TESS-W'" and dflt["firmware"] == "'Unknown'" and dflt["registered"] == "'Unknown'"
    assert dflt["authorised"] == "0" and dflt["nchannels"] == "1" and dflt["filter1"] == "'UV/IR-740'"
    assert dflt["location_id"] == dflt["observer_id"] == "-1"
    assert all(dflt[f"offset{i}"] == "0.0" for i in range(1, 5))
    for table in ("tess_readings_t", "tess_readings4c_t"):
        d = {r[1]: r[4] for r in conn.execute(f"PRAGMA table_info({table})")}
        assert d["location_id"] == d["observer_id"] == "-1"
    # a hand-written insert naming only the essentials works and gets the legacy defaults
    conn.execute("INSERT INTO tess_t (mac_address, valid_since, valid_until, valid_state, zp1) "
                 "VALUES ('AA:BB:CC:DD:EE:FF', '2024-01-01 00:00:00.000000', '2999-12-31 23:59:59.000000', 'Current', 20.5)")
    row = conn.execute("SELECT model, nchannels, filter1, fov, altitude, location_id FROM tess_t").fetchone()
    assert row == ("TESS-W", 1, "UV/IR-740", 17.0, 90.0, -1)


def test_preload_rows(fresh: Path, counter) -> None:
    assert counter(fresh, "date_t") == 18628
    assert counter(fresh, "time_t") == 86400
    conn = sqlite3.connect(fresh)
    assert conn.execute("SELECT min(date_id), max(date_id) FROM date_t").fetchone() == (20000101, 20501231)
    assert conn.execute("SELECT * FROM date_t WHERE date_id = 20000101").fetchone() == (
        20000101, "2000-01-01", "01/01/2000", 1, 1, 2451544.5, "Saturday", "Sat", 6, 1, "January", "Jan", 2000)
    # 2024-12-31: leap year day 366, a Tuesday; 2023-09-03 a Sunday (weekday_num 0)
    assert conn.execute("SELECT day_year, weekday, weekday_num, julian_day FROM date_t WHERE date_id = 20241231"
                        ).fetchone() == (366, "Tuesday", 2, 2460675.5)
    assert conn.execute("SELECT weekday, weekday_abbr, weekday_num, month, month_abbr FROM date_t "
                        "WHERE date_id = 20230903").fetchone() == ("Sunday", "Sun", 0, "September", "Sep")
    assert conn.execute("SELECT count(*) FROM date_t WHERE julian_day - CAST(julian_day AS INTEGER) != 0.5").fetchone()[0] == 0
    assert conn.execute("SELECT * FROM time_t WHERE time_id = 507").fetchone() == (507, "00:05:07", 0, 5, 7, 307 / 86400)
    assert conn.execute("SELECT time, day_fraction FROM time_t WHERE time_id = 120000").fetchone() == ("12:00:00", 0.5)
    assert conn.execute("SELECT max(time_id) FROM time_t").fetchone() == (235959,)
    assert conn.execute("SELECT * FROM tess_units_t ORDER BY units_id").fetchall() == [
        (0, "Subscriber", "Direct"), (1, "Publisher", "Direct"), (2, "Subscriber", "Imported"), (3, "Publisher", "Imported")]
    assert conn.execute("SELECT location_id, longitude, latitude, elevation, place, town, sub_region, region, country, "
                        "timezone FROM location_t").fetchall() == [
        (-1, None, None, None, "Unknown", "Unknown", "Unknown", "Unknown", "Unknown", "Etc/UTC")]
    assert conn.execute("SELECT observer_id, type, name, valid_since, valid_until, valid_state FROM observer_t").fetchall() == [
        (-1, "Organization", "Unknown", "2000-01-01 00:00:00.000000", "2999-12-31 23:59:59.000000", "Current")]


def test_wal_mode(fresh: Path) -> None:
    assert sqlite3.connect(fresh).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_second_initialise_changes_nothing(fresh: Path, dump, counter) -> None:
    before = (sha(fresh), fresh.stat().st_mtime_ns, dump(fresh), counter(fresh, "date_t"), counter(fresh, "time_t"))
    report = SqliteStore(str(fresh)).initialise()
    assert "already initialised" in report and str(fresh) in report
    after = (sha(fresh), fresh.stat().st_mtime_ns, dump(fresh), counter(fresh, "date_t"), counter(fresh, "time_t"))
    assert after == before


def test_initialise_accepts_sqlite_url_and_creates_parent_dirs(tmp_path: Path, counter) -> None:
    path = tmp_path / "a" / "b" / "tess.db"
    SqliteStore(f"sqlite:///{path}").initialise()
    assert counter(path, "tess_units_t") == 4


def test_initialise_an_empty_file(tmp_path: Path, counter) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    assert "already" not in SqliteStore(str(path)).initialise()
    assert counter(path, "time_t") == 86400


def test_refuses_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n")
    with pytest.raises(StoreError, match="not a SQLite database") as err:
        SqliteStore(str(path)).initialise()
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert path.read_text() == "these are my notes, not a database\n"


def test_refuses_a_database_with_foreign_tables(tmp_path: Path, dump) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
    conn.commit()
    conn.close()
    before = (sha(path), dump(path))
    with pytest.raises(StoreError, match="foreign tables: invoices") as err:
        SqliteStore(str(path)).initialise()
    assert str(path) in str(err.value)
    assert (sha(path), dump(path)) == before


def test_refuses_a_database_with_part_of_our_tables(tmp_path: Path) -> None:
    path = tmp_path / "half.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE tess_t (tess_id INTEGER PRIMARY KEY, mac_address TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="only part of the tessdb schema"):
        SqliteStore(str(path)).initialise()
    assert sqlite3.connect(path).execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 1


@pytest.mark.parametrize("which", ["ref_5x", "ref_v04"])
def test_reference_databases_count_as_initialised(which: str, request, dump) -> None:
    path = request.getfixturevalue(which)
    before = (sha(path), dump(path))
    report = SqliteStore(str(path)).initialise()
    assert "already initialised" in report
    assert ("4.x legacy schema" if which == "ref_v04" else "5.x schema") in report
    assert (sha(path), dump(path)) == before
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_hook_speaks_sqlite_only(tmp_path: Path) -> None:
    assert isinstance(tessdb_store(str(tmp_path / "x.db"), None), SqliteStore)
    s = tessdb_store("sqlite:////var/dbase/tess.db", None)
    assert isinstance(s, SqliteStore) and s.path == Path("/var/dbase/tess.db")
    assert tessdb_store("sqlite:///rel/tess.db", None).path == Path("rel/tess.db")
    assert tessdb_store("postgresql://user@host/tess", None) is None
    assert tessdb_store("mysql://host/db", None) is None


def test_open_refuses_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="run `tessdb-core init`"):
        SqliteStore(str(tmp_path / "nothing.db")).open()
    assert not (tmp_path / "nothing.db").exists()
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="missing table\\(s\\) tess_t, name_to_mac_t, tess_readings_t"):
        SqliteStore(str(path)).open()
