"""The way back (issue 15): the real tessdb-server 4.0.9 and 5.1.0 reopen a database that
tessdb-core made and filled, write into it, and tessdb-core then reopens it and goes on.

Each test runs the three programs as an operator would, on one test broker and one file:
``tessdb-core init`` + ``run`` (registrations, readings), stop; the old server (installed
from the package registry into a cached virtual environment, see ``old_servers``) receives a
registration with a zero point change, a new photometer and readings; stop; ``tessdb-core
run`` again, more readings.  Checked: the rows each program wrote, under the right instrument
versions, one Current row per MAC, and the schema never changed.

Slow the first time on a machine (pip install), so marked ``compat`` as well as ``live``:
``-m "not compat"`` leaves them out of a fast local run; CI runs them.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from broker import Broker
from live_service import BASE, NO_DAYLIGHT, Publisher, Service
from polling import wait_for

from .old_servers import OldServer

pytestmark = [pytest.mark.compat, pytest.mark.live]

MAC1, MAC2, MAC3 = "AA:BB:CC:00:00:01", "AA:BB:CC:00:00:02", "AA:BB:CC:00:00:03"


def iso(minutes: float) -> str:
    return (BASE + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S")


def reg(name: str, mac: str, calib: float, minutes: float, firmware: str | None = None) -> tuple[str, str]:
    """A TESS-W registration (4.x wants ``rev`` and a float ``calib``, and refuses any ``firmware``
    through a bug of its validation; 5.x cannot insert a new photometer without one)."""
    payload = {"name": name, "mac": mac, "calib": calib, "rev": 2, "tstamp": iso(minutes)}
    if firmware:
        payload["firmware"] = firmware
    return "STARS4ALL/register", json.dumps(payload)


def rd(name: str, seq: int, minutes: float, mag: float = 20.0) -> tuple[str, str]:
    """A TESS-W reading with every field 4.x requires (``rev``, floats)."""
    return f"STARS4ALL/{name}/reading", json.dumps({"name": name, "seq": seq, "freq": 10.0, "mag": mag, "tamb": 5.0,
                                                    "tsky": -3.0, "wdBm": -60, "rev": 2, "tstamp": iso(minutes)})


def rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
        return conn.execute(sql, params).fetchall()


def count(db: Path, table: str = "tess_readings_t") -> int:
    return rows(db, f"SELECT count(*) FROM {table}")[0][0]


def schema(db: Path) -> list[tuple]:
    return rows(db, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")


def versions(db: Path, mac: str) -> list[tuple]:
    """(tess_id, zp1, valid_since, valid_until, valid_state) of one MAC, oldest first."""
    return rows(db, "SELECT tess_id, zp1, valid_since, valid_until, valid_state FROM tess_t "
                    "WHERE mac_address = ? ORDER BY tess_id", (mac,))


def readings_of(db: Path, name: str) -> dict[int, int]:
    """sequence number -> tess_id of the readings of ``name`` (by its Current mapping's MAC)."""
    return dict(rows(db, "SELECT r.sequence_number, r.tess_id FROM tess_readings_t AS r JOIN tess_t USING (tess_id) "
                         "JOIN name_to_mac_t AS m USING (mac_address) "
                         "WHERE m.name = ? AND m.valid_state = 'Current'", (name,)))


def one_current_per_mac(db: Path) -> None:
    for table in ("tess_t", "name_to_mac_t"):
        doubled = rows(db, f"SELECT mac_address, count(*) FROM {table} WHERE valid_state = 'Current' "
                           "GROUP BY mac_address HAVING count(*) != 1")
        assert doubled == [], f"{table}: MACs with more than one Current row: {doubled}"


def wait_rows(db: Path, n: int, who: str, log: Callable[[], str]) -> None:
    try:
        wait_for(lambda: count(db) >= n, 60, f"{n} readings stored by {who}")
    except AssertionError as exc:
        raise AssertionError(f"{exc} (found {count(db)}); its log ends with:\n{log()[-3000:]}") from None
    assert count(db) == n


@pytest.fixture
def broker(tmp_path):
    """A mosquitto that logs every packet: the old servers' subscriptions are seen in its log."""
    b = Broker(tmp_path / "broker", log_all=True).start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def svc(tmp_path, broker):
    s = Service(tmp_path / "core", broker, NO_DAYLIGHT)
    s.cwd.mkdir()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def publisher(broker):
    p = Publisher(broker.port, client_id="compat-photometers")
    try:
        yield p
    finally:
        p.close()


def core_first_night(svc: Service, publisher: Publisher, db: Path) -> list[tuple]:
    """tessdb-core makes and fills the database: stars1 and stars2 registered, 3 readings each."""
    svc.start()  # `tessdb-core init` first
    publisher.publish([reg("stars1", MAC1, 20.5, 0), reg("stars2", MAC2, 20.5, 0)]
                      + [rd(name, seq, seq) for seq in (1, 2, 3) for name in ("stars1", "stars2")])
    wait_rows(db, 6, "tessdb-core", svc.log)
    assert svc.stop() == 0
    assert rows(db, "SELECT value FROM config_t WHERE section = 'database' AND property = 'version'") == [("04",)]
    return schema(db)


def old_server_night(server: OldServer, publisher: Publisher, db: Path) -> None:
    """The old server on tessdb-core's file: stars1 changes its zero point, stars3 is new,
    readings of both; then it is stopped."""
    firmware = "1.2" if server.major >= 5 else None
    server.start()
    try:
        publisher.publish([reg("stars1", MAC1, 20.8, 30, firmware), reg("stars3", MAC3, 20.3, 30, firmware)]
                          + [rd(name, seq, 20 + seq) for seq in (11, 12, 13) for name in ("stars1", "stars3")])
        wait_rows(db, 12, f"tessdb-server {server.version}", server.log)
        wait_for(lambda: len(versions(db, MAC1)) == 2, 30, f"tessdb-server {server.version} to version the ZP change")
    finally:
        server.stop()


def check_old_server_rows(db: Path, before: list[tuple]) -> dict[str, int]:
    """What the old server wrote: the ZP change versioned at its timestamp, the new photometer,
    its readings under the right versions; no schema change.  Returns the Current tess_ids."""
    assert schema(db) == before, "the old server changed the schema"
    old, new = versions(db, MAC1)
    assert (old[1], old[4], new[1], new[4]) == (20.5, "Expired", 20.8, "Current")
    assert old[3].startswith("2026-11-30 00:30:00") and new[2].startswith("2026-11-30 00:30:00")
    (v3,) = versions(db, MAC3)
    assert (v3[1], v3[4]) == (20.3, "Current")
    assert rows(db, "SELECT name, valid_state FROM name_to_mac_t WHERE mac_address = ?", (MAC3,)) == [
        ("stars3", "Current")]
    r1 = readings_of(db, "stars1")
    assert {seq: r1[seq] for seq in (1, 2, 3)} == dict.fromkeys((1, 2, 3), old[0])
    assert {seq: r1[seq] for seq in (11, 12, 13)} == dict.fromkeys((11, 12, 13), new[0])
    assert set(readings_of(db, "stars3").values()) == {v3[0]}
    one_current_per_mac(db)
    return {"stars1": new[0], "stars2": versions(db, MAC2)[0][0], "stars3": v3[0]}


def core_goes_on(svc: Service, publisher: Publisher, db: Path, current: dict[str, int], stored: int) -> None:
    """tessdb-core reopens the file and stores more readings under the Current versions, some
    of them the old server's (its timestamps are read); no version is added or changed."""
    catalogue = rows(db, "SELECT * FROM tess_t ORDER BY tess_id"), rows(db, "SELECT * FROM name_to_mac_t")
    svc.start()
    publisher.publish([rd(name, seq, 40 + seq) for seq in (21, 22) for name in ("stars1", "stars2", "stars3")])
    wait_rows(db, stored + 6, "tessdb-core (again)", svc.log)
    assert (rows(db, "SELECT * FROM tess_t ORDER BY tess_id"), rows(db, "SELECT * FROM name_to_mac_t")) == catalogue
    for name, tess_id in current.items():
        r = readings_of(db, name)
        assert (r[21], r[22]) == (tess_id, tess_id), name
    one_current_per_mac(db)
    assert "already initialised (tessdb-core schema)" in svc.cli("init").stdout


def test_4_0_9_reopens_a_tessdb_core_database_and_tessdb_core_goes_on(tmp_path, broker, svc, publisher):
    db = svc.cwd / "tess.db"
    before = core_first_night(svc, publisher, db)
    uuid_before = rows(db, "SELECT value FROM config_t WHERE property = 'uuid'")

    server = OldServer("4.0.9", tmp_path / "old", broker, db, client_id="tessdb-server-4")
    old_server_night(server, publisher, db)
    assert "data model version = 04" in server.log()
    assert "already exists" not in server.log() + server.stderr()
    assert rows(db, "SELECT value FROM config_t WHERE property = 'uuid'") == uuid_before  # 4.x wrote none
    current = check_old_server_rows(db, before)
    # 4.x's own timestamp format, which tessdb-core must read on its return
    assert versions(db, MAC1)[1][2] == "2026-11-30 00:30:00+00:00"

    # back to tessdb-core, without forgetting its session: the broker replays what the old
    # server received meanwhile (registrations as reboots, readings as duplicates): harmless
    core_goes_on(svc, publisher, db, current, stored=12)
    assert "session present: True" in svc.log()
    assert schema(db) == before


def test_5_1_0_reopens_a_tessdb_core_database_after_forget_session(tmp_path, broker, svc, publisher):
    db = svc.cwd / "tess.db"
    before = core_first_night(svc, publisher, db)
    # leaving tessdb-core: end its session, so that nothing is queued for it meanwhile
    assert "discarded the session" in svc.cli("mqtt", "forget-session", "--yes").stdout

    server = OldServer("5.1.0", tmp_path / "old", broker, db, client_id="tessdb-server-5")
    old_server_night(server, publisher, db)
    current = check_old_server_rows(db, before)

    core_goes_on(svc, publisher, db, current, stored=12)
    # a new session: nothing of the old server's night was replayed
    assert svc.log().count("session present: False") == 2
    assert json.loads(svc.cli("stats", "--json").stdout)["mqtt"]["num_published"] == 6
    assert schema(db) == before
