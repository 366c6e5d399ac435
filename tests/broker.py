"""A real mosquitto broker for the tests, on a free loopback port.

``Broker.start(tmp_path)`` writes a config (persistence on, no queue limits so
that a slow subscriber never loses QoS 1 messages), starts mosquitto and waits
until it accepts connections; ``stop()`` / ``restart()`` keep the same port and
persistence file, so a test can take the broker down in the middle of a burst.

``Broker(..., log_all=True)`` makes mosquitto log every packet (``log_type all``), so
that a test can see what the broker received from a client: ``pubacks_from(client_id)``
counts the PUBACKs it got from that client (mosquitto 2.0 logs them as
``Received PUBACK from <client-id> (Mid: 12, RC:0)``).
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


def make_certificates(folder: Path) -> dict[str, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 (openssl)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = folder / "san.cnf"
    ext.write_text("subjectAltName = IP:127.0.0.1\n")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=tessdb test CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert),
        "-days", "2", "-extfile", str(ext))
    return {"ca": ca, "cert": cert, "key": key}


class Broker:
    def __init__(self, workdir: Path, port: int | None = None, users: dict[str, str] | None = None,
                 tls: bool = False, log_all: bool = False, extra: str = ""):
        self.workdir = Path(workdir)
        self.log_all = log_all
        #: more mosquitto.conf lines (e.g. "max_qos 0")
        self.extra = extra
        self.port = port or free_port()
        self.host = HOST
        self.proc: subprocess.Popen | None = None
        self.config = self.workdir / "mosquitto.conf"
        self.log = self.workdir / "mosquitto.log"
        self.users = users or {}
        self.certs = make_certificates(self.workdir / "certs") if tls else None

    def write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # as root, mosquitto would switch to its own user and then could not write here
        user = "user root\n" if os.geteuid() == 0 else ""
        auth = "allow_anonymous true\n"
        if self.users:
            passwords = self.workdir / "passwords"
            passwords.write_text("")
            for name, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), name, password], check=True,
                               capture_output=True)
            auth = f"allow_anonymous false\npassword_file {passwords}\n"
        tls = ""
        if self.certs:
            tls = (f"cafile {self.certs['ca']}\ncertfile {self.certs['cert']}\nkeyfile {self.certs['key']}\n"
                   "require_certificate false\n")
        self.config.write_text(
            user +
            f"listener {self.port} {HOST}\n" + tls + auth +
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 0\n"
            "max_inflight_messages 0\n"
            "max_queued_bytes 0\n"
            "persistent_client_expiration 1d\n"
            f"log_dest file {self.log}\n"
            + ("log_type all\n" if self.log_all else "")
            + (self.extra.rstrip("\n") + "\n" if self.extra else "")
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

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def pubacks_from(self, client_id: str) -> int:
        """How many PUBACKs mosquitto has received from ``client_id`` (the messages that
        client acknowledged), counted in the broker's log; needs ``log_all=True``."""
        if not self.log_all:
            raise RuntimeError("Broker(log_all=True) is needed to count the PUBACKs")
        if not self.log.exists():
            return 0
        return self.log.read_bytes().count(f"Received PUBACK from {client_id} (Mid: ".encode())
