"""Run by test_install_real_root.py INSIDE its private namespaces, after install.sh installed
into the (overlaid) real root: mosquitto started as Debian's mosquitto.service starts it, with the
unmodified /etc/mosquitto/mosquitto.conf, then the collector as the installed
tessdb-core.service says (ExecStart=, User=, Group=, WorkingDirectory=, EnvironmentFile=,
UMask=, NoNewPrivileges=, a notify socket and WatchdogSec=).  Prints what happened as JSON."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt  # noqa: E402

from deploy.units import Unit, seconds  # noqa: E402
from live_service import reading, registration  # noqa: E402

UNIT = Unit(Path("/etc/systemd/system/tessdb-core.service"))
RUN = Path("/run/tessdb-test")  # a tmpfs of the namespace


def env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def stored() -> int:
    with sqlite3.connect("/var/dbase/tess.db") as conn:
        return conn.execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0]


def main() -> None:
    result: dict = {}
    RUN.mkdir(parents=True)
    # -- mosquitto, as /lib/systemd/system/mosquitto.service starts it --------------------------
    for folder in ("/var/log/mosquitto", "/run/mosquitto"):
        os.makedirs(folder, 0o740, exist_ok=True)
        shutil.chown(folder, "mosquitto")
    broker = subprocess.Popen(["/usr/sbin/mosquitto", "-c", "/etc/mosquitto/mosquitto.conf"],
                              stderr=open(RUN / "mosquitto.err", "w"))
    try:
        wait(lambda: listening(1883) or broker.poll() is not None, 10, "mosquitto")
        result["mosquitto"] = broker.poll() is None
        if not result["mosquitto"]:
            result["mosquitto_said"] = (RUN / "mosquitto.err").read_text()[-2000:]
            return
        # -- the collector, as tessdb-core.service starts it ------------------------------------
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(RUN / "notify.sock"))
        os.chmod(RUN, 0o755)
        os.chmod(RUN / "notify.sock", 0o777)
        notify.settimeout(60)
        env = {"PATH": "/usr/bin:/bin", "NOTIFY_SOCKET": str(RUN / "notify.sock"),
               "WATCHDOG_USEC": str(int(seconds(UNIT.get("Service", "WatchdogSec")) * 1_000_000))}
        secrets = env_file(Path(UNIT.get("Service", "EnvironmentFile").lstrip("-")))
        env.update(secrets)
        user, group = UNIT.get("Service", "User"), UNIT.get("Service", "Group")
        as_unit = ["setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups"]
        if UNIT.get("Service", "NoNewPrivileges") == "yes":
            as_unit.append("--no-new-privs")
        umask = UNIT.get("Service", "UMask")
        cmd = ["sh", "-c", f'umask {umask} && exec "$@"', "sh", *as_unit, *UNIT.get("Service", "ExecStart").split()]
        service = subprocess.Popen(cmd, cwd=UNIT.get("Service", "WorkingDirectory"), env=env,
                                   stdout=subprocess.DEVNULL, stderr=open(RUN / "service.err", "w"))
        heard: list[str] = []
        try:
            while not any(m == "READY=1" for m in heard):
                heard.extend(notify.recv(4096).decode().split("\n"))
            result["ready"] = True
            log = Path("/var/log/tessdb/tessdb.log")
            wait(lambda: "subscriptions confirmed" in log.read_text(), 30, "the subscriptions")
            # a photometer with the collector's broker account (install.sh made just that one)
            pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="stars1", protocol=mqtt.MQTTv311)
            pub.username_pw_set(secrets["TESSDB_MQTT__USERNAME"], secrets["TESSDB_MQTT__PASSWORD"])
            connected = threading.Event()
            pub.on_connect = lambda c, u, f, rc, p: connected.set() if not rc.is_failure else None
            pub.connect("127.0.0.1", 1883)
            pub.loop_start()
            wait(connected.is_set, 10, "the photometer to connect")
            publish = lambda msgs: [pub.publish(tp, pl, qos=1).wait_for_publish(10) for tp, pl in msgs]  # noqa: E731
            publish([registration(1)])
            wait(lambda: "registered: stars1" in log.read_text(), 30, "the registration")
            # the example settings have auth_filter = true: the operator authorises the new
            # photometer, as the README says, with a maintenance command run as tessdb
            reloads = log.read_text().count("Catalogue reloaded")
            enable = subprocess.run([*as_unit, *UNIT.get("Service", "ExecStart").split()[:-1], "instrument", "enable",
                                     "stars1"], cwd="/var/dbase", env=env, capture_output=True, text=True)
            result["enable"] = enable.returncode
            if enable.returncode:
                result["enable_said"] = enable.stderr[-2000:]
                return
            # the service notices the change within a second (SQLite's data_version)
            wait(lambda: log.read_text().count("Catalogue reloaded") > reloads, 10, "the service to see the change")
            publish([reading(1, seq) for seq in range(10)])
            pub.disconnect()
            pub.loop_stop()
            wait(lambda: stored() >= 7, 30, "the readings")  # the look-ahead filter holds the newest
            heard.clear()
            while not any(m == "WATCHDOG=1" for m in heard):
                heard.extend(notify.recv(4096).decode().split("\n"))
            result["watchdog"] = True
            service.send_signal(signal.SIGTERM)
            result["exit"] = service.wait(60)
            result["stored"] = stored()
        except SystemExit as exc:
            result["failed"] = str(exc)
        finally:
            if service.poll() is None:
                service.kill()
            result["service_said"] = (RUN / "service.err").read_text()[-2000:]
            log = Path("/var/log/tessdb/tessdb.log")
            result["service_log"] = log.read_text()[-3000:] if log.exists() else ""
    finally:
        broker.terminate()
        broker.wait(10)
        print(json.dumps(result))


if __name__ == "__main__":
    main()
