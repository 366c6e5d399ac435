"""Benchmark of the public listener (plugins/tessdb_web), while the service ingests a fleet.

1. The live service (``tessdb-core run`` against a real mosquitto, ``[web] enabled``) over a
   database of 1,000 photometers with their sites, while a publisher sends one reading per
   photometer and second... in a loop: ``GET /api/v1/photometers`` timed N times (p50, p99;
   goal p99 < 50 ms), and the status page opened in headless Chromium (Playwright) until its
   data is shown (``body[data-ready]``; goal < 1 s).
2. ``tessdb-core web --db large.db`` on bench/reports.py's large database (100 photometers,
   303 nights, 21.8 M readings; built on first use and cached): a month of one photometer's
   readings streamed as JSON and as CSV, time to the last byte (goal < 1 s).

    python bench/web.py                  # everything (the large database: a few minutes the first time)
    python bench/web.py --skip-large     # only the live part
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))
from broker import Broker, free_port  # noqa: E402

FAR = "2999-12-31 23:59:59.000000"

PUBLISHER = r'''
import json, sys, time
from datetime import datetime, timezone
import paho.mqtt.client as mqtt
port, photometers, rate, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-web-publisher")
c.max_inflight_messages_set(1000)
c.connect("127.0.0.1", port)
c.loop_start()
t0 = time.monotonic()
k = 0
while time.monotonic() - t0 < seconds:
    i = k % photometers + 1
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    c.publish(f"STARS4ALL/stars{i}/reading", json.dumps({"name": f"stars{i}", "seq": k // photometers,
              "freq": 10.0, "mag": 20.0 + (i % 7) / 10, "tamb": 5.0, "tsky": -3.0, "wdBm": -60, "tstamp": now}), qos=1)
    k += 1
    ahead = t0 + k / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
c.disconnect()
c.loop_stop()
print(k)
'''


def fleet_db(path: Path, photometers: int) -> None:
    """A database made by ``init`` with ``photometers`` TESS-W, each at a site of its own."""
    from tessdb_sqlite import SqliteStore

    SqliteStore(str(path)).initialise()
    conn = sqlite3.connect(path)
    for i in range(1, photometers + 1):
        mac = f"AA:BB:CC:{i >> 16:02X}:{(i >> 8) & 255:02X}:{i & 255:02X}"
        conn.execute("INSERT INTO location_t (location_id, longitude, latitude, elevation, place, town, sub_region, "
                     "region, country, timezone) VALUES (?,?,?,?,?,?,?,?,?,?)",
                     (1000 + i, -9.0 + (i % 40) * 0.3, 36.0 + (i // 40) * 0.3, 600.0, f"site {i}", f"town {i}",
                      "sub", "region", "Spain" if i % 5 else "Portugal", "Europe/Madrid"))
        conn.execute("INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, "
                     "nchannels, zp1, filter1, location_id, authorised) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                     (1000 + i, mac, "2026-01-01 00:00:00.000000", FAR, "Current", "TESS-W", 1, 20.5, "UV/IR-740",
                      1000 + i, 1))
        conn.execute("INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) "
                     "VALUES (?,?,?,?,?)", (f"stars{i}", mac, "2026-01-01 00:00:00.000000", FAR, "Current"))
    conn.commit()
    conn.close()


def get(url: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as r:
        n = len(r.read())
    return time.perf_counter() - t0, n


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            get(url)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer in {timeout:.0f} s")
            time.sleep(0.2)


def page_ready(url: str) -> tuple[list[float], list[float]]:
    """Seconds from navigation to the page's data shown, in headless Chromium, per load: as the
    page itself marks it (``painted``: the first frame after the markers and the table, on the
    page's own clock from the navigation's start) and as the driver sees ``body[data-ready]``
    (later by the driver's polling while the page is busy)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            marks, seen = [], []
            for _ in range(3):
                t0 = time.perf_counter()
                page.goto(url)
                page.wait_for_selector("body[data-ready='1']", timeout=60_000)
                seen.append(time.perf_counter() - t0)
                page.wait_for_function("() => performance.getEntriesByName('painted').length > 0", timeout=60_000)
                marks.append(page.evaluate("() => performance.getEntriesByName('painted')[0].startTime") / 1000)
            return marks, seen
        finally:
            browser.close()


def live(photometers: int, requests: int, rate: float, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    fleet_db(work / "tess.db", photometers)
    broker = Broker(work / "broker").start()
    web_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    admin_port = free_port()
    env.update(TESSDB_MQTT__PORT=str(broker.port), TESSDB_HTTP__PORT=str(admin_port),
               TESSDB_FILTER__ENABLE__DAYLIGHT="false", TESSDB_LOGS__LEVEL='"warning"',
               TESSDB_WEB__ENABLED="true", TESSDB_WEB__PORT=str(web_port))
    service = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", "run"], cwd=work, env=env,
                               stderr=open(work / "service.err", "w"))
    base = f"http://127.0.0.1:{web_port}"
    publisher = None
    try:
        wait_http(base + "/api/v1/about")
        publisher = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(broker.port), str(photometers), str(rate),
                                      str(requests / 20 + 60)], stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until every photometer has a reading in the service's memory
            data = json.loads(urllib.request.urlopen(base + "/api/v1/photometers", timeout=30).read())
            if data["counts"]["live"] == photometers:
                break
            time.sleep(0.5)
        times, floor, size = [], [], 0
        for _ in range(requests):
            dt, size = get(base + "/api/v1/photometers")
            times.append(dt)
            floor.append(get(f"http://127.0.0.1:{admin_port}/v1")[0])  # the smallest answer of the same process
        times.sort()
        floor.sort()
        p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
        with sqlite3.connect(work / "tess.db") as conn:
            stored = conn.execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0]
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"GET /api/v1/photometers, {photometers:,} photometers ({size / 1024:.0f} KiB), {requests} requests "
              f"while the service ingests {rate:.0f} readings/s: p50 {1000 * p50:.1f} ms, p99 {1000 * p99:.1f} ms "
              f"(goal p99 < 50 ms); {stored:,} readings stored meanwhile; for scale, the admin API's smallest "
              f"answer (GET /v1) from the same process meanwhile: p50 {1000 * floor[len(floor) // 2]:.1f} ms, "
              f"p99 {1000 * floor[int(len(floor) * 0.99)]:.1f} ms")
        marks, seen = page_ready(base + "/")
        print(f"status page, {photometers:,} photometers, navigation to data shown (headless Chromium, 3 loads): "
              f"page's own mark {', '.join(f'{m:.2f}' for m in marks)} s; seen by the driver "
              f"{', '.join(f'{t:.2f}' for t in seen)} s (goal < 1 s); load average {os.getloadavg()[0]:.1f} "
              f"on {os.cpu_count()} cores")
    finally:
        if publisher is not None:
            publisher.kill()
            publisher.wait()
        service.terminate()
        service.wait(60)
        broker.stop()


def large(cache: Path, work: Path) -> None:
    from reports import MONTH, LAST_DAY, database, name

    db = database(cache, "large")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT (SELECT COUNT(*) FROM tess_readings_t) + "
                            "(SELECT COUNT(*) FROM tess_readings4c_t)").fetchone()[0]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    env.update(TESSDB_LOGS__LEVEL='"warning"', TESSDB_INBOX__PATH=str(work / "inbox.db"))
    server = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", "web", "--db", str(db), "--port", str(port)],
                              cwd=work, env=env, stderr=open(work / "web.err", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(base + "/api/v1/about")
        path = f"/api/v1/photometers/{name(0)}/readings?from={MONTH}-01&to={LAST_DAY}T23:59:59Z"
        for fmt in ("json", "csv"):
            times, size = [], 0
            for _ in range(3):
                dt, size = get(f"{base}{path}&format={fmt}")
                times.append(dt)
            print(f"a month of {name(0)}'s readings as {fmt} ({size / 1e6:.1f} MB) from a {rows / 1e6:.1f} M-reading "
                  f"database, tessdb-core web: best {min(times):.2f} s, median {statistics.median(times):.2f} s "
                  f"(goal < 1 s)")
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description="public listener benchmark")
    ap.add_argument("--photometers", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--rate", type=float, default=500.0, help="readings per second published meanwhile")
    ap.add_argument("--cache", default="/tmp/tessdb-bench-reports", help="bench/reports.py's databases")
    ap.add_argument("--skip-large", action="store_true")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tessdb-bench-web-") as tmp:
        live(opts.photometers, opts.requests, opts.rate, Path(tmp) / "live")
        if not opts.skip_large:
            cache = Path(opts.cache)
            cache.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / "large").mkdir()
            large(cache, Path(tmp) / "large")


if __name__ == "__main__":
    main()
