"""What mosquitto's persistence costs at the network's rate and at ten times it.

Why: the collector's persistent session (and what the broker queued in it) survives a broker
crash only if mosquitto saved it: ``autosave_interval`` bounds what a crash loses, and each save
rewrites the whole in-memory database.  For each setting, a real mosquitto (persistence on)
takes QoS 1 readings (~250 bytes) from 1,000 photometers at one a minute each (17/s) and at
ten times that, while the collector is connected (acknowledging at once) and while it is away
(the broker queues everything for it).  Printed: the broker's CPU seconds and bytes written
(``/proc/<pid>/io``) per minute, and the size of its database file at the end.

    python bench/broker_autosave.py --seconds 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SETTINGS = {
    "every 60 s": "autosave_interval 60",
    "every 5 s": "autosave_interval 5",
    "every 100 changes": "autosave_on_changes true\nautosave_interval 100",
}
RATES = {"1x (17/s)": 1000 / 60, "10x (170/s)": 10000 / 60}
PAYLOAD = ('{"name": "stars%d", "seq": %d, "freq": 10.01, "mag": 20.51, "tamb": 5.3, "tsky": -3.2, '
           '"wdBm": -60, "tstamp": "2026-11-30T01:02:03", "rev": 2, "az": 0, "alt": 90, "ZP": 20.5}')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(folder: Path, setting: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    user = "user root\n" if os.geteuid() == 0 else ""
    conf = folder / "mosquitto.conf"
    conf.write_text(f"{user}listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
                    f"persistence_location {folder}/\nmax_queued_messages 1000000\nmax_queued_bytes 0\n"
                    f"persistent_client_expiration 1d\nlog_dest none\n{setting}\n")
    proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


def usage(pid: int) -> tuple[float, int]:
    """(CPU seconds, bytes written) of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    written = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/io").read_text().splitlines()
                   if line.startswith("write_bytes"))
    return cpu, written


def collector(port: int, stay: bool) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-collector", protocol=mqtt.MQTTv5)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 86400
    done = threading.Event()
    c.on_subscribe = lambda *a: done.set()
    c.connect("127.0.0.1", port, clean_start=False, properties=props)
    c.loop_start()
    c.subscribe("STARS4ALL/+/reading", qos=1)
    done.wait(10)
    if not stay:
        c.disconnect()
        c.loop_stop()
    return c


def run(setting: str, rate: float, stay: bool, seconds: float) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-autosave-"))
    proc, port = start_broker(folder, setting)
    try:
        col = collector(port, stay)
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
        pub.max_inflight_messages_set(1000)
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        cpu0, w0 = usage(proc.pid)
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < seconds:
            i = n % 1000
            pub.publish(f"STARS4ALL/stars{i}/reading", PAYLOAD % (i, n), qos=1)
            n += 1
            ahead = n / rate - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)
        time.sleep(1)
        cpu1, w1 = usage(proc.pid)
        elapsed = time.monotonic() - t0
        pub.disconnect()
        pub.loop_stop()
        if stay:
            col.disconnect()
            col.loop_stop()
        db = folder / "mosquitto.db"
        return {"messages": n, "cpu_s_per_min": (cpu1 - cpu0) * 60 / elapsed,
                "mb_written_per_min": (w1 - w0) * 60 / elapsed / 1e6,
                "db_kb": db.stat().st_size / 1024 if db.exists() else 0.0}
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--only", choices=list(SETTINGS), help="Measure one setting only.")
    args = ap.parse_args()
    print(f"{'autosave':<18} {'rate':<12} {'collector':<10} {'messages':>8} {'CPU s/min':>10} {'MB written/min':>15} "
          f"{'db KiB':>8}")
    for name, setting in SETTINGS.items():
        if args.only and name != args.only:
            continue
        for rate_name, rate in RATES.items():
            for stay in (True, False):
                r = run(setting, rate, stay, args.seconds)
                print(f"{name:<18} {rate_name:<12} {'connected' if stay else 'away':<10} {r['messages']:>8} "
                      f"{r['cpu_s_per_min']:>10.3f} {r['mb_written_per_min']:>15.3f} {r['db_kb']:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
