"""A power cut right after the service acknowledged: nothing acknowledged may be lost.

The service's whole working directory (tess.db, the inbox tessdb-inbox.db, its log) is on a
loop-mounted ext4 image.  Once mosquitto's log shows a PUBACK from the service for every
published message, the service is killed (-9) and the image file copied at once, without
any sync: the copy is what the disk holds after a power cut at that instant (see
tests/faults.py).  Mounted again (journal replayed, WALs recovered, as at the next boot),
every acknowledged message must be in the star schema or still in the inbox.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from live_service import FaultService, Publisher, fleet, registrations, wait_for

pytestmark = pytest.mark.live

PHOTOMETERS = 20
PER_PHOTOMETER = 150  # 3,000 readings


def _dirty_expire_seconds() -> float:
    try:
        return int(Path("/proc/sys/vm/dirty_expire_centisecs").read_text()) / 100
    except (OSError, ValueError):
        return 30.0


def _stored(db: Path) -> tuple[set[str], set[tuple[str, int]], int]:
    """(registered names, (name, seq) of the stored readings, reading rows) of a tess.db."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        names = {r[0] for r in conn.execute(
            "SELECT n.name FROM name_to_mac_t n JOIN tess_t t ON t.mac_address = n.mac_address")}
        rows = conn.execute(
            "SELECT n.name, r.sequence_number FROM tess_readings_t r"
            " JOIN tess_t t ON t.tess_id = r.tess_id"
            " JOIN name_to_mac_t n ON n.mac_address = t.mac_address").fetchall()
        total = conn.execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0]
    return names, {(name, seq) for name, seq in rows}, total


def _waiting(inbox: Path) -> tuple[set[str], set[tuple[str, int]], int, int]:
    """(registrations, (name, seq) of the readings, entries, quarantined) in an inbox file."""
    if not inbox.exists():
        return set(), set(), 0, 0
    regs, reads = set(), set()
    with contextlib.closing(sqlite3.connect(inbox)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "inbox_t" not in tables:
            return set(), set(), 0, 0
        entries = conn.execute("SELECT topic, payload FROM inbox_t").fetchall()
        quarantined = conn.execute("SELECT COUNT(*) FROM quarantine_t").fetchone()[0] \
            if "quarantine_t" in tables else 0
    for topic, payload in entries:
        msg = json.loads(bytes(payload))
        if topic == "STARS4ALL/register":
            regs.add(msg["name"])
        else:
            reads.add((msg["name"], msg["seq"]))
    return regs, reads, len(entries), quarantined


def test_a_power_cut_after_the_pubacks_loses_no_acknowledged_message(ext4_image, verbose_broker, tmp_path):
    if _dirty_expire_seconds() < 10:
        pytest.skip(f"vm.dirty_expire_centisecs is {_dirty_expire_seconds() * 100:.0f}: the kernel writes dirty "
                    "pages back almost at once, so a power cut cannot be simulated by copying the image")
    disk = ext4_image(64, "power")
    work = disk.path / "svc"
    work.mkdir()
    svc = FaultService(work, verbose_broker)  # tess.db, tessdb-inbox.db and the log on the image
    try:
        svc.cli("init")
        subprocess.run(["sync"], check=True)
        svc.start()
        pub = Publisher(verbose_broker.port, "power-publisher")
        try:
            regs = registrations(PHOTOMETERS)
            readings = fleet(PHOTOMETERS, PER_PHOTOMETER)
            sent = pub.publish(regs + readings)
        finally:
            pub.close()
        assert sent == PHOTOMETERS + PHOTOMETERS * PER_PHOTOMETER
        wait_for(lambda: verbose_broker.pubacks_from(svc.client_id) >= sent, 60,
                 f"a PUBACK from {svc.client_id} for each of the {sent} messages")
        svc.kill9()  # at once: what was acknowledged must already be on the disk
        cut = disk.snapshot(tmp_path / "power-cut.img")
    finally:
        svc.stop()
    acked = verbose_broker.pubacks_from(svc.client_id)

    published_regs = {json.loads(p)["name"] for _, p in regs}
    published = {(m["name"], m["seq"]) for m in (json.loads(p) for _, p in readings)}
    with disk.mount_copy(cut) as root:
        names, stored, rows = _stored(root / "svc" / "tess.db")
        waiting_regs, waiting, entries, quarantined = _waiting(root / "svc" / "tessdb-inbox.db")
    print(f"\nafter the power cut ({acked} PUBACKs for {sent} messages): tess.db holds {len(names)} registered "
          f"names and {rows} readings ({len(stored & published)} of the published); the inbox holds {entries} "
          f"entries ({len(waiting_regs)} registrations, {len(waiting)} readings), {quarantined} quarantined")
    lost_regs = published_regs - names - waiting_regs
    lost = published - stored - waiting
    assert not lost_regs, f"{len(lost_regs)} acknowledged registrations lost: {sorted(lost_regs)[:10]}"
    assert not lost, f"{len(lost)} of {len(published)} acknowledged readings lost, e.g. {sorted(lost)[:10]}"
