"""The collector runs the way tessdb-core.service starts it, as far as that can be done here
without systemd as PID 1: `--env production --settings deploy/settings.toml.example`, the
unit's UMask=0027, NoNewPrivileges=yes and MemoryDenyWriteExecute=yes (the kernel's own
PR_SET_MDWE, Linux 6.3+: the same refusal of writable+executable memory that systemd's seccomp
filter makes), and a notify socket with a watchdog period, as Type=notify and WatchdogSec= give.
The sandbox that needs PID 1 (mount namespaces, the system call filter) is checked directive by
directive in test_systemd_units.py."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from broker import free_port
from live_service import Publisher, reading, registration, wait_for

from .units import DEPLOY, Unit

UNIT = Unit(DEPLOY / "tessdb-core.service")
UMASK = int(UNIT.get("Service", "UMask"), 8)

#: exec a command after applying the unit's process restrictions (a launcher, so that no
#: preexec_fn runs in a forked copy of this threaded test process)
LAUNCHER = f"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
os.umask({UMASK:#o})
if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
    sys.exit("PR_SET_NO_NEW_PRIVS: errno %d" % ctypes.get_errno())
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(3)
os.execv(sys.argv[1], sys.argv[1:])
"""

W_X_MAP = ("import mmap\n"
           "try:\n"
           "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
           "    print('mapped')\n"
           "except PermissionError:\n"
           "    print('refused')\n")

# what a Python service does that could need executable memory: a ctypes callback (libffi
# closures), SQLite, TLS, the C extensions the collector loads
PYTHON_WORK = ("import ctypes, sqlite3, ssl\n"
               "cb = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(lambda x: x + 1)\n"
               "assert cb(41) == 42\n"
               "sqlite3.connect(':memory:').execute('select 1')\n"
               "ssl.create_default_context()\n"
               "print('ok')\n")


def confined(*argv: str, **kwargs) -> subprocess.CompletedProcess | subprocess.Popen:
    popen = kwargs.pop("popen", False)
    cmd = [sys.executable, "-c", LAUNCHER, *argv]
    return subprocess.Popen(cmd, **kwargs) if popen else subprocess.run(cmd, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def mdwe():
    if UNIT.get("Service", "MemoryDenyWriteExecute") != "yes":
        pytest.skip("the unit does not set MemoryDenyWriteExecute=yes")
    probe = confined(sys.executable, "-c", W_X_MAP)
    if probe.returncode == 3:
        pytest.skip(f"this kernel ({os.uname().release}) has no PR_SET_MDWE (Linux 6.3+)")
    # the control: the restriction is really in force in the launched process
    assert probe.returncode == 0 and probe.stdout.strip() == "refused", probe.stdout + probe.stderr


@pytest.mark.parametrize("python", sorted({sys.executable, *(p for p in ["/usr/bin/python3"] if Path(p).exists())}))
def test_python_works_without_writable_executable_memory(mdwe, python):
    """/usr/bin/python3 is what install.sh builds the venv with on Debian."""
    out = confined(python, "-c", PYTHON_WORK)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


@pytest.mark.live
def test_the_collector_runs_confined_as_the_unit_starts_it(mdwe, tmp_path, broker):
    work = tmp_path / "dbase"
    work.mkdir()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(30)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    env.update(TESSDB_DBASE__URL=str(work / "tess.db"), TESSDB_INBOX__PATH=str(work / "tessdb-inbox.db"),
               TESSDB_LOGS__FILE=str(tmp_path / "log" / "tessdb.log"), TESSDB_LOGS__CONSOLE="false",
               TESSDB_MQTT__HOST=broker.host, TESSDB_MQTT__PORT=str(broker.port),
               TESSDB_MQTT__CLIENT_ID=f"tessdb-sandbox-{broker.port}", TESSDB_HTTP__PORT=str(free_port()),
               TESSDB_HTTP__TOKEN=secrets.token_hex(20), TESSDB_INBOX__FLUSH_INTERVAL="0.05",
               # the example's auth_filter would hold back readings of an instrument nobody authorised
               TESSDB_DBASE__AUTH_FILTER="false",
               NOTIFY_SOCKET=str(tmp_path / "notify.sock"), WATCHDOG_USEC="1000000")
    (tmp_path / "log").mkdir()
    args = ["-m", "tessdb_core.cli", "--env", "production", "--settings", str(DEPLOY / "settings.toml.example")]
    init = confined(sys.executable, *args, "init", cwd=work, env=env)
    assert init.returncode == 0, init.stderr
    proc = confined(sys.executable, *args, "run", cwd=work, env=env, popen=True,
                    stdout=subprocess.DEVNULL, stderr=open(tmp_path / "stderr.txt", "w"))
    heard: list[str] = []

    def hear_until(state: str) -> None:
        while not any(m.startswith(state) for m in heard):
            heard.extend(notify.recv(4096).decode().split("\n"))

    try:
        hear_until("READY=1")
        log = tmp_path / "log" / "tessdb.log"
        wait_for(lambda: "subscriptions confirmed" in log.read_text(), 20, "the subscriptions")
        publisher = Publisher(broker.port)
        try:
            publisher.publish([registration(1)] + [reading(1, seq) for seq in range(10)])
        finally:
            publisher.close()

        def stored() -> int:
            with sqlite3.connect(work / "tess.db") as conn:
                return conn.execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0]

        # the look-ahead filter holds the newest few until the stop releases them
        wait_for(lambda: stored() >= 7, 30, "the readings to be stored")
        heard.clear()
        hear_until("WATCHDOG=1")  # at half the watchdog period while the loop turns
        proc.send_signal(signal.SIGTERM)
        hear_until("STOPPING=1")
        assert proc.wait(60) == 0, (tmp_path / "stderr.txt").read_text()
        assert stored() == 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()
    # UMask=0027: what the service created is not readable by others
    for path in (work / "tess.db", work / "tessdb-inbox.db", tmp_path / "log" / "tessdb.log"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o007 == 0 and mode & 0o600 == 0o600, f"{path.name}: {mode:#o}"
    assert "Traceback" not in (tmp_path / "stderr.txt").read_text()
