"""mosquitto as Debian runs it: the packaged /etc/mosquitto/mosquitto.conf plus our conf.d snippet.

The main file is COPIED and only four of its lines are pointed into a temporary folder
(``pid_file``, ``persistence_location``, ``log_dest``, ``include_dir``); every other line is
kept as Debian ships it.  Our snippet (deploy/mosquitto-tessdb.conf) goes into that conf.d with
only its listener's port (a free one, still on 127.0.0.1) and its ``password_file`` changed.
Run as root, mosquitto drops to its own user exactly as on a real box, so the folders it writes
belong to that user and the password file is readable by its group (as install.sh makes it).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from broker import HOST, Broker, mosquitto_path

DEBIAN_MAIN = Path("/etc/mosquitto/mosquitto.conf")
SNIPPET = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto-tessdb.conf"
#: the lines of Debian's main file that would touch the real system: pointed into the temp folder
REWRITTEN = ("pid_file", "persistence_location", "log_dest", "include_dir")


def directives(text: str) -> list[tuple[str, str]]:
    """(key, rest) of every non-comment line of a mosquitto.conf."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, rest = line.partition(" ")
            out.append((key, rest.strip()))
    return out


def mosquitto_user() -> pwd.struct_passwd | None:
    """The user mosquitto drops to when started as root (None when not root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("mosquitto")
    except KeyError:
        return None


class DebianBroker(Broker):
    """tests/broker.py's Broker (start, stop, restart), with Debian's config instead of its own."""

    def __init__(self, main_conf: Path = DEBIAN_MAIN, snippet: str | None = None,
                 users: dict[str, str] | None = None, passwd_file: Path | None = None):
        # not under pytest's tmp_path: /tmp/pytest-of-root is 0700, mosquitto's user could not enter
        workdir = Path(tempfile.mkdtemp(prefix="tessdb-debian-mosquitto-"))
        workdir.chmod(0o755)
        super().__init__(workdir)
        self.dir = workdir
        self.main_conf = main_conf
        self.snippet = SNIPPET.read_text() if snippet is None else snippet
        self.users = {"tessdb": "broker-secret"} if users is None and passwd_file is None else (users or {})
        self.given_passwd = passwd_file
        self.stderr = self.dir / "stderr.txt"
        self.log = self.dir / "log" / "mosquitto.log"
        self.config = self.dir / "mosquitto.conf"
        self.conf_d = self.dir / "conf.d"
        self.passwd = self.dir / "passwd"
        self.rewritten: dict[str, str] = {}
        self._prepare()

    def write_config(self) -> None:
        """Written once, in __init__: a restart keeps the same files."""

    def _prepare(self) -> None:
        for sub in ("lib", "log", "run", "conf.d"):
            (self.dir / sub).mkdir()
        user = mosquitto_user()
        if user is not None:
            for sub in ("lib", "log", "run"):
                os.chown(self.dir / sub, user.pw_uid, user.pw_gid)
        # the main file: a copy, four lines pointed into the temp folder, the rest as shipped
        lines = []
        for line in self.main_conf.read_text().splitlines():
            key = line.split(None, 1)[0] if line.strip() and not line.lstrip().startswith("#") else ""
            if key == "pid_file":
                line = f"pid_file {self.dir / 'run' / 'mosquitto.pid'}"
            elif key == "persistence_location":
                line = f"persistence_location {self.dir / 'lib'}/"
            elif key == "log_dest" and line.split()[1:2] == ["file"]:
                line = f"log_dest file {self.log}"
            elif key == "include_dir":
                line = f"include_dir {self.conf_d}"
            if key in REWRITTEN:
                self.rewritten[key] = line
            lines.append(line)
        self.config.write_text("\n".join(lines) + "\n")
        # the password file, as install.sh makes it: root:mosquitto 0640
        if self.given_passwd is not None:
            shutil.copyfile(self.given_passwd, self.passwd)
        else:
            self.passwd.write_text("")
            for name, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(self.passwd), name, password], check=True,
                               capture_output=True)
        self.passwd.chmod(0o640)
        if user is not None:
            os.chown(self.passwd, 0, user.pw_gid)
        # our snippet: only its listener port and its password file changed
        snippet, n = re.subn(r"(?m)^listener 1883 127\.0\.0\.1$", f"listener {self.port} {HOST}", self.snippet)
        snippet = re.sub(r"(?m)^password_file .*$", f"password_file {self.passwd}", snippet)
        self.snippet_listeners = n
        (self.conf_d / "tessdb.conf").write_text(snippet)

    def start_expecting_failure(self, timeout: float = 10) -> int:
        """Start mosquitto and wait for it to exit (a refused configuration); its exit status."""
        with open(self.stderr, "ab") as err:
            return subprocess.run([mosquitto_path(), "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                  stderr=err, timeout=timeout).returncode

    def output(self) -> str:
        """What mosquitto said: its stderr and its log file."""
        text = self.stderr.read_text(errors="replace") if self.stderr.exists() else ""
        return text + self.log_text()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
