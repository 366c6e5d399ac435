"""A backup taken while the live service ingests a burst: no pause, a sound copy, only the
oldest of its own files deleted.  `tessdb-core run` against a real mosquitto (tests/live)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from live_service import NO_DAYLIGHT, Publisher, Service, fleet, registrations, wait_for

from .conftest import integrity, rows_of

pytestmark = pytest.mark.live

PHOTOMETERS, PER_PHOTOMETER, RATE = 20, 600, 1000  # 12,000 readings in about 12 s


def readings_in(path: Path) -> int:
    return rows_of(path)["tess_readings_t"]


def test_backups_during_a_live_burst(tmp_path, broker):
    svc = Service(tmp_path / "svc", broker, dict(NO_DAYLIGHT))
    svc.cwd.mkdir()
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a backup")
    (folder / "tess-20200101T000000Z.db").write_text("an old backup")  # the command's own name: the oldest
    total = PHOTOMETERS * PER_PHOTOMETER
    publisher = None
    try:
        svc.start()
        publisher = Publisher(broker.port)
        publisher.publish(registrations(PHOTOMETERS))
        wait_for(lambda: svc.count("tess_t") == PHOTOMETERS, 30, "the photometers to register")
        burst = threading.Thread(target=publisher.publish, args=(fleet(PHOTOMETERS, PER_PHOTOMETER),),
                                 kwargs={"rate": RATE}, daemon=True)
        burst.start()
        wait_for(lambda: svc.count() >= 1000, 60, "the burst to be stored")
        taken = []
        for _ in range(3):
            before = svc.count()
            out = svc.cli("backup", "--to", str(folder), "--keep", "2", "--json")
            after = svc.count()
            taken.append({"before": before, "after": after, "during_burst": burst.is_alive(),
                          "result": json.loads(out.stdout)})
        assert all(t["during_burst"] for t in taken), "the burst ended before the backups: make it longer"
        burst.join(120)
        wait_for(lambda: svc.count() == total, 120, "every reading of the burst to be stored")
    finally:
        if publisher is not None:
            publisher.close()
        svc.stop()

    for t in taken:
        r = t["result"]
        copy, inbox_copy = Path(r["database"]["path"]), r["inbox"] and Path(r["inbox"]["path"])
        # the service went on storing while the backup ran: it was not paused
        assert t["after"] > t["before"], t
        # the copies of the last two backups are still there: sound, and holding at least what was
        # stored before the backup began (and no more than what was stored when it ended)
        if copy.exists():
            assert integrity(copy) == ["ok"]
            assert t["before"] <= readings_in(copy) <= t["after"], t
            assert readings_in(copy) == r["database"]["rows"]["tess_readings_t"]
            assert inbox_copy and integrity(inbox_copy) == ["ok"]
    # --keep 2: the oldest of its own files went (the 2020 one, then the first backup), nothing else
    first, second, third = (t["result"] for t in taken)
    assert first["deleted"] == []  # two backups: the 2020 one and this one
    assert [Path(p).name for p in second["deleted"]] == ["tess-20200101T000000Z.db"]
    assert sorted(third["deleted"]) == sorted([first["database"]["path"], first["inbox"]["path"]])
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(["notes.txt"] + [Path(r["database"]["path"]).name for r in (second, third)]
                          + [Path(r["inbox"]["path"]).name for r in (second, third)])
    assert "pause" not in svc.log().lower()
