"""Run inside the booted container of test_systemd_boot.py, while tessdb-core.service runs:
a photometer registers with the collector's broker account, the operator authorises it (as the
README says, a maintenance command run as tessdb), it sends 10 readings; exits 0 once at least 7
are stored (the look-ahead filter holds the newest until the stop)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, sys.argv[1])  # the tests folder

import paho.mqtt.client as mqtt  # noqa: E402

from live_service import reading, registration  # noqa: E402

ENV = dict(line.split("=", 1) for line in open("/etc/tessdb/tessdb.env").read().splitlines()
           if line and not line.startswith("#"))
LOG = "/var/log/tessdb/tessdb.log"


def wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.1)


def log() -> str:
    return open(LOG).read()


def stored() -> int:
    with sqlite3.connect("/var/dbase/tess.db") as conn:
        return conn.execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0]


pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="stars1", protocol=mqtt.MQTTv311)
pub.username_pw_set(ENV["TESSDB_MQTT__USERNAME"], ENV["TESSDB_MQTT__PASSWORD"])
pub.connect("127.0.0.1", 1883)
pub.loop_start()


def send(messages) -> None:
    for topic, payload in messages:
        pub.publish(topic, payload, qos=1).wait_for_publish(10)


send([registration(1)])
wait(lambda: "registered: stars1" in log(), 30, "the registration")
reloads = log().count("Catalogue reloaded")
enable = subprocess.run(["runuser", "-u", "tessdb", "--", "env", f"LD_LIBRARY_PATH={os.environ['LD_LIBRARY_PATH']}",
                         "/opt/tessdb-core/venv/bin/tessdb-core", "--env", "production", "--settings",
                         "/etc/tessdb/settings.toml", "instrument", "enable", "stars1"],
                        cwd="/var/dbase", capture_output=True, text=True)
if enable.returncode:
    sys.exit(f"instrument enable failed: {enable.stderr}")
wait(lambda: log().count("Catalogue reloaded") > reloads, 10, "the service to see the change")
send([reading(1, seq) for seq in range(10)])
wait(lambda: stored() >= 7, 30, "the readings")
print(f"stored_while_running={stored()}")
