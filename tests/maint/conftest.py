"""Maintenance command tests: the real `tessdb-core` on a database built by `init` + `ingest`.

The base database is built once per session, with times relative to the clock (so that
`instrument silent` has something to find), and copied for every test.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from cli_runner import Cli, envelope, write_jsonl

#: tables a maintenance command may change; compared before and after a refused command
DUMPED = ("tess_t", "name_to_mac_t", "location_t", "observer_t")

NOW = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
REGISTERED = NOW - timedelta(days=10)

MAC10, MAC20, MAC30 = "AA:BB:CC:DD:EE:10", "AA:BB:CC:DD:EE:20", "AA:BB:CC:DD:EE:30"


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def reg(name: str, mac: str, calib: float = 20.5, at: datetime = REGISTERED) -> str:
    return envelope("STARS4ALL/register", {"name": name, "mac": mac, "calib": calib, "rev": 2, "firmware": "1.2"},
                    received=iso(at))


def reg4c(name: str, mac: str, at: datetime = REGISTERED) -> str:
    chans = {f"F{i + 1}": {"band": b, "calib": 20.0 + i / 10} for i, b in enumerate(("UV/IR-740", "R", "G", "B"))}
    return envelope("STARS4ALL/register", {"name": name, "mac": mac, "rev": 2, "firmware": "4c", **chans},
                    received=iso(at))


def rd(name: str, seq: int, at: datetime, mag: float = 20.0) -> str:
    payload = {"name": name, "seq": seq, "freq": 10.0, "mag": mag, "tamb": 5.0, "tsky": -3.0, "wdBm": -60}
    return envelope(f"STARS4ALL/{name}/reading", payload, received=iso(at))


def rd4c(name: str, seq: int, at: datetime) -> str:
    payload = {"name": name, "seq": seq, "rev": 2, "tamb": 4.0, "tsky": -9.0, "wdBm": -70,
               **{f"F{i}": {"freq": 10.0 * i, "mag": 17.0 + i, "zp": 20.0} for i in range(1, 5)}}
    return envelope(f"STARS4ALL/{name}/reading", payload, received=iso(at))


#: stars10 (TESS-W) reads until 10 minutes ago, stars20 (TESS4C) until 3 days ago, stars30 never
READINGS10 = [NOW - timedelta(minutes=10 + i) for i in range(6)]
READINGS20 = [NOW - timedelta(days=3, minutes=i) for i in range(4)]


class MaintCli(Cli):
    """The e2e helper plus a dump of the dimension tables and a refused-command check."""

    def rows(self, sql: str, *params) -> list[dict]:
        with self.db() as conn:
            return [dict(r) for r in conn.execute(sql, params)]

    def dump(self) -> dict[str, list[tuple]]:
        conn = sqlite3.connect(self.cwd / "tess.db")
        try:
            return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in DUMPED}
        finally:
            conn.close()

    def refused(self, *args: str) -> str:
        """Run a command that must fail: one line on stderr, exit 2, nothing changed."""
        before = self.dump()
        out = self(*args, check=False)
        assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tessdb-core: error: "), out.stderr
        assert self.dump() == before
        return lines[0].removeprefix("tessdb-core: error: ")

    def json(self, *args: str):
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture(scope="session")
def base_db(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("maint-base")
    cli = Cli(work)
    cli("init")
    lines = [reg("stars10", MAC10), reg4c("stars20", MAC20), reg("stars30", MAC30, calib=20.7)]
    lines += [rd("stars10", i, t) for i, t in enumerate(reversed(READINGS10), 1)]
    lines += [rd4c("stars20", i, t) for i, t in enumerate(reversed(READINGS20), 1)]
    stats = cli.json("ingest", str(write_jsonl(work / "in.jsonl", lines)))
    assert stats["stored"] == len(READINGS10) + len(READINGS20), stats
    return work / "tess.db"


@pytest.fixture
def cli(tmp_path, base_db) -> MaintCli:
    shutil.copy(base_db, tmp_path / "tess.db")
    return MaintCli(tmp_path)


# -- PostgreSQL (tests that run on both stores): the fixtures of tests/postgres ---------------------------
from postgres.conftest import pg_db, pg_server, pg_template  # noqa: E402,F401
