"""The MQTT broker of the demo: the local mosquitto, else the embedded Python broker, or the user's.

Every broker the demo starts listens on 127.0.0.1 only, on a free port, and is
stopped by the demo.  mosquitto gets a generated config: no persistence (the
demo's broker lives for one run), no queue limits (a slow subscriber must not
lose QoS 1 messages), ``user root`` when running as root (mosquitto would
otherwise switch to its own user and could not write its log in the demo
directory).

The embedded broker (amqtt, :mod:`.embedded_broker`) speaks MQTT 3.1.1 only, so
the service is told to use 3.1.1 with it; and it keeps a persistent session
(``clean_session = false``) only for clients that give a user name, so every
demo client connects as ``tessdb-demo``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from tessdb_core import require
from .children import Child, environment

__all__ = ["Broker", "Mosquitto", "Embedded", "External", "free_port", "mosquitto_path", "wait_listening",
           "HOST", "USERNAME"]

HOST = "127.0.0.1"
#: the user name every demo client gives (the embedded broker keeps sessions only for named clients)
USERNAME = "tessdb-demo"
_MOSQUITTO_PLACES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/opt/homebrew/sbin/mosquitto")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def mosquitto_path() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return next((p for p in _MOSQUITTO_PLACES if os.access(p, os.X_OK)), None)


def wait_listening(host: str, port: int, child: Child | None, what: str, timeout: float = 15.0,
                   ready: Path | None = None) -> None:
    """Return when ``host:port`` accepts a TCP connection (or, given ``ready``, when that file
    exists); raise if ``child`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if child is not None and not child.running():
            tail = child.tail()
            raise OSError(f"{what} exited with code {child.proc.returncode} before listening on {host}:{port}"
                          + (f": {tail}" if tail else ""))
        if ready is not None:
            if ready.exists():
                return
        else:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return
            except OSError:
                pass
        if time.monotonic() >= deadline:
            raise OSError(f"{what} is not listening on {host}:{port} after {timeout:.0f} s")
        time.sleep(0.05)


class Broker:
    """What the rest of the demo needs to know about the broker."""

    host = HOST
    port = 0
    #: protocol the service should speak to it
    protocol = "5"
    #: user name for the service and the simulator (None: anonymous)
    username: str | None = USERNAME
    child: Child | None = None

    def describe(self) -> str:
        raise NotImplementedError

    def start(self) -> "Broker":
        return self

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop(10)

    def running(self) -> bool:
        return self.child is None or self.child.running()


class Mosquitto(Broker):
    def __init__(self, exe: str, workdir: Path):
        self.exe = exe
        self.workdir = workdir
        self.config = workdir / "mosquitto.conf"
        self.log = workdir / "broker.log"
        self.version = _mosquitto_version(exe)

    def describe(self) -> str:
        return f"mosquitto {self.version}".strip() + f" on {self.host}:{self.port}"

    def write_config(self) -> None:
        user = "user root\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
        self.config.write_text(
            "# written by tessdb-core demo: a broker for one run, on loopback only\n"
            + user
            + f"listener {self.port} {HOST}\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 0\n"
            "max_queued_bytes 0\n"
            "max_inflight_messages 0\n"
            f"log_dest file {self.log}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )

    def start(self) -> "Mosquitto":
        for attempt in range(3):  # the free port may be taken between the choice and the bind
            self.port = free_port()
            self.write_config()
            self.child = Child("mosquitto", [self.exe, "-c", str(self.config)], self.workdir, environment({}),
                               None, self.workdir / "broker.err")
            try:
                wait_listening(HOST, self.port, self.child, "mosquitto")
                return self
            except OSError:
                self.child.stop(5)
                if attempt == 2:
                    raise
        return self


class Embedded(Broker):
    protocol = "3.1.1"

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.log = workdir / "broker.log"

    def describe(self) -> str:
        return f"embedded Python broker (amqtt {_amqtt_version()}) on {self.host}:{self.port}"

    def start(self) -> "Embedded":
        require("amqtt", "demo", "the demo's embedded broker")
        for attempt in range(3):
            self.port = free_port()
            ready = self.workdir / "broker.ready"
            ready.unlink(missing_ok=True)
            args = [sys.executable, "-m", "tessdb_demo.embedded_broker", "--port", str(self.port),
                    "--log", str(self.log), "--ready", str(ready)]
            self.child = Child("embedded broker", args, self.workdir, environment({}), None,
                               self.workdir / "broker.err")
            try:
                wait_listening(HOST, self.port, self.child, "the embedded broker", timeout=30.0, ready=ready)
                ready.unlink(missing_ok=True)
                return self
            except OSError:
                self.child.stop(5)
                if attempt == 2:
                    raise
        return self


class External(Broker):
    """A broker the user runs (``--broker HOST:PORT``): used anonymously, never started nor stopped."""

    username = None

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port

    def describe(self) -> str:
        return f"the broker at {self.host}:{self.port} (not started by the demo)"

    def start(self) -> "External":
        wait_listening(self.host, self.port, None, f"the broker at {self.host}:{self.port}", timeout=5.0)
        return self


def _mosquitto_version(exe: str) -> str:
    try:
        out = subprocess.run([exe, "-h"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    for line in (out.stdout + out.stderr).splitlines():
        if "version" in line:
            return line.rsplit("version", 1)[1].strip()
    return ""


def _amqtt_version() -> str:
    try:
        from importlib.metadata import version

        return version("amqtt")
    except Exception:  # noqa: BLE001 - only for the description
        return "?"
