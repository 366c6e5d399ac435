"""The inbox and the database file deleted or replaced under the running service, with a burst
in flight, then ``kill -9`` and a restart: every acknowledged reading is stored exactly once,
the files at the paths hold what the service wrote, and it says so (log lines, /metrics,
/health).  Real mosquitto, real files, the service as a child process."""

from __future__ import annotations

import os
import shutil
import threading

import pytest

from live_service import NO_DAYLIGHT, FaultService, Publisher, reading, registrations, wait_for

pytestmark = pytest.mark.live


def _burst(pub: Publisher, msgs, rate: float) -> tuple[threading.Thread, list[int]]:
    sent: list[int] = []
    t = threading.Thread(target=lambda: sent.append(pub.publish(msgs, rate=rate)), daemon=True)
    t.start()
    return t, sent


def _remove(path) -> None:
    for suffix in ("", "-wal", "-shm"):
        p = path.with_name(path.name + suffix)
        if p.exists():
            p.unlink()


def test_a_deleted_inbox_is_put_back_and_nothing_acknowledged_is_lost(broker, tmp_path):
    # the live run with paho's own paths ([mqtt] speedups = "off"): the burst is acknowledged by paho itself
    svc = FaultService(tmp_path / "svc", broker, extra_env={**NO_DAYLIGHT, "TESSDB_MQTT__SPEEDUPS": "off"})
    svc.cwd.mkdir()
    pub = Publisher(broker.port, "inbox-rm-publisher")
    try:
        svc.start()
        pub.publish(registrations(10) + [reading(i, 0) for i in range(1, 11)])
        wait_for(lambda: svc.readings() == (10, 10), 20, "the registrations and control readings")
        svc.cli("pause")  # the readings stay in the inbox: the inbox is all there is of them
        msgs = [reading(i, seq) for seq in range(1, 81) for i in range(1, 11)]  # 800 over ~2 s
        thread, sent = _burst(pub, msgs, rate=400)
        wait_for(lambda: svc.inbox_depth() >= 100, 20, "the burst to reach the inbox")
        _remove(svc.inbox_path)  # rm tessdb-inbox.db*, mid-burst
        thread.join(60)
        assert sent == [800]
        wait_for(lambda: svc.inbox_path.exists() and svc.inbox_depth() == 800, 20,
                 "the acknowledged readings in an inbox at the path")
        log = svc.log()
        assert 'speed-ups off ([mqtt] speedups = "off")' in log
        assert "was deleted under the running service" in log
        assert "into a new inbox at the path (synced)" in log
        assert "takes messages again" in log
        assert svc.metric("tessdb_files_rescued_total") == 1
        assert svc.metric("tessdb_outages_total") >= 1
        body = svc.wait_health(200, 10, naming=svc.inbox_path)
        assert "was deleted" in body["reason"]
        svc.kill9()
        assert svc.inbox_depth() == 800  # what a power cut would leave: on the disk, at the path
        svc.start()
        svc.cli("resume", check=False)
        wait_for(lambda: svc.readings() == (810, 810), 30, "every reading stored exactly once")
        wait_for(lambda: svc.inbox_depth() == 0, 10, "the inbox to drain")
        assert svc.quarantine_counts() == {}
        assert svc.stop() == 0
    finally:
        pub.close()
        if svc.proc is not None:
            svc.kill9()


def test_a_replaced_database_is_set_aside_and_ours_put_back(broker, tmp_path):
    svc = FaultService(tmp_path / "svc", broker, extra_env=NO_DAYLIGHT)
    svc.cwd.mkdir()
    pub = Publisher(broker.port, "db-replace-publisher")
    try:
        svc.start()
        pub.publish(registrations(10) + [reading(i, 0) for i in range(1, 11)])
        wait_for(lambda: svc.readings() == (10, 10), 20, "the registrations and control readings")
        other = tmp_path / "other.db"
        FaultService(tmp_path / "svc", broker, db_path=other).cli("init")  # a fresh, empty database
        msgs = [reading(i, seq) for seq in range(1, 81) for i in range(1, 11)]
        thread, sent = _burst(pub, msgs, rate=400)
        wait_for(lambda: svc.readings()[0] >= 100, 20, "the burst to reach the database")
        _remove(svc.db_path)
        shutil.copy(other, svc.db_path)  # an empty database put in its place
        thread.join(60)
        assert sent == [800]
        wait_for(lambda: svc.readings() == (810, 810), 30, "every reading in the database at the path")
        aside = [p.name for p in svc.db_path.parent.iterdir() if p.name.startswith("tess.db.replaced-")]
        assert aside, os.listdir(svc.db_path.parent)
        log = svc.log()
        assert "was replaced by another file under the running service" in log
        assert "set aside as" in log and "copied into a new file at the path (synced)" in log
        wait_for(lambda: svc.metric("tessdb_files_rescued_total") == 1, 10, "the rescue counted")
        svc.kill9()
        svc.start()
        pub.publish([reading(i, 81) for i in range(1, 11)])
        wait_for(lambda: svc.readings() == (820, 820), 30, "every reading stored exactly once")
        assert svc.quarantine_counts() == {}
        assert svc.stop() == 0
    finally:
        pub.close()
        if svc.proc is not None:
            svc.kill9()


def test_a_reading_dated_2100_is_quarantined_as_bad_timestamp(broker, tmp_path):
    import json

    svc = FaultService(tmp_path / "svc", broker, extra_env=NO_DAYLIGHT)
    svc.cwd.mkdir()
    pub = Publisher(broker.port, "future-publisher")
    try:
        svc.start()
        topic, payload = reading(1, 1)
        future = json.dumps({**json.loads(payload), "seq": 2, "tstamp": "2100-01-01T00:00:00"})
        pub.publish(registrations(1) + [(topic, future), reading(1, 3)])
        wait_for(lambda: svc.readings() == (1, 1), 20, "the control reading stored")
        wait_for(lambda: svc.quarantine_rows("bad_timestamp") == 1, 20, "the reading of 2100 quarantined")
        detail = json.loads(svc.cli("quarantine", "list", "--json").stdout)
        assert "minutes in the future" in json.dumps(detail)
        with svc.db() as conn:
            assert conn.execute("SELECT MAX(date_id) FROM tess_readings_t").fetchone()[0] < 20500000
        assert svc.stop() == 0
    finally:
        pub.close()
        if svc.proc is not None:
            svc.kill9()
