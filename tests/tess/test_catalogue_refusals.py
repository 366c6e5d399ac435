"""A refusal that depends on the catalogue is decided again when the catalogue changed elsewhere.

The service's periodic look at the store is throttled to once a second; before, a reading that
arrived within that second after an ``instrument enable`` (or an operator's SQL, or another
collector's registration) met the old catalogue and was quarantined ``not_authorised``.  Now the
pipeline asks the store (SQLite's ``data_version``: no table read) before such a refusal stands.
Real TESS stages, a real SQLite file, a second connection as the other program."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime

import pytest

import tessdb_sqlite
from tessdb_core.events import Message, Reason
from tessdb_core.pipeline import Pipeline
from tessdb_core.plugins import build
from tessdb_core.quarantine import Quarantine
from tessdb_core.settings import Settings
from tessdb_core.stages import Stages
from tessdb_tess import stage_decode, stage_filters, stage_rules

T0 = datetime(2026, 11, 30, 1, 0, 0)
MAC = "AA:BB:CC:00:00:01"


def _message(topic: str, payload: dict, received: datetime = T0) -> Message:
    return Message(topic, json.dumps(payload).encode(), received)


def _reading(seq: int, name: str = "stars1", **extra) -> Message:
    return _message(f"STARS4ALL/{name}/reading",
                    {"name": name, "seq": seq, "freq": 10.0, "mag": 20.0, "tamb": 5.0, "tsky": -3.0, "wdBm": -60,
                     "tstamp": f"2026-11-30T01:{seq // 60:02d}:{seq % 60:02d}Z", **extra})


@pytest.fixture
def world(tmp_path):
    url = str(tmp_path / "tess.db")
    settings = Settings.from_dict({"dbase": {"url": url, "buffer_size": 1, "auth_filter": True},
                                   "filter": {"enable": {"daylight": False}}})
    pm = build(settings, extra=[("tess_decode", stage_decode), ("tess_rules", stage_rules),
                                ("tess_filters", stage_filters), ("sqlite", tessdb_sqlite)], entrypoints=False)
    stages = Stages(pm)
    store = stages.store(url, settings)
    store.initialise()
    store.open()
    quarantine = Quarantine(tmp_path / "inbox.db")
    pipeline = Pipeline(stages, settings, store, quarantine)
    pipeline.process(_message("STARS4ALL/register", {"name": "stars1", "mac": MAC, "calib": 20.5,
                                                     "tstamp": "2026-11-30T00:00:00Z"}))
    pipeline.write()
    other = sqlite3.connect(url, isolation_level=None)  # the operator's SQL, a maintenance command
    yield pipeline, other, quarantine
    other.close()
    quarantine.close()
    store.close()


def _authorise(other: sqlite3.Connection, yes: bool) -> None:
    other.execute("UPDATE tess_t SET authorised = ? WHERE mac_address = ?", (int(yes), MAC))


def _stored(other: sqlite3.Connection) -> list[int]:
    return [r[0] for r in other.execute("SELECT sequence_number FROM tess_readings_t ORDER BY 1")]


def test_a_reading_just_after_an_enable_elsewhere_is_stored(world):
    pipeline, other, quarantine = world
    _authorise(other, False)
    pipeline.reload_catalog()
    pipeline.process(_reading(1))  # control: refused on a catalogue that says "not authorised"
    assert [e.reason for e in quarantine.entries()] == [Reason.NOT_AUTHORISED]
    _authorise(other, True)  # enabled elsewhere ...
    pipeline._stale_checked = time.monotonic()  # ... just after the service's periodic look
    pipeline.process(_reading(2))
    pipeline.write()
    assert _stored(other) == [2]
    assert [e.reason for e in quarantine.entries()] == [Reason.NOT_AUTHORISED]  # nothing new


def test_a_reading_of_a_photometer_registered_elsewhere_a_moment_ago_is_stored(world):
    pipeline, other, quarantine = world
    # another collector registers stars2 (the same rows a registration writes, by hand here)
    tess_id = other.execute("SELECT MAX(tess_id) + 1 FROM tess_t").fetchone()[0]
    row = dict(zip([c[1] for c in other.execute("PRAGMA table_info(tess_t)")],
                   other.execute("SELECT * FROM tess_t WHERE mac_address = ?", (MAC,)).fetchone()))
    row.update(tess_id=tess_id, mac_address="AA:BB:CC:00:00:02", authorised=1)
    other.execute(f"INSERT INTO tess_t ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    mapping = dict(zip([c[1] for c in other.execute("PRAGMA table_info(name_to_mac_t)")],
                       other.execute("SELECT * FROM name_to_mac_t WHERE mac_address = ?", (MAC,)).fetchone()))
    mapping.update(name="stars2", mac_address="AA:BB:CC:00:00:02")
    mapping.pop("rowid", None)
    mapping.pop("id", None)
    other.execute(f"INSERT INTO name_to_mac_t ({', '.join(mapping)}) VALUES ({', '.join('?' * len(mapping))})",
                  list(mapping.values()))
    pipeline._stale_checked = time.monotonic()
    pipeline.process(_reading(3, name="stars2"))
    pipeline.write()
    assert _stored(other) == [3] and list(quarantine.entries()) == []


def test_without_a_change_elsewhere_the_refusal_stands_and_the_catalogue_is_not_read_again(world):
    pipeline, other, quarantine = world
    _authorise(other, False)
    pipeline.reload_catalog()
    loads = []
    real = pipeline.store.load_catalog
    pipeline.store.load_catalog = lambda: loads.append(1) or real()
    for seq in range(1, 6):
        pipeline.process(_reading(seq))
        pipeline.process(_reading(seq, name="stars999"))  # unknown: the same look, the same answer
    assert [e.reason for e in quarantine.entries()].count(Reason.NOT_AUTHORISED) == 5
    assert [e.reason for e in quarantine.entries()].count(Reason.UNKNOWN_PHOTOMETER) == 5
    assert loads == [] and _stored(other) == []


def test_a_store_that_cannot_answer_is_asked_once_a_second_at_most(world):
    from tessdb_core.contracts import StoreUnavailable

    pipeline, other, quarantine = world
    asked = []

    def unreachable():
        asked.append(1)
        raise StoreUnavailable("server unreachable")

    pipeline.store.changed_elsewhere = unreachable
    for seq in range(1, 21):  # a flood of readings of an unknown photometer while the store is away
        pipeline.process(_reading(seq, name="stars999"))
    assert len(asked) == 1  # one wait for the store, not one per reading
    assert [e.reason for e in quarantine.entries()] == [Reason.UNKNOWN_PHOTOMETER] * 20
    pipeline._check_failed -= 1.0  # a second later: asked again
    pipeline.process(_reading(21, name="stars999"))
    assert len(asked) == 2
