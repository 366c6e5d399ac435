"""The inbox file under attack: held by another program, corrupt, a directory; payloads too
large; a flood of unknown names; a quarantine that must stay bounded.  Real mosquitto, real
files, the service as a child process; the assertions are on rows, counters and files."""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import threading
import time

import pytest

from live_service import NO_DAYLIGHT, FaultService, Publisher, reading, registrations, wait_for

pytestmark = pytest.mark.live

HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
conn.close()
print("released", flush=True)
"""


@pytest.fixture
def svc_dir(tmp_path):
    cwd = tmp_path / "svc"
    cwd.mkdir()
    return cwd


def test_an_inbox_held_by_another_program_is_reported_and_nothing_is_lost(broker, svc_dir):
    svc = FaultService(svc_dir, broker, extra_env=NO_DAYLIGHT)
    pub = Publisher(broker.port, "held-publisher")
    holder = None
    try:
        svc.start()
        pub.publish(registrations(10) + [reading(i, 0) for i in range(1, 11)])
        wait_for(lambda: svc.readings() == (10, 10), 20, "the registrations and control readings")
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(svc.inbox_path), "8"], stdout=subprocess.PIPE,
                                  text=True)
        assert holder.stdout.readline().strip() == "held"
        t_held = time.monotonic()
        msgs = [reading(i, seq) for seq in range(1, 101) for i in range(1, 11)]  # 1,000 over ~4 s
        sent: list[int] = []
        burst = threading.Thread(target=lambda: sent.append(pub.publish(msgs, rate=250)), daemon=True)
        burst.start()
        answers = []
        while time.monotonic() - t_held < 7:
            answers.append(svc.health(timeout=5))
            time.sleep(0.25)
        assert svc.proc.poll() is None
        slow = [(s, round(t, 2)) for s, _, t in answers if s is None or t >= 2]
        assert not slow, f"/health did not answer within 2 s while the inbox was held: {slow}"
        held = [b["reason"] for s, b, _ in answers if s == 503]
        print(f"\n/health while held: {held[-1] if held else answers[-1]}")
        assert held, f"/health never answered 503 while the inbox was held: {answers[-3:]}"
        assert any(str(svc.inbox_path) in r and ("held" in r.lower() or "locked" in r.lower()) for r in held), held
        assert holder.stdout.readline().strip() == "released"
        assert holder.wait(10) == 0
        burst.join(30)
        assert sent == [1000]
        wait_for(lambda: svc.readings() == (1010, 1010), 30, "every reading stored once after the release")
        wait_for(lambda: svc.inbox_depth() == 0, 10, "the inbox to be empty")
        assert svc.quarantine_counts() == {}
        svc.wait_health(200, 10)
        assert svc.stop() == 0
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
            holder.wait()
        pub.close()
        svc.stop()


def test_a_corrupt_inbox_at_start_is_set_aside_and_the_service_goes_on(broker, svc_dir):
    inbox = svc_dir / "tessdb-inbox.db"
    garbage = random.Random(20261130).randbytes(32 * 1024)
    inbox.write_bytes(garbage)
    svc = FaultService(svc_dir, broker, inbox_path=inbox, extra_env=NO_DAYLIGHT)
    pub = Publisher(broker.port, "corrupt-publisher")
    try:
        svc.start()
        aside = sorted(svc_dir.glob("tessdb-inbox.db.corrupt-*"))
        assert len(aside) == 1, f"the corrupt inbox was not set aside: {sorted(p.name for p in svc_dir.iterdir())}"
        assert aside[0].read_bytes() == garbage
        said = svc.log() + svc.stderr()
        assert str(inbox) in said and str(aside[0]) in said, f"log / stderr must name both files:\n{said[-3000:]}"
        pub.publish(registrations(3) + [reading(i, seq) for seq in range(10) for i in range(1, 4)])
        wait_for(lambda: svc.readings() == (30, 30), 20, "the readings published after the start")
        assert svc.quarantine_counts() == {}
        assert svc.stop() == 0
        assert aside[0].read_bytes() == garbage  # still there, untouched
    finally:
        pub.close()
        svc.stop()


def test_a_directory_at_the_inbox_path_is_a_one_line_error(broker, svc_dir):
    inbox = svc_dir / "tessdb-inbox.db"
    inbox.mkdir()
    svc = FaultService(svc_dir, broker, inbox_path=inbox)
    svc.cli("init")
    out = subprocess.run([sys.executable, "-m", "tessdb_core.cli", "run"], cwd=svc_dir, env=svc.env,
                         capture_output=True, text=True, timeout=60)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert len(lines) == 1 and lines[0].startswith("tessdb-core: error: "), out.stderr
    assert str(inbox) in lines[0], lines[0]
    assert inbox.is_dir() and not list(svc_dir.glob("tessdb-inbox.db.corrupt-*"))


def test_a_payload_larger_than_max_payload_is_quarantined_as_too_large(broker, svc_dir):
    svc = FaultService(svc_dir, broker, extra_env={**NO_DAYLIGHT, "TESSDB_MQTT__MAX_PAYLOAD": "2048"})
    pub = Publisher(broker.port, "large-publisher")
    try:
        svc.start()
        pub.publish(registrations(2))
        wait_for(lambda: svc.count("tess_t") == 2, 20, "the registrations")
        big = reading(1, 0, pad="x" * 100_000)  # a well-formed reading, but 100 KB
        assert len(big[1]) > 100_000
        normal = [reading(1, s) for s in range(1, 4)] + [reading(2, s) for s in range(3)]
        pub.publish(normal[:3] + [big] + normal[3:])
        wait_for(lambda: svc.readings() == (6, 6), 20, "the normal readings")
        wait_for(lambda: svc.quarantine_rows() == 1, 10, "the large one in the quarantine")
        listed = json.loads(svc.cli("quarantine", "list", "--json").stdout)
        assert [e["reason"] for e in listed] == ["too_large"], listed
        shown = svc.cli("quarantine", "show", str(listed[0]["id"])).stdout
        assert "too_large" in shown
        with contextlib.closing(svc.inbox()) as conn:
            (kept,) = conn.execute("SELECT payload FROM quarantine_t WHERE reason = 'too_large'").fetchone()
        kept = bytes(kept)
        print(f"\nkept {len(kept)} of {len(big[1])} bytes: {kept[:60]!r}...")
        assert 0 < len(kept) <= 1024
        assert big[1].encode().startswith(kept)
        assert svc.quarantine_counts() == {"too_large": 1}
        wait_for(lambda: svc.inbox_depth() == 0, 10, "the inbox to be empty")
        assert svc.stop() == 0
    finally:
        pub.close()
        svc.stop()


def test_a_flood_of_unknown_names_is_quarantined_in_bounded_memory(broker, svc_dir):
    svc = FaultService(svc_dir, broker, extra_env=NO_DAYLIGHT)
    pub = Publisher(broker.port, "flood-publisher")
    try:
        svc.start()
        pub.publish(registrations(5))
        wait_for(lambda: svc.count("tess_t") == 5, 20, "the registrations")
        # 50,000 well-formed readings of 50,000 names nobody registered, and among them, one
        # reading of a registered photometer every 100 (the positive control: 500 stored)
        msgs, known = [], 0
        for k in range(50_000):
            msgs.append(reading(100_000 + k, 0))
            if k % 100 == 99:
                msgs.append(reading(1 + known % 5, known // 5))
                known += 1
        assert known == 500
        warm = 505  # 500 unknown, 5 known
        pub.publish(msgs[:warm])
        wait_for(lambda: svc.quarantine_rows("unknown_photometer") == 500 and svc.readings()[0] == 5, 30,
                 "the warm-up")
        wait_for(lambda: svc.inbox_depth() == 0, 10, "the warm-up to leave the inbox")
        rss_before = svc.rss_kb()
        t0 = time.monotonic()
        pub.publish(msgs[warm:])
        wait_for(lambda: svc.quarantine_rows("unknown_photometer") == 50_000, 60, "the 50,000 unknown readings")
        wait_for(lambda: svc.readings() == (500, 500), 20, "the registered photometers' readings")
        wait_for(lambda: svc.inbox_depth() == 0, 10, "the inbox to be empty")
        rss_after = svc.rss_kb()
        print(f"\nflood of {len(msgs)} messages in {time.monotonic() - t0:.1f} s; RSS {rss_before} -> {rss_after} kB")
        assert rss_after - rss_before < 20_000, f"RSS grew by {rss_after - rss_before} kB during the flood"
        assert svc.quarantine_counts() == {"unknown_photometer": 50_000}
        assert svc.proc.poll() is None
        assert svc.stop() == 0
    finally:
        pub.close()
        svc.stop()


def test_the_quarantine_stays_within_max_mb(broker, svc_dir):
    svc = FaultService(svc_dir, broker, extra_env={"TESSDB_QUARANTINE__MAX_MB": "1"})
    pub = Publisher(broker.port, "garbage-publisher")
    size = 10 * 1024
    try:
        svc.start()
        garbage = [("STARS4ALL/stars1/reading", f"not json {k:05d} ".ljust(size, "#")) for k in range(300)]
        assert all(len(p) == size for _, p in garbage)
        sent = pub.publish(garbage)  # about 3 MB of payloads, three times max_mb

        def kept_and_dropped() -> tuple[int, float]:
            return svc.quarantine_rows(), svc.metric("tessdb_quarantine_dropped_total") or 0.0

        wait_for(lambda: sum(kept_and_dropped()) >= sent, 30, "every garbage message to be kept or dropped")
        wait_for(lambda: svc.inbox_depth() == 0, 10, "the inbox to be empty")
        kept, dropped = kept_and_dropped()
        with contextlib.closing(svc.inbox()) as conn:
            kept_bytes = conn.execute("SELECT COALESCE(SUM(LENGTH(payload)), 0) FROM quarantine_t").fetchone()[0]
        print(f"\nquarantine: {kept} kept ({kept_bytes} bytes of payload), {dropped:.0f} dropped of {sent}")
        assert dropped > 0
        assert kept + dropped == sent
        assert kept_bytes <= 1024 * 1024 + size, f"{kept_bytes} bytes of payload kept with max_mb = 1"
        assert kept_bytes >= 256 * 1024, f"only {kept_bytes} bytes kept: the bound must keep the newest, not nothing"
        assert svc.quarantine_counts() == {"bad_json": kept}
        assert svc.stop() == 0
    finally:
        pub.close()
        svc.stop()
