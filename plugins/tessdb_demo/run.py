"""The demo's steps, in order: directory, broker, database, operator, service, fleet, wait, stop, plot, summary.

Every child process is started through :class:`~.children.Child` and stopped in
``finally`` (simulator, then service, then broker), whatever happens: an error,
Ctrl-C, SIGTERM.  The service is the real ``tessdb-core run``, configured only
through ``TESSDB_*`` environment variables (broker, admin port, database, inbox
and log file in the demo directory); the fleet is the real ``tessdb-core
simulate``.  The demo talks to the service like an operator: its admin API
(``/health/ready``, ``/v1/stats``, ``/v1/server/flush``, ``/v1/server/stop``).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tessdb_sim.fleet import Photometer
from tessdb_sim.generator import FleetConfig, fleet_of

from . import night as night_mod
from .brokers import HOST, Broker, Embedded, External, Mosquitto, free_port, mosquitto_path
from .children import Child, cli_args, environment
from .summary import Results, database_counts, explore_commands, format_summary, screened_clear, show_path
from tessdb_core import AdminClient, BadValue

__all__ = ["DemoConfig", "Demo", "DEMO_FILES", "PROGRESS_EVERY"]

#: seconds between two progress lines while the fleet runs
PROGRESS_EVERY = 5.0
#: the files a demo writes in its directory (``--keep`` replaces exactly these)
DEMO_FILES = ("tess.db", "tess.db-wal", "tess.db-shm", "tessdb-inbox.db", "tessdb-inbox.db-wal",
              "tessdb-inbox.db-shm", "tessdb.log", "service.err", "setup.log", "simulator.err", "simulator.json",
              "broker.log", "broker.err", "broker.ready", "mosquitto.conf")


@dataclass
class DemoConfig:
    workdir: Path
    photometers: int = 20
    hours: float = 16.0
    speed: float | None = None
    broker: tuple[str, int] | None = None
    embedded: bool = False
    keep: bool = False
    day: date | None = None
    seed: int = 1
    #: "now" in naive UTC (tests may pin it)
    now: datetime | None = None


class Interrupted(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: stop every child, then leave."""


class Demo:
    def __init__(self, cfg: DemoConfig, echo: Callable[[str], None] = print):
        self.cfg = cfg
        self.echo = echo
        self.dir = cfg.workdir.resolve()  # children run in it: every path they get is absolute
        self.db = self.dir / "tess.db"
        self.inbox = self.dir / "tessdb-inbox.db"
        self.log = self.dir / "tessdb.log"
        self.broker: Broker | None = None
        self.service: Child | None = None
        self.sim: Child | None = None
        self.http_port = 0
        self._sim_lines: list[str] = []
        self._sim_reader: threading.Thread | None = None

    # -- the plan (no side effects) -------------------------------------------------------------
    def plan(self) -> None:
        cfg = self.cfg
        now = cfg.now or datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        probe = FleetConfig(cfg.photometers, now, cfg.seed, night_mod.tess4c_share(cfg.photometers))
        self.fleet: list[Photometer] = fleet_of(probe)  # sites, models and names do not depend on the start
        self.star = night_mod.showcase(self.fleet)
        tz = night_mod.site_zone(self.star)
        day = cfg.day or night_mod.last_ended_night(now, tz, cfg.hours)
        self.night = night_mod.night_of(day, tz, cfg.hours)
        if self.night.end > now:
            raise BadValue(f"--date {day}: that night ({self.night.describe()}, at {self.star.name}'s site) "
                             "has not ended yet; give an earlier date")
        self.seconds = (self.night.end - self.night.start).total_seconds()
        self.speed = cfg.speed or self.seconds / night_mod.WALL_SECONDS
        self.tess4c = sum(p.four for p in self.fleet)
        self.malformed_rate = night_mod.malformed_rate(cfg.photometers, cfg.hours)
        self.place = f"Demo site of {self.star.name}"
        self.plot_path = self.dir / f"{self.star.name}-night-{day.isoformat()}.png"

    # -- the whole run --------------------------------------------------------------------------
    def run(self) -> Results:
        t0 = time.monotonic()
        self.plan()
        previous = _on_sigterm()
        results: Results | None = None
        try:
            self.prepare_dir()
            self.echo(f"tessdb-core demo: {self.cfg.photometers} simulated photometers ({self.tess4c} TESS4C), "
                      f"the night of {self.night.describe()}, about {self.seconds / self.speed:.0f} s at "
                      f"{self.speed:,.0f}x")
            self.echo(f"  working directory  {show_path(self.dir)}")
            self.start_broker()
            self.init_database()
            self.set_up_showcase()
            self.start_service()
            sim = self.run_fleet()
            received = self.wait_received(int(sim["messages"]))
            stats = self.flush_and_stats()
            self.stop_service()
            self.stop_broker()
            results = self.results(sim, stats, received)
            self.plot(results)
        except KeyboardInterrupt:
            self.echo("interrupted: stopping the simulator, the service and the broker")
            self.cleanup()
            self.echo(f"stopped; what was written so far is in {show_path(self.db)}")
            raise
        finally:
            self.cleanup()
            _restore_sigterm(previous)
        results.elapsed = time.monotonic() - t0
        self.echo("")
        for line in format_summary(results):
            self.echo(line)
        self.echo("")
        self.echo("Explore further (the service is stopped; these read the demo's files):")
        for line in explore_commands(self.db, self.inbox, self.star.name, f"{self.night.day:%Y-%m}", self.dir):
            self.echo(f"  {line}")
        if results.plot is None:
            raise OSError(f"the night plot was not written: {results.plot_error}")
        return results

    # -- steps ----------------------------------------------------------------------------------
    def prepare_dir(self) -> None:
        d = self.dir
        if d.exists() and not d.is_dir():
            raise BadValue(f"--dir {d} exists and is not a directory")
        if d.is_dir() and any(d.iterdir()):
            if not self.cfg.keep:
                raise BadValue(f"--dir {show_path(d)} is not empty: remove it, choose another --dir, or add --keep "
                                 "to run in it anyway (the demo's own files are replaced, others are left alone)")
            for name in DEMO_FILES:
                (d / name).unlink(missing_ok=True)
        d.mkdir(parents=True, exist_ok=True)

    def start_broker(self) -> None:
        cfg = self.cfg
        if cfg.broker is not None:
            broker: Broker = External(*cfg.broker)
        else:
            exe = None if cfg.embedded else mosquitto_path()
            if exe is not None:
                try:
                    self.broker = Mosquitto(exe, self.dir).start()
                    self.echo(f"  broker             {self.broker.describe()}")
                    return
                except OSError as exc:  # e.g. a confined mosquitto: the embedded broker will do
                    self.broker = None
                    self.echo(f"  note               mosquitto ({exe}) did not start: {exc}")
            _need_amqtt()
            broker = Embedded(self.dir)
        self.broker = broker
        broker.start()
        self.echo(f"  broker             {broker.describe()}")

    def _tessdb_env(self, log_file: bool = True) -> dict[str, str]:
        """The settings of every ``tessdb-core`` child; only the service writes the log file."""
        b = self.broker
        return environment({
            "TESSDB_ENV": "default",
            "TESSDB_MQTT__HOST": _toml(b.host),
            "TESSDB_MQTT__PORT": str(b.port),
            "TESSDB_MQTT__PROTOCOL": _toml(b.protocol),
            "TESSDB_MQTT__USERNAME": _toml(b.username or ""),
            "TESSDB_MQTT__CLIENT_ID": _toml(f"tessdb-demo-{b.port}-{self.http_port}"),
            "TESSDB_MQTT__SESSION_EXPIRY": "600",
            "TESSDB_HTTP__HOST": _toml(HOST),
            "TESSDB_HTTP__PORT": str(self.http_port),
            "TESSDB_HTTP__ENABLED": "true",
            "TESSDB_HTTP__TOKEN": "",
            "TESSDB_DBASE__URL": _toml(str(self.db.resolve())),
            "TESSDB_INBOX__PATH": _toml(str(self.inbox.resolve())),
            "TESSDB_LOGS__FILE": _toml(str(self.log.resolve()) if log_file else ""),
            "TESSDB_LOGS__CONSOLE": "false",
            "TESSDB_LOGS__LEVEL": '"info"',
            "TESSDB_STATS__INTERVAL": "86400",  # the counters must not restart during the demo
        })

    def _tool(self, *args: str) -> str:
        """Run one ``tessdb-core`` command to completion (output kept in setup.log)."""
        out = subprocess.run(cli_args(*args), cwd=self.dir, env=self._tessdb_env(log_file=False),
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        with open(self.dir / "setup.log", "a") as f:
            f.write(f"$ tessdb-core {' '.join(args)}\n{out.stdout}{out.stderr}\n")
        if out.returncode != 0:
            detail = (out.stderr.strip().splitlines() or ["no message"])[-1]
            command = " ".join(args[:2] if len(args) > 1 and not args[1].startswith("-") else args[:1])
            raise OSError(f"tessdb-core {command} failed: {detail}")
        return out.stdout

    def init_database(self) -> None:
        self.http_port = free_port()
        self._tool("init", "--db", str(self.db.resolve()))
        self.echo(f"  database           {show_path(self.db)} (new, tessdb-core init)")

    def set_up_showcase(self) -> None:
        p, db = self.star, str(self.db.resolve())
        site = p.site
        # the simulated sites have no elevation: 0 m, so that the IDA header is complete
        self._tool("location", "create", self.place, "--lon", str(site.longitude), "--lat", str(site.latitude),
                   "--elevation", "0", "--town", "Simulated", "--timezone", self.night.tz, "--db", db)
        since = (self.night.start - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
        args = ["instrument", "create", p.name, p.mac, "--model", p.model, "--firmware", p.firmware[0],
                "--authorise", "--location", self.place, "--since", since, "--db", db]
        for zp in p.zp:
            args += ["--zp", str(zp)]
        if p.four:
            for f in night_mod.filters_of(p):
                args += ["--filter", f]
        self._tool(*args)
        self.echo(f"  operator           {p.name} ({p.model}, {p.mac}) set up at \"{self.place}\" "
                  f"(lon {site.longitude}, lat {site.latitude}); the others will register themselves")

    def start_service(self) -> None:
        self.service = Child("service", cli_args("run"), self.dir, self._tessdb_env(), self.dir / "service.err",
                             self.dir / "service.err")
        deadline = time.monotonic() + 60
        while True:
            self._check_alive()
            code = self._health()
            if code == 200:  # /health/ready: inbox and database writable, subscriptions granted
                break
            if time.monotonic() > deadline:
                raise OSError(f"the service did not connect to the broker within 60 s (health {code}); "
                              f"see {show_path(self.log)}")
            time.sleep(0.1)
        self.echo(f"  service            tessdb-core run (pid {self.service.pid}), admin API "
                  f"http://{HOST}:{self.http_port}/v1, log {show_path(self.log)}")

    def run_fleet(self) -> dict[str, Any]:
        b, cfg = self.broker, self.cfg
        args = ["simulate", "--photometers", str(cfg.photometers), "--broker", f"{b.host}:{b.port}",
                "--speed", f"{self.speed:g}", "--duration", f"{int(self.seconds)}",
                "--start", self.night.start.strftime("%Y-%m-%dT%H:%M:%SZ"), "--seed", str(cfg.seed),
                "--tess4c-share", repr(night_mod.tess4c_share(cfg.photometers)),
                "--malformed-rate", repr(self.malformed_rate), "--every", "1", "--json"]
        if b.username:
            args += ["--username", b.username]
        self.echo(f"  simulator          tessdb-core simulate: {cfg.photometers} photometers, "
                  f"{self.night.hours:g} h of night at {self.speed:,.0f}x, seed {cfg.seed}, "
                  f"{self.malformed_rate:.2%} malformed")
        out = self.dir / "simulator.json"
        self.sim = Child("simulator", cli_args(*args), self.dir, self._tessdb_env(log_file=False), out, None,
                         pipe_stderr=True)
        self._sim_reader = threading.Thread(target=self._read_sim, name="demo-sim-stderr", daemon=True)
        self._sim_reader.start()
        next_line = time.monotonic() + PROGRESS_EVERY
        while self.sim.running():
            self._check_alive()
            time.sleep(0.1)
            if time.monotonic() >= next_line:
                next_line += PROGRESS_EVERY
                self.echo(self._progress())
        rc = self.sim.wait()
        self._sim_reader.join(5)
        if rc != 0:
            tail = " | ".join(line for line in self._sim_lines[-3:])
            raise OSError(f"the simulator exited with code {rc}: {tail or 'no message'}")
        try:
            summary = json.loads(out.read_text())
        except ValueError:
            raise OSError(f"the simulator's summary in {show_path(out)} is not JSON") from None
        self.echo(f"  simulator          published {summary['messages']:,} messages ({summary['readings']:,} readings, "
                  f"{summary['registrations']:,} registrations, {summary['malformed']:,} malformed) "
                  f"in {summary['elapsed_s']:.1f} s, all acknowledged by the broker")
        return summary

    def _read_sim(self) -> None:
        with open(self.dir / "simulator.err", "a") as log:
            for line in self.sim.proc.stderr:
                log.write(line)
                self._sim_lines.append(line.rstrip("\n"))

    def _progress(self) -> str:
        sim_at = None
        for line in reversed(self._sim_lines):
            m = _SIM_PROGRESS.search(line)
            if m:
                sim_at = (datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"), m.group(2))
                break
        stats = self._stats(quiet=True) or {}
        clock = f"{self.night.local(sim_at[0]):%H:%M}" if sim_at else "--:--"
        sent = sim_at[1] if sim_at else "0"
        stored = stats.get("stored", 0)
        quarantined = sum((stats.get("quarantined") or {}).values())
        dropped = sum(((stats.get("filter") or {}).get("dropped") or {}).values())
        return (f"    night at {clock}: {sent} messages sent, {stored:,} readings stored, "
                f"{dropped:,} dropped by day, {quarantined:,} quarantined")

    def wait_received(self, total: int) -> int:
        """Wait until the service has taken in every message the broker acknowledged."""
        deadline = time.monotonic() + max(60.0, total / 200)
        received = 0
        while time.monotonic() < deadline:
            self._check_alive()
            stats = self._stats(quiet=True)
            received = (stats or {}).get("mqtt", {}).get("num_published", 0)
            if received >= total:
                return received
            time.sleep(0.2)
        self.echo(f"  warning: the service took in {received:,} of {total:,} messages in time; stopping it anyway "
                  "(the rest stays in the broker)")
        return received

    def flush_and_stats(self) -> dict[str, Any]:
        self._api("POST", "/v1/server/flush")
        return self._stats() or {}

    def stop_service(self) -> None:
        service = self.service
        try:
            self._api("POST", "/v1/server/stop")
        except OSError:
            service.proc.send_signal(signal.SIGTERM)
        try:
            rc = service.wait(60)
        except subprocess.TimeoutExpired:
            rc = service.stop(5)
        self.echo(f"  service            stopped (exit code {rc}): filter windows released, every buffer written")

    def stop_broker(self) -> None:
        if self.broker is not None and self.broker.child is not None:
            self.broker.stop()
            self.echo("  broker             stopped")

    def results(self, sim: dict[str, Any], stats: dict[str, Any], received: int) -> Results:
        from tessdb_core import Quarantine

        models, readings = database_counts(self.db)
        q = Quarantine(self.inbox)
        try:
            quarantine = q.count()
        finally:
            q.close()
        r = Results(photometers=models, readings=readings, quarantine=quarantine,
                    dropped=dict((stats.get("filter") or {}).get("dropped") or {}),
                    register=dict(stats.get("dbase_register") or {}), sim=sim, received=received)
        if received < sim["messages"]:
            r.notes.append(f"the service took in {received:,} of the {sim['messages']:,} messages published")
        try:
            r.clear = screened_clear(self.db, {p.name: (p.site.longitude, p.site.latitude) for p in self.fleet})
        except ImportError as exc:  # the sky extra (numpy, pyerfa) is not installed
            r.notes.append(f"no cloud screening: {exc}")
        return r

    def plot(self, results: Results) -> None:
        p = self.star
        try:
            self._tool("plot", "night", p.name, "--date", self.night.day.isoformat(), "--out", str(self.plot_path),
                       "--db", str(self.db.resolve()))
        except OSError as exc:
            results.plot_error = str(exc)
            return
        results.plot = self.plot_path
        self.echo(f"  plot               {show_path(self.plot_path)} (tessdb-core plot night {p.name} "
                  f"--date {self.night.day})")

    # -- helpers --------------------------------------------------------------------------------
    def cleanup(self) -> None:
        """Stop whatever still runs: simulator, service (gracefully: it writes what it holds), broker."""
        for child, timeout in ((self.sim, 10.0), (self.service, 60.0)):
            if child is not None:
                child.stop(timeout)
        if self.broker is not None:
            self.broker.stop()

    def _check_alive(self) -> None:
        if self.service is not None and not self.service.running():
            tail = self.service.tail() or _last_error(self.log)
            raise OSError(f"the service exited with code {self.service.proc.returncode}"
                          + (f": {tail}" if tail else f"; see {show_path(self.log)}"))
        if self.broker is not None and not self.broker.running():
            raise OSError(f"the broker exited with code {self.broker.child.proc.returncode}; "
                          f"see {show_path(self.dir / 'broker.log')}")

    def _api(self, method: str, path: str, timeout: float = 30.0) -> Any:
        return AdminClient(HOST, self.http_port).request(method, path, timeout=timeout)

    def _stats(self, quiet: bool = False) -> dict[str, Any] | None:
        try:
            return self._api("GET", "/v1/stats", timeout=10)
        except OSError:
            if quiet:
                return None
            raise

    def _health(self) -> int | None:
        return AdminClient(HOST, self.http_port).status("/health/ready", timeout=2)


_SIM_PROGRESS = re.compile(r"at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)Z: ([\d,]+) sent")


def _toml(text: str) -> str:
    """A TOML string for a ``TESSDB_*`` variable (JSON's escapes are TOML's)."""
    return json.dumps(text)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _last_error(log: Path) -> str:
    lines = [line for line in _read(log).splitlines() if "ERROR" in line or "CRITICAL" in line]
    return lines[-1].strip() if lines else ""


def _need_amqtt() -> None:
    try:
        import amqtt.broker  # noqa: F401
    except ImportError:
        raise OSError("mosquitto is not installed and the embedded broker needs the amqtt package: "
                      "python3 -m pip install amqtt (or install mosquitto, or give --broker HOST:PORT)") from None


def _on_sigterm():
    """SIGTERM stops the demo like Ctrl-C (children stopped in order); returns the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise Interrupted()

    return signal.signal(signal.SIGTERM, handler)


def _restore_sigterm(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)
