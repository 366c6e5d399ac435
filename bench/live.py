"""Live benchmark: publisher process -> mosquitto -> `tessdb-core run` -> committed rows.

Starts a mosquitto broker on a free 127.0.0.1 port and the service on a fresh
database (daylight filter off, so that no reading waits in a window), registers
P photometers, then:

* throughput: a publisher process sends N readings with QoS 1 as fast as the broker
  takes them (``bench/rawpub.py``: packets written straight to the socket, a few µs
  each, so that the consumer under test is the bottleneck, not the publisher;
  ``--publisher paho`` uses paho's ``publish``, ~125 µs a message here); the figure is
  N divided by the time from the first publish to the last row committed
  (publisher, broker and service all on this machine);
* latency: readings from the largest fleet asked published at a steady 1,000/s; the
  row count is sampled every few milliseconds and the k-th row's commit time is
  compared with the k-th reading's publish time (p50, p99), with the service's memory.

Each throughput figure has its floor measured in the same run, under the same
publisher and broker: a bare consumer (paho, QoS 1 with paho's own automatic
acknowledgement, ``json.loads``, one ``executemany`` per burst into a database made
by the same ``tessdb-core init``; no inbox, no fsync, no checks, no filters).  On
SQLite it writes with ``synchronous=OFF``; on PostgreSQL through psycopg with
``synchronous_commit=off``.  The ratio service / floor is the figure to compare
between runs on a shared machine (the targets: >= 1.2x on SQLite, >= 0.8x on
PostgreSQL, the service with its inbox synced before every acknowledgement).

    python bench/live.py --photometers 100 1000 --readings 60000
    python bench/live.py --store postgres --collectors 1 2 --photometers 1000 --latency-readings 0
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from broker import Broker, free_port  # noqa: E402

PUBLISHER = r'''
import json, sys, time
import paho.mqtt.client as mqtt
port, photometers, count, rate, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
acked = [0]
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
c.on_publish = lambda *a: acked.__setitem__(0, acked[0] + 1)
c.max_inflight_messages_set(1000)
c.max_queued_messages_set(0)
c.connect("127.0.0.1", port)
payloads = []
for k in range(count):
    i, seq = k % photometers + 1, k // photometers
    h, rest = divmod(seq, 3600)
    payloads.append((f"STARS4ALL/stars{i}/reading", json.dumps({"name": f"stars{i}", "seq": seq, "freq": 10.0,
        "mag": 20.0, "tamb": 5.0, "tsky": -3.0, "wdBm": -60,
        "tstamp": f"2026-11-{1 + h // 24:02d}T{h % 24:02d}:{rest // 60:02d}:{rest % 60:02d}"})))
stamps = []
t0 = time.monotonic()
# one thread: publish() writes straight to the socket, loop() reads the acknowledgements
for k, (topic, payload) in enumerate(payloads):
    if rate:
        ahead = t0 + k / rate - time.monotonic()
        while ahead > 0:
            c.loop(min(ahead, 0.01))
            ahead = t0 + k / rate - time.monotonic()
    stamps.append(time.time())
    c.publish(topic, payload, qos=1)
    while k + 1 - acked[0] >= 1000:
        c.loop(0.01)
    if k % 50 == 0:
        c.loop(0)
while acked[0] < count:
    c.loop(0.05)
json.dump(stamps, open(out, "w"))
c.disconnect()
'''

#: TESSDB_ variables given to the service (--set)
SERVICE_SETTINGS: dict[str, str] = {}
#: which publisher the runs use (--publisher)
PUBLISHER_KIND = ["raw"]

BARE = r'''
import json, sqlite3, sys, time
import paho.mqtt.client as mqtt
port, url = int(sys.argv[1]), sys.argv[2]
W = ("INSERT INTO tess_readings_t (date_id, time_id, tess_id, location_id, observer_id, units_id,"
     " sequence_number, frequency, magnitude, box_temperature, sky_temperature, signal_strength)"
     " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")
if url.startswith("postgres"):
    import psycopg
    conn = psycopg.connect(url)
    conn.execute("SET synchronous_commit = off")
    W = W.replace("?", "%s")
    def write(rows):
        with conn.cursor() as cur:
            cur.executemany(W, rows)
        conn.commit()
else:
    conn = sqlite3.connect(url, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    def write(rows):
        conn.execute("BEGIN")
        conn.executemany(W, rows)
        conn.execute("COMMIT")
ids = {}
rows = []
def on_message(client, userdata, msg):
    d = json.loads(msg.payload)
    t = d["tstamp"]
    rows.append((int(t[0:4] + t[5:7] + t[8:10]), int(t[11:13] + t[14:16] + t[17:19]),
                 ids.setdefault(d["name"], len(ids) + 1), -1, -1, 1, d["seq"], d["freq"], d["mag"],
                 d["tamb"], d["tsky"], d["wdBm"]))
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-bare", protocol=mqtt.MQTTv5)
c.on_message = on_message
c.on_subscribe = lambda *a: print("subscribed", flush=True)
c.max_inflight_messages_set(1000)
c.connect("127.0.0.1", port)
c.subscribe("STARS4ALL/+/reading", qos=1)
while True:
    c.loop(0.02)
    n = -1
    while n != len(rows) < 5000:  # read on while the socket has data, as the service does
        n = len(rows)
        c.loop_read()
    if rows:
        write(rows)
        rows = []
'''


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Rows:
    """Samples how many readings are committed, in SQLite or PostgreSQL."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("postgres"):
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)
            self.sql = "SELECT COUNT(*) FROM tess_readings_t"
        else:
            self.conn = sqlite3.connect(url, timeout=30)
            self.sql = "SELECT MAX(rowid) FROM tess_readings_t"  # rowids only grow: no table scan

    def readings(self) -> int:
        return self.conn.execute(self.sql).fetchone()[0] or 0

    def instruments(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM tess_t").fetchone()[0]

    def close(self) -> None:
        self.conn.close()


def run(photometers: int, readings: int, rate: float, work: Path, store: str = "", collectors: int = 1,
        bare: bool = False) -> dict:
    """One measurement: the service (``collectors`` of them), or the bare floor consumer."""
    work.mkdir(parents=True, exist_ok=True)
    broker = Broker(work / "broker").start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    db = store or str(work / "tess.db")
    env.update(TESSDB_MQTT__PORT=str(broker.port), TESSDB_DBASE__URL=json.dumps(db),
               TESSDB_FILTER__ENABLE__DAYLIGHT="false", TESSDB_LOGS__LEVEL='"warning"')
    env.update(SERVICE_SETTINGS)
    if collectors > 1:
        env["TESSDB_MQTT__SHARED_GROUP"] = '"bench"'
    subprocess.run([sys.executable, "-m", "tessdb_core.cli", "init"], cwd=work, env=env, check=True,
                   capture_output=True)
    if bare:
        return _measure_bare(broker, photometers, readings, rate, work, db)
    services = []
    for k in range(collectors):
        cwd = work / f"collector{k}"
        cwd.mkdir()
        services.append(subprocess.Popen(
            [sys.executable, "-m", "tessdb_core.cli", "run"], cwd=cwd, stderr=open(cwd / "service.err", "w"),
            env=dict(env, TESSDB_HTTP__PORT=str(free_port()), TESSDB_MQTT__CLIENT_ID=f"bench-{k}-{broker.port}")))
    rows = Rows(db)
    try:
        time.sleep(2.0)
        regs = work / "regs.py"
        regs.write_text(
            "import json, sys, paho.mqtt.client as mqtt\n"
            "c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id='bench-reg'); c.max_inflight_messages_set(1000)\n"
            f"c.connect('127.0.0.1', {broker.port}); c.loop_start()\n"
            f"ps = [c.publish('STARS4ALL/register', json.dumps({{'name': f'stars{{i}}', 'mac': 'AA:BB:CC:%02X:%02X:%02X' % (i >> 16, (i >> 8) & 255, i & 255), 'calib': 20.5, 'tstamp': '2026-10-01T00:00:00'}}), qos=1) for i in range(1, {photometers} + 1)]\n"
            "[p.wait_for_publish() for p in ps]; c.disconnect(); c.loop_stop()\n")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and rows.instruments() < photometers:
            # again until every collector has subscribed (a slow start on a loaded machine):
            # a registration sent again changes nothing
            subprocess.run([sys.executable, str(regs)], check=True)
            wait = time.monotonic() + 5
            while time.monotonic() < wait and rows.instruments() < photometers:
                time.sleep(0.1)
        if rows.instruments() < photometers:
            raise SystemExit(f"only {rows.instruments()} of {photometers} photometers registered in 120 s")
        time.sleep(0.5)  # every collector has its catalogue up to date
        result = _publish_and_count(broker, photometers, readings, rate, work, rows, [s.pid for s in services])
        result["rss_mb"] = sum(rss_mb(s.pid) for s in services)
        return result
    finally:
        rows.close()
        for svc in services:
            svc.terminate()
        for svc in services:
            svc.wait(60)
        broker.stop()


def _measure_bare(broker: Broker, photometers: int, readings: int, rate: float, work: Path, db: str) -> dict:
    consumer = subprocess.Popen([sys.executable, "-c", BARE, str(broker.port), db], stdout=subprocess.PIPE,
                                text=True)
    rows = Rows(db)
    try:
        consumer.stdout.readline()  # "subscribed": nothing published before is lost
        return _publish_and_count(broker, photometers, readings, rate, work, rows, [consumer.pid])
    finally:
        rows.close()
        consumer.terminate()
        consumer.wait(60)
        broker.stop()


def rss_mb(pid: int) -> float:
    """Resident memory of a running process (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _publish_and_count(broker: Broker, photometers: int, readings: int, rate: float, work: Path, rows: Rows,
                       pids: list[int]) -> dict:
    """Publish, sample the committed rows until all are in; the figures."""
    stamps_file = work / "stamps.json"
    cpu0 = sum(cpu_seconds(pid) for pid in pids)
    publisher = ["-c", PUBLISHER] if PUBLISHER_KIND[0] == "paho" else [str(REPO / "bench" / "rawpub.py")]
    pub = subprocess.Popen([sys.executable, *publisher, str(broker.port), str(photometers), str(readings),
                            str(rate), str(stamps_file)])
    commits: list[tuple[float, int]] = []
    deadline = time.monotonic() + 600
    n = 0
    while n < readings and time.monotonic() < deadline:
        n = rows.readings()
        commits.append((time.time(), n))
        time.sleep(0.02)
    service_cpu = sum(cpu_seconds(pid) for pid in pids) - cpu0
    pub.wait(60)
    stamps = json.loads(stamps_file.read_text())
    t_done = commits[-1][0]
    result = {"photometers": photometers, "readings": readings, "stored": n,
              "seconds": t_done - stamps[0], "rate": readings / (t_done - stamps[0]),
              "service_us": 1e6 * service_cpu / max(n, 1), "publish_s": stamps[-1] - stamps[0]}
    latencies = []
    j = 0
    for k, published in enumerate(stamps):
        while j < len(commits) and commits[j][1] <= k:
            j += 1
        if j < len(commits):
            latencies.append(commits[j][0] - published)
    latencies.sort()
    if latencies:
        result["p50_ms"] = 1000 * latencies[len(latencies) // 2]
        result["p99_ms"] = 1000 * latencies[int(len(latencies) * 0.99)]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description="live end-to-end benchmark")
    ap.add_argument("--photometers", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--readings", type=int, default=60_000, help="readings for the throughput runs (< 65,535 in flight)")
    ap.add_argument("--latency-readings", type=int, default=20_000)
    ap.add_argument("--store", default="sqlite",
                    help="sqlite (a file), postgres (a throwaway local server) or a postgresql:// URL")
    ap.add_argument("--collectors", type=int, nargs="+", default=[1],
                    help="collectors sharing the reading topics (MQTT 5 shared subscription)")
    ap.add_argument("--no-floor", dest="floor", action="store_false",
                    help="skip the bare consumer measured after each throughput run")
    ap.add_argument("--publisher", choices=("raw", "paho"), default="raw",
                    help="raw: bench/rawpub.py writes QoS 1 packets straight to a socket (a few us a message); "
                         "paho: paho's publish (~125 us a message: the publisher becomes the bottleneck)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="a setting of the service under test, e.g. --set mqtt.receive_maximum=5000 (a TOML value)")
    args = ap.parse_args()
    for item in args.set:
        key, _, value = item.partition("=")
        SERVICE_SETTINGS["TESSDB_" + key.upper().replace(".", "__")] = value
    PUBLISHER_KIND[0] = args.publisher
    server = None
    if args.store == "postgres":
        from pgserver import PgServer

        server = PgServer().start()
    try:
        with tempfile.TemporaryDirectory(prefix="tessdb-live-") as tmp:
            measure(args, Path(tmp), server)
    finally:
        if server is not None:
            server.stop()


def measure(args: argparse.Namespace, tmp: Path, server) -> None:
    def store(tag: str) -> str:
        if server is not None:
            return server.fresh_database(tag)
        return "" if args.store == "sqlite" else args.store

    load = lambda: " ".join(f"{x:.2f}" for x in os.getloadavg())  # noqa: E731
    for collectors in args.collectors:
        for p in args.photometers:
            r = run(p, args.readings, 0.0, tmp / f"t{p}-{collectors}", store(f"t{p}c{collectors}"), collectors)
            print(f"throughput  {p:>5} photometers, {collectors} collector(s), {args.store}: "
                  f"{r['rate']:>9,.0f} readings/s "
                  f"({r['stored']:,}/{r['readings']:,} stored in {r['seconds']:.1f} s, published in {r['publish_s']:.1f} s; "
                  f"service CPU {r['service_us']:.0f} us/reading = {1e6 / r['service_us']:,.0f} readings/s of one core; "
                  f"RSS {r['rss_mb']:.0f} MB; load {load()})", flush=True)
            if args.floor:
                f = run(p, args.readings, 0.0, tmp / f"f{p}-{collectors}", store(f"f{p}c{collectors}"), bare=True)
                target = 1.2 if args.store == "sqlite" else 0.8
                print(f"floor       {p:>5} photometers, bare consumer, {args.store}: {f['rate']:>9,.0f} readings/s "
                      f"({f['stored']:,} stored in {f['seconds']:.1f} s, published in {f['publish_s']:.1f} s; CPU {f['service_us']:.0f} us/reading); "
                      f"ratio {r['rate'] / f['rate']:.2f}x (target >= {target}x; load {load()})", flush=True)
    if args.latency_readings:
        r = run(max(args.photometers), args.latency_readings, 1000.0, tmp / "lat", store("lat"))
        print(f"latency at 1,000 readings/s ({max(args.photometers)} photometers, daylight filter off, {args.store}): "
              f"p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms (target p99 < 250 ms; {r['stored']:,} stored; "
              f"service RSS {r['rss_mb']:.0f} MB; load {load()})", flush=True)


if __name__ == "__main__":
    main()
