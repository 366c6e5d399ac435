"""Backup tests: `tessdb-core backup` on real SQLite files (and PostgreSQL, and the live service)."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from faults import ext4_image  # noqa: F401  (fixture: small loop-mounted file systems)
from postgres.conftest import pg_db, pg_server, pg_template  # noqa: F401  (fixtures: PostgreSQL)
from report_data import night_mag, rd, rd4c, reg, reg4c
from tessdb_core.cli import main
from tessdb_core.localfile import LocalFile

MAC1, MAC2 = "AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def error(self) -> str:
        """The one error line (exit 2)."""
        assert self.code == 2, self
        lines = self.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tessdb-core: error: "), self.err
        return lines[0].removeprefix("tessdb-core: error: ")


@pytest.fixture
def tdb(capsys, monkeypatch, tmp_path):
    """``tessdb-core ARGS`` in this process, in tmp_path (the inbox file: tmp_path/tessdb-inbox.db)."""
    for key in [k for k in os.environ if k.startswith("TESSDB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TESSDB_LOGS__LEVEL", '"warning"')
    monkeypatch.chdir(tmp_path)

    def run(*args) -> Result:
        capsys.readouterr()
        code = main([str(a) for a in args])
        cap = capsys.readouterr()
        err = "".join(line for line in cap.err.splitlines(keepends=True) if "fsync = off" not in line)
        return Result(code, cap.out, err)

    return run


def feed(path: Path) -> Path:
    from datetime import datetime, timedelta

    t0 = datetime(2026, 10, 1)
    lines = [reg("stars1", MAC1, 20.5, t0), reg4c("stars2", MAC2, t0)]
    start = datetime(2026, 10, 14, 10)
    lines += [rd("stars1", i + 1, start + timedelta(minutes=10 * i), night_mag(start + timedelta(minutes=10 * i)))
              for i in range(24 * 6)]
    lines += [rd4c("stars2", i, datetime(2026, 10, 14, 22) + timedelta(minutes=i)) for i in range(1, 4)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def db(tdb, tmp_path) -> Path:
    """tess.db made by `init` and fed by `ingest`, and an inbox file with one waiting message
    and one quarantined one, both in tmp_path (the working directory)."""
    assert tdb("init").code == 0
    assert tdb("ingest", feed(tmp_path / "feed.jsonl")).code == 0
    make_inbox(tmp_path / "tessdb-inbox.db")
    return tmp_path / "tess.db"


def make_inbox(path: Path) -> None:
    local = LocalFile(path)
    conn = local.conn()
    conn.execute("INSERT INTO inbox_t (topic, payload, received, retain) VALUES "
                 "('STARS4ALL/stars1/reading', x'7b7d', '2026-10-14T22:00:00Z', 0)")
    conn.execute("INSERT INTO quarantine_t (at, reason, stage, plugin, detail, topic, payload, received, retain, "
                 "imported) VALUES ('2026-10-14T22:00:00Z', 'bad_json', 'decode', 'tess', 'x', 't', x'00', "
                 "'2026-10-14T22:00:00Z', 0, 0)")
    conn.commit()
    local.close()


def rows_of(path: Path, copy: bool = True) -> dict[str, int]:
    """table -> rows; a copy is read without changing anything (immutable: no -wal / -shm made)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) if copy else sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%'")]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def integrity(path: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        return [r[0] for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()
