"""The whole deploy under a real systemd: this machine's own Debian booted in a container.

systemd is not PID 1 here, but `systemd-nspawn --boot` (package systemd-container) boots this
machine's root, seen through an overlay whose changes land in a tmpfs, with a private network.
In it, a one-shot unit runs install.sh (--no-apt), `systemctl restart mosquitto` (Debian's
unit and main file plus our snippet), `systemctl enable --now tessdb-core` (Type=notify: it
returns once the service said READY=1), `systemd-analyze security tessdb-core` (online), a
photometer through the broker into the database, 35 s of watchdog, `systemctl stop`.
The one concession: this test's Python (with the dependencies) is bound into the container at
/opt/tessdb-test-python, outside /root, which ProtectHome= hides; a drop-in gives the service its
LD_LIBRARY_PATH. Skipped when systemd-nspawn is absent (apt-get install systemd-container).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
PYTHON = "/opt/tessdb-test-python"

SCENARIO = rf"""#!/bin/bash
exec >/srv/t/out.txt 2>&1
set -x
export LD_LIBRARY_PATH={PYTHON}/lib
PY={PYTHON}/bin/python3
cd /srv/t
say() {{ echo "$1" >>/srv/t/results.txt; }}
bash src/deploy/install.sh --no-apt --python $PY --system-site-packages --pip-args "--no-deps --no-index" \
    --package wheel/*.whl && say install=0 || say install=$?
mkdir -p /etc/systemd/system/tessdb-core.service.d
printf '[Service]\nEnvironment=LD_LIBRARY_PATH={PYTHON}/lib\n' >/etc/systemd/system/tessdb-core.service.d/test-python.conf
systemctl daemon-reload
systemctl restart mosquitto
say "mosquitto=$(systemctl is-active mosquitto)"
systemctl enable --now tessdb-core && say enable=0 || say enable=$?
systemctl show tessdb-core -p Type -p ActiveState -p SubState -p WatchdogUSec -p NRestarts >>/srv/t/results.txt
say "security=$(systemd-analyze security tessdb-core | sed -n 's/.*Overall exposure level for tessdb-core.service: \([0-9.]*\).*/\1/p')"
$PY /srv/t/photometer.py /srv/t/src/tests >>/srv/t/results.txt && say photometer=0 || say photometer=$?
sleep 35
say "after_watchdog=$(systemctl show tessdb-core -p SubState --value)/$(systemctl show tessdb-core -p NRestarts --value)"
systemctl stop tessdb-core
say "stop=$(systemctl show tessdb-core -p Result --value)/$(systemctl show tessdb-core -p ExecMainStatus --value)"
say "stored=$($PY -c "import sqlite3; print(sqlite3.connect('/var/dbase/tess.db').execute('select count(*) from tess_readings_t').fetchone()[0])")"
say "db=$(stat -c %U:%G:%a /var/dbase/tess.db)"
journalctl -u tessdb-core --no-pager
say done
systemctl poweroff
"""

UNIT = """[Unit]
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/bash /srv/t/scenario.sh
[Install]
WantedBy=multi-user.target
"""

DRIVER = r"""
set -euo pipefail
B=$1 SRC=$2 WHEEL=$3 PYHOME=$4 FILES=$5
mount -t tmpfs tmpfs "$B"
mkdir -p "$B/upper" "$B/work" "$B/merged"
mount -t overlay overlay -o "lowerdir=/,upperdir=$B/upper,workdir=$B/work" "$B/merged"
M=$B/merged
mkdir -p "$M/srv/t/wheel" "$M/opt/tessdb-test-python" "$M/etc/systemd/system/multi-user.target.wants"
cp -a "$SRC" "$M/srv/t/src"
cp "$WHEEL" "$M/srv/t/wheel/"
cp "$FILES"/* "$M/srv/t/"
cp "$M/srv/t/scenario.service" "$M/etc/systemd/system/"
ln -sf /etc/systemd/system/scenario.service "$M/etc/systemd/system/multi-user.target.wants/"
# no network to wait for in the container (network-online.target would wait 2 minutes)
ln -sf /dev/null "$M/etc/systemd/system/systemd-networkd-wait-online.service"
rm -f "$M/etc/machine-id"
timeout 240 systemd-nspawn -q -D "$M" --private-network --register=no --link-journal=no --keep-unit \
    --bind-ro="$PYHOME:/opt/tessdb-test-python" --uuid="$6" --boot >"$B/../console.txt" 2>&1 || true
cp "$M/srv/t/out.txt" "$M/srv/t/results.txt" "$B/../" 2>/dev/null || true
"""


@pytest.fixture(scope="module")
def booted(source_and_wheel, tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if shutil.which("systemd-nspawn") is None:
        pytest.skip("systemd-nspawn is not installed (apt-get install systemd-container)")
    if not Path("/lib/systemd/systemd").exists() or not Path("/etc/mosquitto/mosquitto.conf").exists():
        pytest.skip("this machine's root has no systemd or no Debian mosquitto to boot")
    src, wheel = source_and_wheel
    t = tmp_path_factory.mktemp("boot")
    files = t / "files"
    files.mkdir()
    (files / "scenario.sh").write_text(SCENARIO)
    (files / "scenario.service").write_text(UNIT)
    shutil.copy(Path(__file__).with_name("boot") / "photometer.py", files / "photometer.py")
    (t / "fs").mkdir()
    run = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", DRIVER, "driver",
                          str(t / "fs"), str(src), str(wheel), sys.base_prefix, str(files), uuid.uuid4().hex],
                         capture_output=True, text=True, timeout=280)  # within pytest's 300 s
    results = t / "results.txt"
    if not results.exists():
        console = (t / "console.txt").read_text(errors="replace")[-3000:] if (t / "console.txt").exists() else ""
        if "done" not in console and ("Failed to" in console or not console):
            pytest.skip(f"systemd-nspawn could not boot this machine's root here: {run.stderr[-500:]} {console}")
        raise AssertionError(f"the scenario wrote nothing: {run.stderr}\n{console}")
    out = (t / "out.txt").read_text(errors="replace")
    return dict(line.split("=", 1) for line in results.read_text().splitlines() if "=" in line), out


def test_install_then_mosquitto_then_the_unit_under_systemd(booted):
    r, out = booted
    assert r.get("install") == "0", out[-3000:]
    assert r.get("mosquitto") == "active", out[-3000:]
    # Type=notify: `systemctl enable --now` returned once the service said READY=1
    assert r.get("enable") == "0" and r.get("Type") == "notify", out[-3000:]
    assert (r.get("ActiveState"), r.get("SubState"), r.get("WatchdogUSec")) == ("active", "running", "1min")


def test_systemd_analyze_security_online(booted):
    r, out = booted
    assert r.get("security") and float(r["security"]) < 2.0, out[-3000:]


def test_readings_flow_the_watchdog_is_fed_and_the_stop_is_clean(booted):
    r, out = booted
    assert r.get("photometer") == "0", out[-3000:]
    assert r.get("after_watchdog") == "running/0", out[-3000:]  # 35 s: no watchdog restart
    assert r.get("stop") == "success/0", out[-3000:]
    assert r.get("stored") == "10"
    assert re.fullmatch(r"tessdb:tessdb:640", r.get("db", "")), r.get("db")
