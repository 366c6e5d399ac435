"""The live service: MQTT -> durable inbox -> pipeline -> store, in one thread.

Start order: store open (catalogue loaded), inbox replayed (rebuilding the filter
windows from the entries still waiting), admin API, MQTT.  Each turn of the loop:
carry out the requested controls (signals, admin API), read a burst from the
broker, commit it to the inbox and only then acknowledge it, feed the inbox to
the pipeline in arrival order (unless paused), and commit the outcomes at most
``[inbox] flush_interval`` seconds after they were decided.

Signals only set flags: SIGHUP reload, SIGUSR1 pause, SIGUSR2 resume, SIGTERM and
SIGINT stop (held filter readings released and written, buffers written, the
inbox left consistent).
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future
from typing import Any, Callable

from loguru import logger

from . import logs
from .app import App, tune_gc_for_throughput
from .contracts import StoreBusy
from .inbox import Inbox, LocalFile
from .mqtt import MqttSource
from .pipeline import Pipeline
from .quarantine import Quarantine
from .settings import SettingsError
from .stats import Stats

log = logger.bind(ns="server")


class Service:
    """Owns every long-lived part; only its own thread touches them."""

    def __init__(self, app: App):
        self.app = app
        self.settings = app.settings
        self.store = app.store()
        self.file = LocalFile(self.settings.inbox.path)
        self.inbox = Inbox(self.file)
        self.quarantine = Quarantine(self.file)
        self.stats = Stats()
        self.totals: Counter[str] = Counter()  # monotonic counters for /metrics
        self.pipeline: Pipeline | None = None
        self.mqtt: MqttSource | None = None
        self.paused = False
        self.running = False
        self.cursor = 0  # the last inbox id handed to the pipeline
        self.started = time.monotonic()
        #: the durations of the last 10,000 commits (for the /metrics histogram)
        self.write_latency: deque[float] = deque(maxlen=10_000)
        self._flags: set[str] = set()
        self._calls: queue.Queue[tuple[Callable[[], Any], Future]] = queue.Queue()
        self._last_write = time.monotonic()
        self._last_stats = time.monotonic()
        self._last_catalog_check = time.monotonic()
        self._blocked_until = 0.0  # while the database is held by another program
        self._blocked_since: float | None = None
        self.admin = None

    # -- called from other threads (admin API) and signal handlers -----------------------------
    def call(self, fn: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Run ``fn`` in the service thread between two turns of the loop; wait for its result."""
        future: Future = Future()
        self._calls.put((fn, future))
        return future.result(timeout)

    def request(self, flag: str) -> None:
        """Ask for reload / pause / resume / flush / stop (safe from a signal handler)."""
        self._flags.add(flag)

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, flag in ((signal.SIGHUP, "reload"), (signal.SIGUSR1, "pause"), (signal.SIGUSR2, "resume"),
                          (signal.SIGTERM, "stop"), (signal.SIGINT, "stop")):
            signal.signal(sig, lambda signum, frame, flag=flag: self.request(flag))

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        settings = self.settings
        log.info("============== tessdb-core starting: database {}, inbox {} ==============",
                 self.store.url, self.file.path)
        self.store.open()
        self.store.set_patience(None)  # the replay at start may wait for a held database
        self.pipeline = Pipeline(self.app.stages, settings, self.store, self.quarantine, self.stats)
        self.app.pm.hook.tessdb_startup(settings=settings)
        backlog = self.inbox.depth()
        if backlog:
            log.warning("Replaying {} inbox entries left by the previous run", backlog)
        self._drain(everything=True)
        self.store.set_patience(0.2)  # from now on: never block the loop on a held database
        if settings.http.enabled:
            from .admin import AdminServer

            self.admin = AdminServer(self)
            self.admin.start()
        self.mqtt = MqttSource(settings)
        tune_gc_for_throughput()
        self.running = True

    def run(self) -> int:
        """Run until stopped; return the exit status."""
        self._install_signals()
        self.start()
        try:
            while self.running:
                self.turn()
        finally:
            self.shutdown()
        return 0

    def turn(self) -> None:
        """One turn of the loop."""
        self._controls()
        if not self.running:
            return
        arrivals = self.mqtt.poll(0.02 if self._busy() else 0.2)
        if arrivals:
            self.inbox.add([a.message for a in arrivals])
            self.mqtt.ack(arrivals)
        if not self.paused:
            self._drain()
        self._periodic()

    def _busy(self) -> bool:
        return bool(self.pipeline and (self.pipeline.batch or self.pipeline.done)) and not self.paused

    def _drain(self, everything: bool = False) -> None:
        """Feed the inbox to the pipeline in arrival order; commit the outcomes when
        ``flush_interval`` has passed since the last commit (or at once for ``everything``).
        While another program holds the database, messages keep landing in the inbox and
        the pipeline waits (``StoreBusy``), retrying every half second."""
        if time.monotonic() < self._blocked_until:
            return
        pipeline = self.pipeline
        chunk = int(self.settings.inbox.chunk)
        try:
            while True:
                entries = self.inbox.after(self.cursor, chunk)
                for m in entries:
                    pipeline.process(m)
                    self.cursor = m.inbox_id
                if len(entries) < chunk or not everything:
                    break
                self._commit()
            if everything or time.monotonic() - self._last_write >= float(self.settings.inbox.flush_interval):
                self._commit()
        except StoreBusy as exc:
            self._blocked(exc)
        else:
            if self._blocked_since is not None:
                logger.bind(ns="dbase").warning("Database free again after {:.1f} s",
                                                time.monotonic() - self._blocked_since)
                self._blocked_since = None

    def _blocked(self, exc: StoreBusy) -> None:
        if self._blocked_since is None:
            self._blocked_since = time.monotonic()
            logger.bind(ns="dbase").warning("{}; messages keep arriving into the inbox, writes retried", exc)
        self._blocked_until = time.monotonic() + 0.5

    def _commit(self) -> None:
        t0 = time.monotonic()
        self.pipeline.write()
        now = time.monotonic()
        self.write_latency.append(now - t0)
        self._last_write = now

    def _periodic(self) -> None:
        now = time.monotonic()
        if now - self._last_stats >= int(self.settings.stats.interval):
            self._last_stats = now
            self.log_stats()
        if not self.paused and now - self._last_catalog_check >= 1.0:
            self._last_catalog_check = now
            changed = getattr(self.store, "changed_elsewhere", None)
            if changed is not None and changed():
                self.pipeline.catalog = self.store.load_catalog()
                logger.bind(ns="dbase").info("Catalogue reloaded: the database was changed by another program")

    def log_stats(self) -> None:
        """The periodic summary lines of spec §8.2; then the counters restart."""
        for line in self.stats.log_lines():
            logger.bind(ns="stats").info(line)
        self._add_totals()
        self.stats.reset()

    def _add_totals(self) -> None:
        for group, values in self.stats.as_dict().items():
            if isinstance(values, dict):
                for k, v in _flat(values):
                    self.totals[f"{group}.{k}"] += v
            else:
                self.totals[group] += values

    def metrics_snapshot(self) -> dict[str, Any]:
        """Cumulative counters (totals + current interval) and gauges, for /metrics."""
        totals = Counter(self.totals)
        for group, values in self.stats.as_dict().items():
            if isinstance(values, dict):
                for k, v in _flat(values):
                    totals[f"{group}.{k}"] += v
            else:
                totals[group] += values
        lat = sorted(self.write_latency)
        return {
            "counters": dict(totals),
            "inbox_depth": self.inbox.depth(),
            "last_message_age": self.mqtt.silent_for() if self.mqtt else 0.0,
            "connected": bool(self.mqtt and self.mqtt.connected),
            "paused": self.paused,
            "write_seconds": lat,
        }

    def health(self) -> tuple[bool, str]:
        if self.mqtt is None or not self.mqtt.connected:
            return False, f"MQTT not connected: {self.mqtt.state if self.mqtt else 'starting'}"
        silent = self.mqtt.silent_for()
        if silent > float(self.settings.mqtt.silent_after):
            return False, f"connected but silent for {silent:.0f} s"
        backlog = self.inbox.depth()
        if self.paused:
            return False, f"paused; {backlog} messages waiting in the inbox"
        oldest = self.inbox.oldest()
        if oldest is not None and backlog > 10 * int(self.settings.inbox.chunk):
            return False, f"inbox not draining: {backlog} messages waiting"
        return True, "ok"

    # -- controls ---------------------------------------------------------------------------------
    def _controls(self) -> None:
        while self._flags:
            flag = self._flags.pop()
            try:
                getattr(self, f"do_{flag}")()
            except Exception as exc:  # a failed control never stops the service
                log.error("{} failed: {}: {}", flag, type(exc).__name__, exc)
        while not self._calls.empty():
            fn, future = self._calls.get_nowait()
            try:
                future.set_result(fn())
            except Exception as exc:
                future.set_exception(exc)

    def do_pause(self) -> str:
        if not self.paused:
            try:
                self._commit()  # the processed readings first
            except StoreBusy:
                pass  # they stay in memory (and in the inbox) and are written after the resume
            self.store.close()
            self.paused = True
            log.warning("Database writer paused: every connection to {} closed; messages wait in the inbox",
                        self.store.url)
        return "Server paused operation"

    def do_resume(self) -> str:
        if self.paused:
            self.store.open()
            self.store.set_patience(0.2)
            self.pipeline.catalog = self.store.load_catalog()
            self.paused = False
            log.warning("Database writer resumed. Inbox size: {}", self.inbox.depth())
        return "Server resumed operation"

    def do_flush(self) -> str:
        if not self.paused:
            self.pipeline.flush()
            self._last_write = time.monotonic()
        return "Server flushed"

    def do_reload(self) -> str:
        log.warning("reloading server configuration")
        try:
            new = self.app.reload_settings()
        except SettingsError as exc:
            log.error("Reload refused, the previous settings stay in force: {}", exc)
            raise
        self._apply(new)
        return "Server reloaded"

    def do_stop(self) -> str:
        self.running = False
        return "Server stopping"

    def _apply(self, new: Any) -> None:
        old, self.settings = self.settings, new
        for key in _NOT_RELOADABLE:
            if old.get(key) != new.get(key):
                log.warning("setting {} changed from {!r} to {!r}: it takes effect at the next restart",
                            key, old.get(key), new.get(key))
        pipeline = self.pipeline
        pipeline.settings = new
        pipeline.buffer_size = int(new.dbase.buffer_size)
        for f in pipeline.filters:
            f.reconfigure(new)
        logs.reconfigure_levels(new)
        if self.mqtt is not None:
            self.mqtt.resubscribe(new)

    def shutdown(self) -> None:
        log.warning("Stopping: releasing the filter windows and writing every buffer")
        try:
            if self.mqtt is not None:
                self.mqtt.close()
            if self.pipeline is not None and not self.paused:
                try:
                    self.pipeline.flush()
                except StoreBusy as exc:
                    log.warning("{}: the readings not yet written stay in the inbox for the next start", exc)
            self.app.pm.hook.tessdb_shutdown(settings=self.settings)
        finally:
            if self.admin is not None:
                self.admin.stop()
            self.quarantine.close()
            self.store.close()
            log.warning("Stopped")


#: keys a reload cannot change (they are read at start)
_NOT_RELOADABLE = ("mqtt.host", "mqtt.port", "mqtt.client_id", "mqtt.protocol", "dbase.url", "inbox.path",
                   "http.host", "http.port", "filter.chain", "plugins.disabled")


def _flat(d: dict[str, Any], prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v
