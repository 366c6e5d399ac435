"""Fixtures for the report tools: real SQLite files made by ``initialise`` (= ``tessdb-core init``)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tessdb_core import ReportQueries
from tessdb_core import app as app_mod
from tessdb_core.cli import main
from tessdb_sqlite import SqliteStore

from report_data import IDA_DIR, MADRID, envelope, iso, night_mag, rd, rd4c, reg, reg4c  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def tdb(capsys, monkeypatch):
    """Run ``tessdb-core ARGS`` in this process; returns code, stdout and stderr."""
    for key in [k for k in __import__("os").environ if k.startswith("TESSDB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TESSDB_LOGS__LEVEL", '"warning"')

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return run


def make_db(path: Path) -> Path:
    SqliteStore(str(path)).initialise()
    return path


@pytest.fixture
def ida_db(tmp_path) -> Path:
    """A database made by init, with idafix-data.sql applied."""
    path = make_db(tmp_path / "ida.db")
    conn = sqlite3.connect(path)
    conn.executescript((IDA_DIR / "idafix-data.sql").read_text())
    conn.close()
    return path


@pytest.fixture
def queries_of():
    """``queries_of(db_path)``: the "reports" query object, through the app like the commands."""
    stores = []

    def get(path: Path):
        app = app_mod.create(configure_logs=False)
        store = app.store(str(path))
        store.open()
        stores.append(store)
        return app.queries(ReportQueries, store)

    yield get
    for s in stores:
        s.close()


# -- JSON Lines captures for `tessdb-core ingest` ---------------------------------------------------------
@pytest.fixture
def ingested_db(tmp_path, tdb) -> Path:
    """stars10 (TESS-W, at Madrid, ZP change at 2026-10-15 01:00 UTC) and stars20 (TESS4C),
    registered and fed by `tessdb-core ingest` (readings every 10 min for two nights, a
    reading at 2026-11-01 00:00:00)."""
    db = tmp_path / "tess.db"
    assert tdb("init", "--db", db).code == 0
    t0 = datetime(2026, 10, 1)
    regs = tmp_path / "regs.jsonl"
    regs.write_text("\n".join([reg("stars10", "AA:BB:CC:DD:EE:10", 20.5, t0),
                               reg4c("stars20", "AA:BB:CC:DD:EE:20", t0)]) + "\n")
    assert tdb("ingest", regs, "--db", db).code == 0
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO location_t (location_id, longitude, latitude, elevation, place, town, sub_region, "
                 "region, country, timezone, contact_name, contact_email, organization) "
                 "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", MADRID)
    conn.execute("UPDATE tess_t SET location_id = 1")
    conn.commit()
    conn.close()
    lines, seq = [], 0
    for start in (datetime(2026, 10, 14, 10), datetime(2026, 10, 20, 10)):
        for i in range(24 * 6 + 1):
            t = start + timedelta(minutes=10 * i)
            seq += 1
            lines.append(rd("stars10", seq, t, night_mag(t)))
    lines.append(reg("stars10", "AA:BB:CC:DD:EE:10", 20.61, datetime(2026, 10, 15, 1, 0, 0)))
    lines.append(rd("stars10", seq + 1, datetime(2026, 11, 1), 19.5))
    lines += [rd4c("stars20", i, datetime(2026, 10, 20, 22) + timedelta(minutes=i)) for i in range(1, 4)]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n")
    r = tdb("ingest", feed, "--db", db)
    assert r.code == 0, r.err
    return db
