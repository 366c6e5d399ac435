"""The live service as a user runs it (`tessdb-core run` against a real mosquitto), for every test folder:
the service and publisher helpers, message builders.  The fixtures are in tests/live/conftest.py."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from broker import Broker, free_port
from polling import wait_for

HOST = "127.0.0.1"
BASE = datetime(2026, 11, 30, 0, 0, 0)


def terminate(proc: subprocess.Popen, timeout: float) -> int:
    """SIGTERM (as ``systemctl stop``), SIGKILL after ``timeout``; the exit status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class Service:
    """One `tessdb-core run` child process in its own working directory."""

    def __init__(self, cwd: Path, broker: Broker, extra_env: dict[str, str] | None = None):
        self.cwd = cwd
        self.broker = broker
        self.http_port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
        self.env.update(TESSDB_MQTT__HOST=HOST, TESSDB_MQTT__PORT=str(broker.port),
                        TESSDB_MQTT__CLIENT_ID=f"tessdb-test-{broker.port}",
                        TESSDB_MQTT__RECONNECT_MIN="0.2", TESSDB_MQTT__RECONNECT_MAX="1",
                        TESSDB_HTTP__PORT=str(self.http_port), TESSDB_INBOX__FLUSH_INTERVAL="0.05",
                        TESSDB_LOGS__FILE=str(cwd / "service.log"), TESSDB_LOGS__CONSOLE="false")
        self.env.update(extra_env or {})
        self.proc: subprocess.Popen | None = None
        self.runs = 0

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run([sys.executable, "-m", "tessdb_core.cli", *args], cwd=self.cwd, env=self.env,
                             capture_output=True, text=True, timeout=120)
        if check and out.returncode != 0:
            raise AssertionError(f"tessdb-core {' '.join(args)}: {out.stderr}")
        return out

    def start(self, *settings_args: str) -> "Service":
        if not (self.cwd / "tess.db").exists():
            self.cli("init")
        self.runs += 1
        self.proc = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", *settings_args, "run"],
                                     cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.cwd / f"stderr-{self.runs}.txt", "w"))
        wait_for(lambda: self.health_code() is not None, 20, "the admin API to answer")
        wait_for(self.ready, 20, "the service to be ready (/health/ready: subscribed, inbox and database writable)")
        return self

    def ready(self) -> bool:
        """``GET /health/ready`` answers 200 (a public path: no token needed)."""
        return self.health_code("/health/ready") == 200

    def log(self) -> str:
        path = self.cwd / "service.log"
        return path.read_text() if path.exists() else ""

    def health_code(self, path: str = "/health") -> int | None:
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.http_port}{path}", timeout=1) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return None

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 60) -> int:
        if self.proc is None:
            return 0
        rc, self.proc = terminate(self.proc, timeout), None
        return rc

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.cwd / "tess.db", timeout=30)

    def count(self, table: str = "tess_readings_t") -> int:
        with self.db() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


# -- messages -------------------------------------------------------------------------------------
def registration(i: int, at: datetime = BASE) -> tuple[str, str]:
    return "STARS4ALL/register", json.dumps({"name": f"stars{i}", "mac": f"AA:BB:CC:00:{i // 256:02X}:{i % 256:02X}",
                                             "calib": 20.5, "rev": 2, "tstamp": at.strftime("%Y-%m-%dT%H:%M:%S")})


def reading(i: int, seq: int, mag: float = 20.0, minutes: bool = True, **extra) -> tuple[str, str]:
    at = BASE + (timedelta(minutes=seq + 1) if minutes else timedelta(seconds=seq + 1))
    payload = {"name": f"stars{i}", "seq": seq, "freq": 10.0, "mag": mag, "tamb": 5.0, "tsky": -3.0, "wdBm": -60,
               "tstamp": at.strftime("%Y-%m-%dT%H:%M:%S"), **extra}
    return f"STARS4ALL/stars{i}/reading", json.dumps(payload)


def fleet(photometers: int, per_photometer: int) -> list[tuple[str, str]]:
    """Readings interleaved across photometers, in time order, all night (no zeros)."""
    return [reading(i, seq) for seq in range(per_photometer) for i in range(1, photometers + 1)]


class Publisher:
    """A QoS 1 paho publisher that never has more than ``window`` messages unacknowledged."""

    def __init__(self, port: int, client_id: str = "test-publisher"):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(HOST, port)
        self.client.loop_start()

    def publish(self, messages: Iterable[tuple[str, str]], rate: float | None = None, window: int = 2000,
                retain: bool = False) -> int:
        pending = []
        n = 0
        t0 = time.monotonic()
        for topic, payload in messages:
            pending.append(self.client.publish(topic, payload, qos=1, retain=retain))
            n += 1
            if len(pending) >= window:
                pending.pop(0).wait_for_publish(30)
            if rate:
                ahead = n / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        for info in pending:
            info.wait_for_publish(30)
        return n

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# -- fault tests (tests/live/test_faults_*.py) ----------------------------------------------------



def _ro_uri(path: Path, mode: str = "rw") -> str:
    """A SQLite URI that never creates the file (a test must not make the file it looks for)."""
    import urllib.parse

    return f"file:{urllib.parse.quote(str(path))}?mode={mode}"


class FaultService(Service):
    """A ``Service`` whose database and inbox may live outside its working directory (on a
    loop-mounted image, say), while its log and stderr stay in ``cwd``; with the admin API,
    metrics and row-counting helpers of the fault tests."""

    def __init__(self, cwd: Path, broker: Broker, db_path: Path | None = None, inbox_path: Path | None = None,
                 extra_env: dict[str, str] | None = None):
        self.db_path = Path(db_path) if db_path else cwd / "tess.db"
        self.inbox_path = Path(inbox_path) if inbox_path else cwd / "tessdb-inbox.db"
        env = {"TESSDB_DBASE__URL": str(self.db_path), "TESSDB_INBOX__PATH": str(self.inbox_path)}
        env.update(extra_env or {})
        super().__init__(cwd, broker, env)
        self.client_id = self.env["TESSDB_MQTT__CLIENT_ID"]

    def start(self, *settings_args: str, subscribed: bool = True) -> "FaultService":
        """Start ``tessdb-core run``; wait for the admin API, and (``subscribed``) for
        ``/health/ready`` (subscriptions granted, inbox and database writable).  Fails at once,
        with its stderr, if the process exits."""
        if not self.db_path.exists():
            self.cli("init")
        self.runs += 1
        self.proc = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", *settings_args, "run"],
                                     cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.cwd / f"stderr-{self.runs}.txt", "w"))

        def up(check: Callable[[], bool]) -> Callable[[], bool]:
            def condition() -> bool:
                if self.proc.poll() is not None:
                    raise AssertionError(f"tessdb-core run exited with {self.proc.returncode}: {self.stderr()}")
                return check()
            return condition

        wait_for(up(lambda: self.health_code() is not None), 20, "the admin API to answer")
        if subscribed:
            wait_for(up(self.ready), 20, "the service to be ready (/health/ready)")
        return self

    def stderr(self, run: int | None = None) -> str:
        path = self.cwd / f"stderr-{run or self.runs}.txt"
        return path.read_text(errors="replace") if path.exists() else ""

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(_ro_uri(self.db_path), uri=True, timeout=30)

    def inbox(self) -> sqlite3.Connection:
        return sqlite3.connect(_ro_uri(self.inbox_path), uri=True, timeout=30)

    def inbox_depth(self) -> int:
        with contextlib.closing(self.inbox()) as conn:
            return conn.execute("SELECT COUNT(*) FROM inbox_t").fetchone()[0]

    def quarantine_rows(self, reason: str | None = None) -> int:
        with contextlib.closing(self.inbox()) as conn:
            if reason is None:
                return conn.execute("SELECT COUNT(*) FROM quarantine_t").fetchone()[0]
            return conn.execute("SELECT COUNT(*) FROM quarantine_t WHERE reason = ?", (reason,)).fetchone()[0]

    def quarantine_counts(self) -> dict[str, int]:
        """``tessdb-core quarantine count --json``, as the operator sees it."""
        return json.loads(self.cli("quarantine", "count", "--json").stdout)

    def readings(self) -> tuple[int, int]:
        """(rows in tess_readings_t, distinct (instrument, sequence number) among them)."""
        with contextlib.closing(self.db()) as conn:
            return conn.execute("SELECT COUNT(*), COUNT(DISTINCT tess_id || '-' || sequence_number) "
                                "FROM tess_readings_t").fetchone()

    def http(self, method: str, path: str, timeout: float = 10) -> tuple[int | None, Any]:
        """(status, body): JSON decoded when it is JSON, else text; (None, why) when the
        admin API does not answer within ``timeout``."""
        import urllib.error
        import urllib.request

        req = urllib.request.Request(f"http://{HOST}:{self.http_port}{path}", method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, ctype, raw = r.status, r.headers.get("Content-Type", ""), r.read().decode()
        except urllib.error.HTTPError as e:
            status, ctype, raw = e.code, e.headers.get("Content-Type", ""), e.read().decode()
        except OSError as e:  # refused, or no answer in time
            return None, f"no answer: {e}"
        return status, (json.loads(raw) if ctype.startswith("application/json") and raw else raw)

    def health(self, timeout: float = 10) -> tuple[int | None, dict, float]:
        """(status, body, seconds it took to answer); status None when there was no answer."""
        t0 = time.monotonic()
        status, body = self.http("GET", "/health", timeout)
        if not isinstance(body, dict):
            body = {"reason": str(body)}
        return status, body, time.monotonic() - t0

    def wait_health(self, status: int, timeout: float, *, naming: str | Path | None = None) -> dict:
        """Wait until /health answers ``status`` (with ``naming`` in its reason); return the body."""
        seen: list[Any] = []

        def condition() -> bool:
            code, body, _ = self.health(timeout=5)
            seen[:] = [code, body]
            return code == status and (naming is None or str(naming) in body.get("reason", ""))

        try:
            wait_for(condition, timeout, f"/health to answer {status}" + (f" naming {naming}" if naming else ""))
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the last answer was {seen}") from None
        return seen[1]

    def metric(self, name: str) -> float | None:
        """The sum of the samples named ``name`` (any labels) in /metrics; None if absent."""
        status, text = self.http("GET", "/metrics")
        assert status == 200, f"/metrics answered {status}: {text}"
        values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                  if line and not line.startswith("#") and (line.split(" ", 1)[0].split("{", 1)[0] == name)]
        return sum(values) if values else None

    def metrics_text(self) -> str:
        return self.http("GET", "/metrics")[1]


def registrations(n: int, first: int = 1) -> list[tuple[str, str]]:
    return [registration(i) for i in range(first, first + n)]


#: readings are published all night long (no zeros), so without this the daylight filter would
#: only hold back the last readings of each photometer until a flush
NO_DAYLIGHT = {"TESSDB_FILTER__ENABLE__DAYLIGHT": "false"}
