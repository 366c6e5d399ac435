"""The systemd units in deploy/: each directive read and checked, then `systemd-analyze` (when
installed) verifies them and rates their sandbox offline.  systemd need not be PID 1 for that."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import PurePosixPath

import pytest

from tessdb_core import settings as s

from .units import DEPLOY, Unit, seconds

SERVICE = Unit(DEPLOY / "tessdb-core.service")
BACKUP = Unit(DEPLOY / "tessdb-backup.service")
TIMER = Unit(DEPLOY / "tessdb-backup.timer")
VENV_EXE = "/opt/tessdb-core/venv/bin/tessdb-core"
SETTINGS_ARGS = "--env production --settings /etc/tessdb/settings.toml"

#: the sandbox both services share: key -> value in force
SANDBOX = {
    "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes", "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "", "AmbientCapabilities": "", "PrivateDevices": "yes", "PrivateUsers": "yes",
    "PrivateIPC": "yes", "PrivateMounts": "yes", "ProtectProc": "invisible", "ProtectClock": "yes",
    "ProtectHostname": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes", "RemoveIPC": "yes",
    "MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native", "SystemCallErrorNumber": "EPERM",
    "UMask": "0027", "User": "tessdb", "Group": "tessdb", "LogsDirectory": "tessdb",
}

analyze = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(analyze is None, reason="systemd-analyze is not installed (apt-get install systemd)")


def production_paths() -> tuple[PurePosixPath, PurePosixPath, PurePosixPath]:
    """Where the service writes with deploy/settings.toml.example: database, inbox, log file."""
    st = s.load(DEPLOY / "settings.toml.example", env="production", environ={})
    return PurePosixPath(st.dbase.url), PurePosixPath(st.inbox.path), PurePosixPath(st.logs.file)


@pytest.mark.parametrize("unit", [SERVICE, BACKUP], ids=lambda u: u.path.name)
def test_the_sandbox_directives(unit):
    wrong = {k: unit.get("Service", k) for k, v in SANDBOX.items() if unit.get("Service", k) != v}
    assert not wrong, f"{unit.path.name}: {wrong}"
    filters = unit.all("Service", "SystemCallFilter")
    assert filters[0] == "@system-service" and "~@privileged @resources" in filters
    assert unit.get("Service", "EnvironmentFile") == "-/etc/tessdb/tessdb.env"


def test_the_collector_runs_the_venv_command_with_the_installed_settings():
    assert SERVICE.get("Service", "ExecStart") == f"{VENV_EXE} {SETTINGS_ARGS} run"
    assert SERVICE.get("Service", "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert SERVICE.get("Service", "KillSignal") == "SIGTERM" and SERVICE.get("Service", "KillMode") == "mixed"
    assert seconds(SERVICE.get("Service", "TimeoutStopSec")) >= 60  # the stop writes every buffer


def test_the_collector_reports_readiness_and_is_watched():
    assert SERVICE.get("Service", "Type") == "notify"
    assert SERVICE.get("Service", "NotifyAccess") == "main"  # ExecStart is the Python process itself
    watchdog = seconds(SERVICE.get("Service", "WatchdogSec"))
    # the loop turns at least every 0.2 s and notifies at half the period: a minute is generous,
    # short enough that a stuck collector is restarted within minutes
    assert 10 <= watchdog <= 300
    # READY=1 comes after the inbox replay: the start gets far longer than systemd's 90 s default
    assert seconds(SERVICE.get("Service", "TimeoutStartSec")) >= 600


def test_the_collector_restarts_on_failure_within_a_start_limit():
    assert SERVICE.get("Service", "Restart") == "on-failure"
    restart = seconds(SERVICE.get("Service", "RestartSec"))
    burst = int(SERVICE.get("Unit", "StartLimitBurst"))
    interval = seconds(SERVICE.get("Unit", "StartLimitIntervalSec"))
    assert restart >= 1 and 2 <= burst <= 10
    # a crash loop hits the limit (burst restarts fit in the interval) and the unit stays failed
    assert burst * restart < interval
    assert "StartLimitBurst" not in dict(SERVICE.sections["Service"])  # [Unit] keys, ignored in [Service]


def test_the_collector_may_write_exactly_where_its_settings_write():
    db, inbox, logfile = production_paths()
    writable = [PurePosixPath(p) for p in SERVICE.words("Service", "ReadWritePaths")]
    for path in (db, inbox):
        assert any(path.is_relative_to(w) for w in writable), f"{path} is read-only under ProtectSystem=strict"
    assert logfile.parent == PurePosixPath("/var/log") / SERVICE.get("Service", "LogsDirectory")
    assert PurePosixPath(SERVICE.get("Service", "WorkingDirectory")) in writable  # relative paths land there
    assert set(SERVICE.words("Service", "RestrictAddressFamilies")) == {"AF_INET", "AF_INET6", "AF_UNIX"}


def test_the_backup_service_and_its_timer():
    assert BACKUP.get("Service", "Type") == "oneshot"
    cmd = BACKUP.get("Service", "ExecStart")
    m = re.fullmatch(rf"{re.escape(VENV_EXE)} {re.escape(SETTINGS_ARGS)} backup --to (\S+) --keep (\d+)", cmd)
    assert m, cmd
    writable = [PurePosixPath(p) for p in BACKUP.words("Service", "ReadWritePaths")]
    db, inbox, _ = production_paths()
    assert PurePosixPath(m.group(1)) in writable and int(m.group(2)) >= 1
    assert db.parent in writable and inbox.parent in writable  # reading a WAL database writes its -shm
    assert BACKUP.get("Service", "PrivateNetwork") == "yes"
    assert BACKUP.words("Service", "RestrictAddressFamilies") == ["AF_UNIX"]
    assert TIMER.get("Timer", "OnCalendar") and TIMER.get("Timer", "Persistent") == "true"
    assert TIMER.get("Timer", "Unit") in (None, "tessdb-backup.service")  # the default: same name
    assert TIMER.get("Install", "WantedBy") == "timers.target"
    assert "[Install]" not in (DEPLOY / "tessdb-backup.service").read_text()  # started by the timer only


def test_the_installed_folders_match_the_units():
    """install.sh creates every folder a unit needs to write (ProtectSystem=strict fails the start
    when a ReadWritePaths= folder is missing)."""
    script = (DEPLOY / "install.sh").read_text()
    for path in set(SERVICE.words("Service", "ReadWritePaths") + BACKUP.words("Service", "ReadWritePaths")):
        assert f'"$R{path}"' in script, f"install.sh does not create {path}"


# -- systemd-analyze ------------------------------------------------------------------------------
def exposure(unit_file) -> float:
    out = subprocess.run([analyze, "security", "--offline=yes", str(unit_file)], capture_output=True, text=True)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out.stdout + out.stderr)
    assert m, out.stdout + out.stderr
    return float(m.group(1))


@needs_analyze
@pytest.mark.parametrize("name", ["tessdb-core.service", "tessdb-backup.service"])
def test_systemd_analyze_security_rates_the_sandbox_ok(name):
    # was 9.2 UNSAFE; the issue asks for below 5. Held tighter so that a weakened unit shows.
    assert exposure(DEPLOY / name) < 2.0


def verify(folder, *names) -> str:
    out = subprocess.run([analyze, "verify", *(str(folder / n) for n in names)], capture_output=True, text=True,
                         cwd=folder)
    return (out.stdout + out.stderr).strip() + ("" if out.returncode == 0 else f"\n(exit {out.returncode})")


def copy_units(tmp_path, **replace) -> None:
    """The units with the venv command pointed at this Python's (verify wants an executable)."""
    exe = shutil.which("tessdb-core") or sys.executable
    for name in ("tessdb-core.service", "tessdb-backup.service", "tessdb-backup.timer"):
        text = (DEPLOY / name).read_text().replace(VENV_EXE, exe)
        for old, new in replace.items():
            text = text.replace(old, new)
        (tmp_path / name).write_text(text)


@needs_analyze
def test_systemd_analyze_verify_accepts_the_units_without_a_word(tmp_path):
    copy_units(tmp_path)
    assert verify(tmp_path, "tessdb-core.service", "tessdb-backup.service", "tessdb-backup.timer") == ""


@needs_analyze
def test_control_systemd_analyze_verify_reports_a_misspelled_directive(tmp_path):
    copy_units(tmp_path, **{"ProtectSystem=strict": "ProtectSytem=strict"})
    assert "Unknown key 'ProtectSytem'" in verify(tmp_path, "tessdb-core.service")


@needs_analyze
def test_the_timer_calendar_is_valid():
    out = subprocess.run([analyze, "calendar", TIMER.get("Timer", "OnCalendar")], capture_output=True, text=True)
    assert out.returncode == 0 and "Next elapse:" in out.stdout, out.stderr
