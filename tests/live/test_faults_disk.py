"""A full disk under the live service: under the database, under the inbox, under both, at start.

Each disk is a small loop-mounted ext4 image (tests/faults.py) filled to ENOSPC while the
service runs; the service's log and stderr stay off the image.  What must hold: the service
stays up and says what is wrong (/health 503 naming the file, /metrics gauges), nothing is
quarantined because of the disk, nothing is acknowledged that is not on disk, and once the
space is back every reading is stored exactly once.
"""

from __future__ import annotations

import time

import pytest

from live_service import NO_DAYLIGHT, FaultService, Publisher, reading, registrations, wait_for

pytestmark = pytest.mark.live

PHOTOMETERS = 20
CONTROL = [reading(i, 0) for i in range(1, PHOTOMETERS + 1)]  # stored before the disk fills
OUTAGE = [reading(i, seq) for seq in range(1, 101) for i in range(1, PHOTOMETERS + 1)]  # 2,000 during it
TOTAL = len(CONTROL) + len(OUTAGE)


def _registered_and_stored(svc: FaultService, pub: Publisher) -> None:
    """Positive control before the fault: registrations and one reading each are stored."""
    pub.publish(registrations(PHOTOMETERS))
    wait_for(lambda: svc.count("tess_t") == PHOTOMETERS, 20, "the registrations")
    pub.publish(CONTROL)
    wait_for(lambda: svc.readings() == (len(CONTROL), len(CONTROL)), 20, "the control readings")
    wait_for(lambda: svc.inbox_depth() == 0, 10, "the inbox to be empty before the fault")


def _all_stored_once(svc: FaultService, timeout: float = 30) -> None:
    seen = []

    def done() -> bool:
        seen[:] = [svc.readings()]
        return seen[0] == (TOTAL, TOTAL)

    try:
        wait_for(done, timeout, f"all {TOTAL} readings stored once")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: (rows, distinct) = {seen[0]}, inbox depth {svc.inbox_depth()}") from None
    wait_for(lambda: svc.inbox_depth() == 0, 10, "the inbox to be empty")
    assert svc.quarantine_counts() == {}, "nothing may be quarantined because of a full disk"


def _lines(log: str, phrase: str) -> list[str]:
    return [line for line in log.splitlines() if phrase in line.lower()]


def test_a_full_database_disk_keeps_the_readings_in_the_inbox_until_it_is_freed(ext4_image, verbose_broker,
                                                                                 tmp_path):
    disk = ext4_image(16, "dbdisk")
    cwd = tmp_path / "svc"
    cwd.mkdir()
    db = disk.path / "tess.db"
    svc = FaultService(cwd, verbose_broker, db_path=db, inbox_path=cwd / "tessdb-inbox.db", extra_env=NO_DAYLIGHT)
    pub = Publisher(verbose_broker.port, "dbfull-publisher")
    try:
        svc.start()
        _registered_and_stored(svc, pub)
        disk.fill()
        sent = pub.publish(OUTAGE)
        body = svc.wait_health(503, 20, naming=db)
        print(f"\n/health during the outage: {body}")
        # the inbox is fine: every message is acknowledged and waits there
        wait_for(lambda: verbose_broker.pubacks_from(svc.client_id) >= PHOTOMETERS + TOTAL, 30,
                 "the service to acknowledge every message (its inbox is not on the full disk)")
        assert svc.proc.poll() is None
        assert svc.metric("tessdb_store_available") == 0.0
        assert "tessdb_store_available 0.0" in svc.metrics_text()
        counts = svc.quarantine_counts()
        assert "store_error" not in counts and counts == {}, f"quarantined during the outage: {counts}"
        waiting = svc.inbox_depth()  # first the inbox, then the rows: nothing can fall between
        stored = svc.readings()[0] - len(CONTROL)
        print(f"during the outage: {stored} of {sent} readings stored, {waiting} waiting in the inbox")
        assert stored < sent, "the full disk took every reading: the fault did not happen"
        assert waiting > 0 and waiting + stored >= sent
        status, body, _ = svc.health()
        assert status == 503 and str(db) in body["reason"], body

        disk.free()
        _all_stored_once(svc)
        svc.wait_health(200, 10)
        assert svc.metric("tessdb_store_available") == 1.0
        log = svc.log()
        down, up = _lines(log, "cannot take writes"), _lines(log, "takes writes again")
        assert len(down) == 1, f"expected one line saying the database cannot take writes, got {down}"
        assert len(up) == 1, f"expected one line saying the database takes writes again, got {up}"
        assert svc.stop() == 0
        assert svc.readings() == (TOTAL, TOTAL)
    finally:
        pub.close()
        svc.stop()


def test_a_full_inbox_disk_acknowledges_nothing_until_it_is_freed(ext4_image, verbose_broker, tmp_path):
    disk = ext4_image(16, "inboxdisk")
    cwd = tmp_path / "svc"
    cwd.mkdir()
    inbox = disk.path / "tessdb-inbox.db"
    svc = FaultService(cwd, verbose_broker, db_path=cwd / "tess.db", inbox_path=inbox, extra_env=NO_DAYLIGHT)
    pub = Publisher(verbose_broker.port, "inboxfull-publisher")
    try:
        svc.start()
        _registered_and_stored(svc, pub)
        # positive control: it does acknowledge (a PUBACK may follow the stored row by one turn)
        wait_for(lambda: verbose_broker.pubacks_from(svc.client_id) >= PHOTOMETERS + len(CONTROL), 10,
                 "the acknowledgements of the stored messages")
        acked_before = verbose_broker.pubacks_from(svc.client_id)
        disk.fill()
        sent = pub.publish(OUTAGE)  # the broker takes them (and queues them for the service)
        body = svc.wait_health(503, 20, naming=inbox)
        print(f"\n/health during the outage: {body}")
        time.sleep(1)
        acked = verbose_broker.pubacks_from(svc.client_id) - acked_before
        print(f"during the outage: {acked} of {sent} messages acknowledged by the service")
        assert acked < sent, f"{acked} of {sent} acknowledged while the inbox could not take them"
        assert svc.proc.poll() is None
        assert svc.metric("tessdb_inbox_available") == 0.0
        status, body, _ = svc.health()
        assert status == 503 and str(inbox) in body["reason"], body

        disk.free()
        _all_stored_once(svc)
        wait_for(lambda: verbose_broker.pubacks_from(svc.client_id) - acked_before >= sent, 10,
                 "every message to be acknowledged once the space is back")
        svc.wait_health(200, 10)
        assert svc.metric("tessdb_inbox_available") == 1.0
        assert svc.stop() == 0
        assert svc.readings() == (TOTAL, TOTAL)
    finally:
        pub.close()
        svc.stop()


def test_both_on_one_full_disk_and_a_restart_while_full(ext4_image, verbose_broker, tmp_path):
    disk = ext4_image(24, "bothdisk")
    cwd = tmp_path / "svc"
    cwd.mkdir()
    db, inbox = disk.path / "tess.db", disk.path / "tessdb-inbox.db"
    svc = FaultService(cwd, verbose_broker, db_path=db, inbox_path=inbox, extra_env=NO_DAYLIGHT)
    pub = Publisher(verbose_broker.port, "bothfull-publisher")
    try:
        svc.start()
        _registered_and_stored(svc, pub)
        wait_for(lambda: verbose_broker.pubacks_from(svc.client_id) >= PHOTOMETERS + len(CONTROL), 10,
                 "the acknowledgements of the stored messages")
        acked_before = verbose_broker.pubacks_from(svc.client_id)
        disk.fill()
        sent = pub.publish(OUTAGE)
        body = svc.wait_health(503, 20, naming=inbox)
        print(f"\n/health during the outage: {body}")
        time.sleep(1)
        acked = verbose_broker.pubacks_from(svc.client_id) - acked_before
        print(f"during the outage: {acked} of {sent} messages acknowledged by the service")
        assert acked < sent
        assert svc.proc.poll() is None

        rc = svc.stop()  # SIGTERM while the disk is full
        print(f"stopped while full: exit code {rc}")
        disk.fill()  # closing SQLite may have deleted its -wal / -shm and given space back
        svc.start(subscribed=False)
        time.sleep(4)
        assert svc.proc.poll() is None, f"the service exited with {svc.proc.returncode}: {svc.stderr()}"
        status, body, secs = svc.health(timeout=5)  # the positive control: it is alive and says why
        print(f"/health after the restart on the full disk: {status} {body} in {secs:.2f} s")
        assert status == 503, (status, body)
        assert str(inbox) in body["reason"] or str(db) in body["reason"], body

        disk.free()
        _all_stored_once(svc, timeout=40)
        svc.wait_health(200, 10)
        assert svc.stop() == 0
        assert svc.readings() == (TOTAL, TOTAL)
    finally:
        pub.close()
        svc.stop()


def test_a_full_disk_at_start_without_an_inbox_file(ext4_image, verbose_broker, tmp_path):
    disk = ext4_image(16, "freshdisk")
    cwd = tmp_path / "svc"
    cwd.mkdir()
    inbox = disk.path / "tessdb-inbox.db"
    svc = FaultService(cwd, verbose_broker, db_path=cwd / "tess.db", inbox_path=inbox, extra_env=NO_DAYLIGHT)
    pub = None
    try:
        svc.cli("init")
        disk.fill()
        assert not inbox.exists()
        svc.start(subscribed=False)
        body = svc.wait_health(503, 20, naming=inbox)
        print(f"\n/health with the full disk at start: {body}")
        time.sleep(1)
        assert svc.proc.poll() is None, f"the service exited with {svc.proc.returncode}: {svc.stderr()}"

        disk.free()
        wait_for(svc.ready, 30, "the service to be ready (/health/ready) once the space is back")
        pub = Publisher(verbose_broker.port, "fresh-publisher")
        pub.publish(registrations(PHOTOMETERS) + CONTROL + OUTAGE)
        _all_stored_once(svc)
        svc.wait_health(200, 10)
        assert svc.count("tess_t") == PHOTOMETERS
        assert svc.stop() == 0
    finally:
        if pub is not None:
            pub.close()
        svc.stop()
