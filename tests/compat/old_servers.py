"""The real tessdb-server (4.x, 5.x) from the package registry, run as an operator runs it.

``server_venv(version)`` installs ``tessdb-server==<version>`` into a virtual environment
cached under ``/tmp/tessdb-compat-venvs/`` (keyed by version and Python), so only the first
run of a machine pays for the install (4.0.9: ~10 s; 5.1.0: ~30 s, it needs Python >= 3.12).
``OldServer`` starts one on a database file and a test broker, with the settings file and
environment the server reads, and stops it the way systemd would (SIGTERM).
"""

from __future__ import annotations

import fcntl
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from live_service import terminate
from broker import Broker, free_port
from polling import wait_for

CACHE = Path(os.environ.get("TESSDB_COMPAT_CACHE", "/tmp/tessdb-compat-venvs"))
#: the oldest Python each server installs on (5.x: Requires-Python >= 3.12)
NEEDS_PYTHON = {"4": (3, 9), "5": (3, 12)}

#: the [mqtt] section, the same in 4.x and 5.x (the broker and client id come from the environment)
MQTT_SECTION = """\
[mqtt]
keepalive = 60
tess_topic_register = "STARS4ALL/register"
tess_topics = ["STARS4ALL/+/reading"]
tess_whitelist = []
tess_blacklist = []
log_level = "info"
protocol_log_level = "info"
"""

# the 4.x settings file (reference-config/config-4.0.9.toml) with the look-ahead filter off and
# one reading per write, so every reading published is in the database at once
CONFIG_4X = """\
[tessdb]
log_level = "info"
log_selected = []
""" + MQTT_SECTION + """[filter]
depth = 7
enabled = false
log_level = "info"
[dbase]
secs_resolution = 1
auth_filter = false
buffer_size = 1
zp_threshold = 10
log_level = "info"
register_log_level = "info"
[stats]
interval = 3600
log_level = "info"
"""

# the 5.x settings file (reference-config/config-5.1.0.toml: 5.1.0 also needs [filter]
# disabled_for), daylight filter off, one reading per write
CONFIG_5X = """\
[stats]
interval = 3600
log_level = "info"
[http]
log_level = "info"
""" + MQTT_SECTION + """[filter]
depth = 7
log_level = "info"
flush_threshold = 6
disabled_for = []
[filter.loggers]
[filter.enable]
daylight = false
[filter.divisor]
[dbase]
auth_filter = false
buffer_size = 1
zp_threshold = 10
log_level = "info"
queue_size = 86400
"""


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.stdout.split()
    return (int(parts[0]), int(parts[1])) if out.returncode == 0 and len(parts) == 2 else None


def find_python(at_least: tuple[int, int]) -> str | None:
    """An interpreter of at least that version: this one, one on PATH, or one pyenv installed."""
    if sys.version_info[:2] >= at_least:
        return sys.executable
    candidates = [shutil.which(f"python3.{minor}") for minor in range(at_least[1], 20)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    candidates += sorted(glob.glob("/usr/local/bin/python3.*")) + sorted(glob.glob("/usr/bin/python3.*"))
    for python in filter(None, candidates):
        found = _version_of(python)
        if found is not None and found >= at_least:
            return python
    return None


def server_venv(version: str) -> Path:
    """A virtual environment with ``tessdb-server==version`` installed (cached; made once,
    under a lock, and used only when complete).  Skips when no suitable Python is found;
    fails, with pip's words, when the install fails."""
    needs = NEEDS_PYTHON[version.split(".")[0]]
    python = find_python(needs)
    if python is None:
        pytest.skip(f"tessdb-server {version} needs Python >= {needs[0]}.{needs[1]}: none found")
    major, minor = _version_of(python)
    venv = CACHE / f"tessdb-server-{version}-py{major}.{minor}"
    done = venv / ".installed"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
            out = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                                  "--disable-pip-version-check", f"tessdb-server=={version}"],
                                 capture_output=True, text=True, timeout=900)
            if out.returncode != 0:
                raise AssertionError(f"pip install tessdb-server=={version} failed:\n{out.stderr[-3000:]}")
            done.write_text(version + "\n")
    return venv


class OldServer:
    """One tessdb-server process (4.x: ``tessdb``; 5.x: ``tess-db-server``) in its own folder."""

    def __init__(self, version: str, workdir: Path, broker: Broker, db_path: Path, client_id: str):
        self.version = version
        self.major = int(version.split(".")[0])
        self.venv = server_venv(version)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.broker = broker
        self.db_path = Path(db_path).resolve()
        self.client_id = client_id
        self.log_file = self.workdir / "server.log"
        self.proc: subprocess.Popen | None = None
        # only what the server reads, as its environment file gives it (tessdb.env)
        self.env = {"PATH": f"{self.venv / 'bin'}:/usr/bin:/bin", "HOME": str(self.workdir), "LANG": "C.UTF-8",
                    "MQTT_USERNAME": "", "MQTT_PASSWORD": "", "MQTT_CLIENT_ID": client_id}
        if self.major == 4:
            (self.workdir / "config.toml").write_text(CONFIG_4X)
            self.env.update(MQTT_BROKER=f"tcp:{broker.host}:{broker.port}", DATABASE_URL=str(self.db_path))
            self.argv = [str(self.venv / "bin" / "tessdb"), "-c", "config.toml", "--log-file", str(self.log_file)]
            self.subscribes = 1  # one SUBSCRIBE with both topics
        else:
            (self.workdir / "config.toml").write_text(CONFIG_5X)
            self.env.update(DATABASE_URL=f"sqlite+aiosqlite:///{self.db_path}", MQTT_TRANSPORT="tcp",
                            MQTT_HOST=broker.host, MQTT_PORT=str(broker.port), ADMIN_HTTP_LISTEN_ADDR="127.0.0.1",
                            ADMIN_HTTP_PORT=str(free_port()))
            self.argv = [str(self.venv / "bin" / "tess-db-server"), "-c", "config.toml", "--log-file",
                         str(self.log_file)]
            self.subscribes = 2  # one SUBSCRIBE per topic

    def start(self) -> "OldServer":
        """Start it and wait until the broker has confirmed its subscriptions (the broker's log)."""
        before = self.broker.log_text().count(f"Sending SUBACK to {self.client_id}")
        self.proc = subprocess.Popen(self.argv, cwd=self.workdir, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.workdir / "stderr.txt", "w"))

        def subscribed() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"tessdb-server {self.version} exited with {self.proc.returncode}:\n"
                                     f"{self.log()[-3000:]}\n{self.stderr()[-3000:]}")
            return self.broker.log_text().count(f"Sending SUBACK to {self.client_id}") >= before + self.subscribes

        wait_for(subscribed, 60, f"tessdb-server {self.version} to subscribe")
        return self

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, as ``systemctl stop``; None when it was not running."""
        if self.proc is None:
            return None
        rc, self.proc = terminate(self.proc, timeout), None
        return rc

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def stderr(self) -> str:
        path = self.workdir / "stderr.txt"
        return path.read_text(errors="replace") if path.exists() else ""
