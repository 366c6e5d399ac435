"""Fixtures for the tessdb_sqlite tests: real SQLite files in tmp_path."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from tessdb_core.catalog import FAR_FUTURE, NameMapping, RegistrationPlan, Version
from tessdb_core.contracts import ResolvedReading
from tessdb_core.events import Message, Reading
from tessdb_sqlite import SqliteStore

#: the reference schemas of tessdb-server, kept here so that the compatibility tests never skip
SPEC_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "reference"
REF_5X = SPEC_DIR / "reference-schema-5x.sql"
REF_V04 = SPEC_DIR / "reference-schema-legacy-v04.sql"


def reference_db(tmp_path: Path, sql_file: Path, name: str) -> Path:
    """A database made by executescript of a reference schema."""
    path = tmp_path / name
    conn = sqlite3.connect(path)
    conn.executescript(sql_file.read_text())
    conn.close()
    return path


def master_dump(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    finally:
        conn.close()


class Maker:
    """Builds catalogue objects and readings with sensible defaults."""

    msg = Message(topic="STARS4ALL/x/reading", payload=b"{}", received=datetime(2024, 1, 1))

    def version(self, mac: str = "AA:BB:CC:DD:EE:01", since: datetime = datetime(2024, 1, 1), *,
                model: str = "TESS-W", zp: tuple = (20.5,), filters: tuple | None = None,
                offsets: tuple | None = None, current: bool = True, until: datetime = FAR_FUTURE,
                authorised: bool = True, location_id: int = -1, observer_id: int = -1) -> Version:
        n = len(zp)
        return Version(mac=mac, since=since, until=until, current=current, model=model,
                       firmware="1.2 (2023-01-01)", authorised=authorised, registered="Automatic",
                       zp=zp, filters=filters or ("UV/IR-740",) * n, offsets=offsets or (0.0,) * n,
                       location_id=location_id, observer_id=observer_id)

    def mapping(self, name: str = "stars1", mac: str = "AA:BB:CC:DD:EE:01",
                since: datetime = datetime(2024, 1, 1)) -> NameMapping:
        return NameMapping(name=name, mac=mac, since=since, until=FAR_FUTURE, current=True)

    def register(self, store: SqliteStore, name: str = "stars1", mac: str = "AA:BB:CC:DD:EE:01",
                 since: datetime = datetime(2024, 1, 1), **kw) -> RegistrationPlan:
        plan = RegistrationPlan(case="created", at=since, new_mapping=self.mapping(name, mac, since),
                                new_version=self.version(mac, since, **kw))
        return store.apply_registration(plan)

    def reading(self, version: Version, tstamp: datetime, *, name: str = "stars1", seq: int = 1,
                freq: tuple = (1234.5,), mag: tuple = (20.25,), units_id: int = 1, **kw) -> ResolvedReading:
        fields = dict(name=name, tstamp=tstamp, tstamp_source="Publisher", seq=seq, freq=freq, mag=mag,
                      tamb=12.5, tsky=-3.0, message=self.msg, wdbm=-60)
        fields.update(kw)
        return ResolvedReading(reading=Reading(**fields), version=version, units_id=units_id)


@pytest.fixture
def make() -> Maker:
    return Maker()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "dbase" / "tess.db"


@pytest.fixture
def store(db_path: Path):
    """An initialised and open store on a fresh file."""
    s = SqliteStore(str(db_path))
    s.initialise()
    s.open()
    yield s
    s.close()


def count(path: Path, table: str, where: str = "1", params: tuple = ()) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def counter():
    return count


@pytest.fixture
def ref_5x(tmp_path: Path) -> Path:
    """A database built from reference-schema-5x.sql (what the 5.x tools create)."""
    return reference_db(tmp_path, REF_5X, "ref5x.db")


@pytest.fixture
def ref_v04(tmp_path: Path) -> Path:
    """A database built from reference-schema-legacy-v04.sql (what the 4.x server creates)."""
    return reference_db(tmp_path, REF_V04, "refv04.db")


@pytest.fixture
def dump():
    return master_dump
