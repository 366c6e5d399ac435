"""A real mosquitto broker for the tests, on a free loopback port.

``Broker.start(tmp_path)`` writes a config (persistence on, no queue limits so
that a slow subscriber never loses QoS 1 messages), starts mosquitto and waits
until it accepts connections; ``stop()`` / ``restart()`` keep the same port and
persistence file, so a test can take the broker down in the middle of a burst.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or (Path("/usr/sbin/mosquitto").exists() and "/usr/sbin/mosquitto") or None


class Broker:
    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.host = HOST
        self.proc: subprocess.Popen | None = None
        self.config = self.workdir / "mosquitto.conf"
        self.log = self.workdir / "mosquitto.log"

    def write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # as root, mosquitto would switch to its own user and then could not write here
        user = "user root\n" if os.geteuid() == 0 else ""
        self.config.write_text(
            user +
            f"listener {self.port} {HOST}\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 0\n"
            "max_inflight_messages 0\n"
            "max_queued_bytes 0\n"
            "persistent_client_expiration 1d\n"
            f"log_dest file {self.log}\n"
        )

    def start(self) -> "Broker":
        exe = mosquitto_path()
        if exe is None:
            raise RuntimeError("mosquitto is not installed (apt-get install -y mosquitto)")
        self.write_config()
        self.proc = subprocess.Popen([exe, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
