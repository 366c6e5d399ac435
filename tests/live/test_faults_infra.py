"""The fault machinery itself (tests/faults.py, Broker(log_all=True)), checked against real
parts before the fault tests rely on it: a full ext4 image refuses writes and takes them
again once freed, a snapshot keeps exactly what was synced (SQLite's synchronous=FULL
survives it, NORMAL does not), and the broker's log counts a client's PUBACKs."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest

from broker import Broker
from faults import Ext4Image, _is_mounted, _loop_devices

from live_service import HOST, Publisher, wait_for

pytestmark = pytest.mark.live


def _write_synced(path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def test_a_filled_image_refuses_new_blocks_and_free_gives_them_back(ext4_image):
    disk = ext4_image(16)
    _write_synced(disk.path / "before.bin", b"x" * 100_000)  # positive control: it takes writes
    written = disk.fill()
    print(f"fill() wrote {written} bytes; {disk.available()} bytes left")
    assert written > 8_000_000 and disk.available() < 64 * 1024
    with pytest.raises(OSError) as exc:
        _write_synced(disk.path / "during.bin", b"y" * 200_000)
    assert exc.value.errno == errno.ENOSPC
    disk.free()
    assert disk.available() > 8_000_000
    _write_synced(disk.path / "after.bin", b"z" * 200_000)
    assert (disk.path / "after.bin").read_bytes() == b"z" * 200_000
    # fill() may be called again, and it fills again
    disk.fill()
    with pytest.raises(OSError):
        _write_synced(disk.path / "again.bin", b"w" * 200_000)
    disk.free()


def test_close_unmounts_and_detaches_the_loop_device(tmp_path):
    image = Ext4Image(8, tmp_path / "img")
    with image:
        assert _is_mounted(image.path) and _loop_devices(image.image)
        (image.path / "f").write_text("hello")
    assert not _is_mounted(image.path)
    assert _loop_devices(image.image) == []
    # a failure inside the block still unmounts
    with pytest.raises(RuntimeError, match="boom"):
        with image:
            raise RuntimeError("boom")
    assert not _is_mounted(image.path) and _loop_devices(image.image) == []


def test_a_snapshot_keeps_what_was_synced_and_loses_what_was_not(ext4_image, tmp_path):
    """The power-cut simulation discriminates: fsync'ed data and SQLite synchronous=FULL
    commits survive it; unsynced data and synchronous=NORMAL WAL commits do not."""
    disk = ext4_image(64)
    dbs = {}
    for mode in ("FULL", "NORMAL"):
        conn = sqlite3.connect(disk.path / f"{mode.lower()}.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={mode}")
        conn.execute("CREATE TABLE t (i INTEGER PRIMARY KEY, v TEXT)")
        dbs[mode] = conn
    subprocess.run(["sync"], check=True)
    _write_synced(disk.path / "synced.bin", b"s" * 50_000)
    (disk.path / "unsynced.bin").write_bytes(b"u" * 50_000)
    for i in range(200):
        for conn in dbs.values():
            conn.execute("INSERT INTO t VALUES (?, ?)", (i, "v" * 200))
    # "power cut": the processes' files are still open, nothing is synced
    cut = disk.snapshot(tmp_path / "cut.img")
    for conn in dbs.values():
        conn.close()  # (after the snapshot)
    with disk.mount_copy(cut) as root:
        assert (root / "synced.bin").read_bytes() == b"s" * 50_000
        unsynced = root / "unsynced.bin"
        assert not unsynced.exists() or unsynced.read_bytes() != b"u" * 50_000
        counts = {}
        for mode in ("FULL", "NORMAL"):
            with contextlib.closing(sqlite3.connect(root / f"{mode.lower()}.db")) as conn:
                counts[mode] = conn.execute("SELECT COUNT(*) FROM t").fetchone()[0]
        print(f"rows after the cut: {counts}")
        assert counts["FULL"] == 200
        assert counts["NORMAL"] < 200
    assert not _is_mounted(cut.with_name(cut.name + ".mnt")) and _loop_devices(cut) == []


def test_the_verbose_broker_counts_the_pubacks_a_client_sent(verbose_broker):
    got: list[int] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="manual-acker", protocol=mqtt.MQTTv5,
                      manual_ack=True)
    sub.on_message = lambda c, u, m: got.append(m.mid)
    sub.connect(HOST, verbose_broker.port)
    sub.loop_start()
    pub = Publisher(verbose_broker.port, "infra-publisher")
    try:
        sub.subscribe("faults/#", qos=1)
        wait_for(lambda: "Sending SUBACK to manual-acker" in verbose_broker.log_text(), 10, "the SUBACK")
        assert pub.publish([("faults/x", f"m{i}") for i in range(10)]) == 10
        wait_for(lambda: len(got) == 10, 10, "the 10 messages to reach the subscriber")
        # received but not acknowledged yet: none counted (the publisher's own PUBACKs are not either)
        assert verbose_broker.pubacks_from("manual-acker") == 0
        for mid in got[:4]:
            sub.ack(mid, 1)
        wait_for(lambda: verbose_broker.pubacks_from("manual-acker") == 4, 5, "4 PUBACKs in the broker's log")
        for mid in got[4:]:
            sub.ack(mid, 1)
        wait_for(lambda: verbose_broker.pubacks_from("manual-acker") == 10, 5, "10 PUBACKs in the broker's log")
        assert verbose_broker.pubacks_from("manual-acke") == 0  # the whole client id, not a prefix
        time.sleep(0.3)
        assert verbose_broker.pubacks_from("manual-acker") == 10
    finally:
        pub.close()
        sub.disconnect()
        sub.loop_stop()


def test_pubacks_need_the_verbose_log(tmp_path):
    with pytest.raises(RuntimeError, match="log_all"):
        Broker(tmp_path / "b").pubacks_from("x")
