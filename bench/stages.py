"""Where a reading's microseconds go: each stage of the pipeline timed on its own.

The same fleet as ``bench/ingest.py`` (night readings, every one stored), run stage by
stage over the whole set so that each figure is one stage's cost per reading:

* read: a JSON Lines envelope into a Message (offline ingest only);
* decode, validate, filter, resolve (the registration lookup): the default plugins
  through the engine's own stage callers;
* row building (``tessdb_star.readings.split_rows``), then SQL and sync: ``Store.write_readings``
  in batches of ``[dbase] buffer_size`` on a SQLite file in WAL mode, once as it runs
  (``synchronous=FULL``: each commit synced) and once with ``synchronous=NORMAL`` (the
  same commits without their ``fdatasync``): the difference is the sync;
* inbox (live only): a burst committed to the inbox, its sync, and the entries deleted
  once their outcome is recorded;
* MQTT (live only): paho's receive path for a QoS 1 PUBLISH (MQTT 5) from a local socket,
  with paho as it is and with the collector's speed-ups (``tessdb_core.paho_speedups``).

Then the whole pipeline (``Pipeline.process`` + writes) on the same readings for the total,
and a registration's cost (decided, applied and committed; a burst shares one sync).
Each figure is the best of ``--repeat`` runs (the machine is shared).

    python bench/stages.py --readings 60000 --photometers 1000
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet import generate  # noqa: E402
from rawpub import publish_packet  # noqa: E402

from tessdb_core import app as app_mod  # noqa: E402
from tessdb_core.events import Reading, Registration, Rejection  # noqa: E402
from tessdb_core.inbox import Inbox  # noqa: E402
from tessdb_core.jsonl import read  # noqa: E402
from tessdb_core.localfile import LocalFile, sync  # noqa: E402
from tessdb_core.pipeline import Pipeline  # noqa: E402
from tessdb_core.quarantine import Quarantine  # noqa: E402
from tessdb_star.readings import split_rows  # noqa: E402


def best(fn, repeat: int) -> float:
    """Best wall time of ``fn()`` over ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def fresh_store(app, work: Path, tag: str):
    db = work / f"{tag}.db"
    for p in work.glob(f"{tag}.db*"):
        p.unlink()
    store = app.store(str(db))
    store.initialise()
    store.open()
    return store


def mqtt_receive(n: int, speedups: bool) -> float:
    """Seconds of CPU for paho to read ``n`` QoS 1 PUBLISH packets (MQTT 5) from a socket."""
    import paho.mqtt.client as mqtt

    from tessdb_core import paho_speedups

    def packet(k: int) -> bytes:
        payload = (b'{"seq":%d,"name":"stars%d","freq":10.0,"mag":20.0,"tamb":5.0,"tsky":-3.0,"wdBm":-60,'
                   b'"tstamp":"2026-11-01T20:00:00Z"}' % (k, k % 1000))
        return publish_packet(k % 65535 + 1, f"STARS4ALL/stars{k % 1000}/reading", payload, v5=True)

    packets = [packet(k) for k in range(n)]
    a, b = socket.socketpair()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    got = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench", protocol=mqtt.MQTTv5, manual_ack=True)
    client.on_message = lambda c, u, m: got.append((m.topic, m.payload, m.mid))
    if speedups:
        paho_speedups.share_v5_property_tables()
        paho_speedups.lean_publish(client, lambda topic, payload, mid, qos, retain: got.append((topic, payload, mid)))
    a.setblocking(False)
    client._sock = a  # as paho's connect leaves it
    if speedups:
        paho_speedups.buffer_reads(client)
    cpu = 0.0
    for i in range(0, n, 5000):  # in slices the socket buffers hold
        b.sendall(b"".join(packets[i:i + 5000]))
        want = min(n, i + 5000)
        t0 = time.process_time()
        while len(got) < want:
            client.loop_read()
        cpu += time.process_time() - t0
    a.close()
    b.close()
    assert len(got) == n, (len(got), n)
    return cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readings", type=int, default=60_000)
    ap.add_argument("--photometers", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tessdb-stages-"))
    os.environ["TESSDB_INBOX__PATH"] = str(work / "inbox.db")
    os.environ["TESSDB_LOGS__LEVEL"] = '"warning"'
    data = work / "fleet.jsonl"
    with open(data, "wb") as fh:
        for line in generate(args.readings, args.photometers):
            fh.write(line + b"\n")
    app = app_mod.create(console=False)
    settings, stages = app.settings, app.stages
    app_mod.tune_gc_for_throughput()
    rows: dict[str, float] = {}
    messages = list(read([str(data)]))
    n = sum(1 for m in messages if m.topic.endswith("/reading"))
    rows["read (JSON Lines envelope; offline only)"] = best(lambda: list(read([str(data)])), args.repeat) / len(messages)

    events = [stages.decode(m, settings) for m in messages]
    rows["decode (payload JSON, fields, timestamp)"] = best(
        lambda: [stages.decode(m, settings) for m in messages], args.repeat) / len(messages)
    assert not any(type(e) is Rejection for e in events)
    rows["validate (ranges, names, clock)"] = best(
        lambda: [stages.validate(e, settings) for e in events], args.repeat) / len(events)
    registrations = [e for e in events if type(e) is Registration]
    readings = [e for e in events if type(e) is Reading]

    store = fresh_store(app, work, "stages")
    pipeline = Pipeline(stages, settings, store, Quarantine(str(work / "q.db")))
    for r in registrations:  # the catalogue the readings resolve against
        pipeline.process(r.message)
    pipeline.write()
    catalog = pipeline.catalog

    def filtered():
        chain = stages.filters(settings)
        out = []
        for r in readings:
            pending = [r]
            for f in chain:
                nxt = []
                for p in pending:
                    released, _dropped = f.process(p)
                    nxt.extend(released)
                pending = nxt
            out.extend(pending)
        return out

    rows["filter (decimation, daylight window)"] = best(filtered, args.repeat) / len(readings)
    resolved = [stages.resolve(r, catalog, settings) for r in readings]
    rows["resolve (registration lookup)"] = best(
        lambda: [stages.resolve(r, catalog, settings) for r in readings], args.repeat) / len(readings)
    size = int(settings.dbase.buffer_size)

    write_store = fresh_store(app, work, "write")  # the same catalogue ids: a fresh file each time
    for r in registrations:
        write_store.apply_registration(stages.register(r, write_store.load_catalog(), settings))
    write_store.close()
    template = (work / "write.db").read_bytes()

    def write_prepared(synced: bool = True) -> float:
        for p in work.glob("write.db*"):
            p.unlink()
        (work / "write.db").write_bytes(template)
        s = app.store(str(work / "write.db"))
        s.open()
        if not synced:  # measuring only: the commits without their fdatasync (WAL, NORMAL)
            s._conn.execute("PRAGMA synchronous=NORMAL")  # noqa: SLF001
        t0 = time.perf_counter()
        for i in range(0, len(resolved), size):
            s.write_readings(resolved[i:i + size])
        elapsed = time.perf_counter() - t0
        s.close()
        return elapsed

    def row_building():
        for i in range(0, len(resolved), size):
            split_rows(resolved[i:i + size])

    building = best(row_building, args.repeat) / len(resolved)
    written = min(write_prepared() for _ in range(args.repeat)) / len(resolved)
    unsynced = min(write_prepared(synced=False) for _ in range(args.repeat)) / len(resolved)
    rows["row building (sorted by time, the row tuples)"] = building
    rows[f"SQL: executemany and commit ({size} rows a transaction)"] = unsynced - building
    rows["sync: the commit's fdatasync, per reading"] = max(written - unsynced, 0.0)

    def inbox_round():
        for p in work.glob("inbox-bench.db*"):
            p.unlink()
        f = LocalFile(str(work / "inbox-bench.db"), sync_on_commit=False)
        inbox = Inbox(f)
        t0 = time.perf_counter()
        for i in range(0, len(messages), 1000):  # a burst: committed, synced, later deleted
            burst = messages[i:i + 1000]
            inbox.add(burst)
            sync(f.sync_token())
            entries = inbox.after(i, 1000)
            f.record_outcomes((), [e.inbox_id for e in entries])
        elapsed = time.perf_counter() - t0
        f.close()
        return elapsed

    rows["inbox (commit, sync, read back, delete; live only)"] = min(
        inbox_round() for _ in range(args.repeat)) / len(messages)
    k = min(len(messages), 20_000)
    rows["MQTT receive, paho as it is (live only)"] = min(mqtt_receive(k, False) for _ in range(args.repeat)) / k
    rows["MQTT receive, with tessdb speed-ups (live only)"] = min(
        mqtt_receive(k, True) for _ in range(args.repeat)) / k

    reading_messages = [r.message for r in readings]

    def whole():
        for p in work.glob("write.db*"):
            p.unlink()
        (work / "write.db").write_bytes(template)  # registered, no reading yet
        s = app.store(str(work / "write.db"))
        s.open()
        p = Pipeline(stages, settings, s, Quarantine(str(work / "q2.db")))
        t0 = time.perf_counter()
        for m in reading_messages:
            p.process(m)
        p.flush()
        elapsed = time.perf_counter() - t0
        s.close()
        return elapsed

    total = min(whole() for _ in range(args.repeat)) / len(reading_messages)

    def registering():
        s = fresh_store(app, work, "reg")
        p = Pipeline(stages, settings, s, Quarantine(str(work / "q3.db")))
        t0 = time.perf_counter()
        for r in registrations:
            p.process(r.message)
        p.write()  # the one sync a burst of registrations costs
        elapsed = time.perf_counter() - t0
        s.close()
        return elapsed

    per_registration = min(registering() for _ in range(args.repeat)) / len(registrations)

    print(f"{n:,} readings and {len(registrations):,} registrations from {args.photometers:,} photometers; "
          f"best of {args.repeat}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'stage':<55} us a message")
    for name, seconds in rows.items():
        print(f"{name:<55} {seconds * 1e6:8.1f}")
    print(f"{'whole pipeline for a reading (decode to synced commit)':<55} {total * 1e6:8.1f}")
    print(f"{'a registration (decode to committed catalogue rows)':<55} {per_registration * 1e6:8.1f}")
    for p in work.iterdir():
        p.unlink()
    work.rmdir()


if __name__ == "__main__":
    main()
