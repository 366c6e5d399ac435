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

Faults never stop the loop.  A database that cannot take writes (full disk, I/O
error, held by another program) leaves the messages in the inbox, acknowledged,
and is retried with a backoff.  An inbox that cannot take messages (full disk,
held by another program) means nothing more is acknowledged: the arrivals wait
in memory (the broker's receive maximum bounds them) and the broker keeps the
rest in the persistent session.  Both show on ``/health`` and ``/metrics``.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from loguru import logger

from . import logs
from .app import App, tune_gc_for_throughput
from .contracts import StoreBusy, StoreUnavailable
from .controls import ACTIONS, ServiceControls
from .errors import BadValue
from .housekeeping import InboxGuard, QuarantineBounds
from .inbox import Inbox
from .localfile import LocalFile, LocalFileUnavailable, sync
from .mqtt import Arrival, MqttSource
from .notices import Notices
from .outage import Outage
from .pipeline import Pipeline
from .quarantine import Quarantine
from .settings import SettingsError, is_secret, shown
from .stats import Stats
from .systemd import Notifier
from .telemetry import Telemetry

log = logger.bind(ns="server")


class Service:
    """Owns every long-lived part; only its own thread touches them."""

    def __init__(self, app: App):
        self.app = app
        self.settings = app.settings
        self.store = app.store()
        # a short lock wait: a program holding the inbox must never freeze the loop
        # commits are synced explicitly, in another thread, before their acknowledgement
        self.file = LocalFile(self.settings.inbox.path, busy_timeout=0.2, set_aside_corrupt=True,
                              sync_on_commit=False)
        self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tessdb-sync")
        self.inbox = Inbox(self.file)
        self.quarantine = Quarantine(self.file)
        self.stats = Stats()
        self.pipeline: Pipeline | None = None
        self.mqtt: MqttSource | None = None
        self.paused = False
        self.running = False
        self.cursor = 0  # the last inbox id handed to the pipeline
        self.backlog = False  # the inbox holds more after the cursor than the last turn handed on
        self.last_turn = time.monotonic()
        self._flags: set[str] = set()
        self._calls: queue.Queue[tuple[Callable[[], Any], Future]] = queue.Queue()
        self._last_write = time.monotonic()
        #: the database cannot take writes / the inbox cannot take messages (retried)
        self.store_outage = Outage(f"Database {self.store.url}", "dbase")
        self.inbox_outage = Outage(f"Inbox {self.file.path}", "server")
        #: arrived but not yet in the inbox (so not acknowledged), while the inbox cannot write
        self.held: list[Arrival] = []
        self._depth = 0  # the last inbox depth read (for /metrics when the file is held)
        #: events that may have cost data, shown on /health and to the alarms for an hour
        self.notices = Notices()
        self.inbox_guard = InboxGuard(self.file, self.inbox_outage, self.notices)
        self.quarantine_bounds = QuarantineBounds(self.quarantine, self.stats)
        self.telemetry = Telemetry(self)
        self.systemd = Notifier()
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
        for action in ACTIONS.values():
            for name in action.signals:
                signal.signal(getattr(signal, name), lambda signum, frame, flag=action.name: self.request(flag))

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        settings = self.settings
        log.info("============== tessdb-core starting: database {}, inbox {} ==============",
                 self.store.url, self.file.path)
        self.app.pm.hook.tessdb_startup(settings=settings)
        self._open_inbox()
        self.store.set_patience(None)  # the replay at start may wait for a held database
        self._open_store()
        if self.pipeline is not None and not self.inbox_outage.active:
            backlog = self.inbox_depth()
            if backlog:
                log.warning("Replaying {} inbox entries left by the previous run", backlog)
            self._drain(everything=True)
        self.store.set_patience(0.2)  # from now on: never block the loop on a held database
        controls = ServiceControls(self)
        if settings.http.enabled:
            from .admin import AdminServer

            self.admin = AdminServer(controls, settings)
            self.admin.start()
        self.mqtt = MqttSource(settings)
        tune_gc_for_throughput()
        self.running = True
        self.app.pm.hook.tessdb_service_started(controls=controls, settings=settings)
        self.systemd.ready(f"database {self.store.url}, inbox {self.file.path}")

    def _open_store(self) -> None:
        """Open the database and build the pipeline on its catalogue.  A database that
        cannot be opened now (a full disk leaves no room for its -wal file, an I/O error)
        is an outage: the inbox takes the messages meanwhile.  A file that is not a tessdb
        database stops the start (StoreError)."""
        try:
            self.store.open()
            self.pipeline = Pipeline(self.app.stages, self.settings, self.store, self.quarantine, self.stats)
        except StoreUnavailable as exc:
            self.store.close()
            self._store_failed(exc)

    def _open_inbox(self) -> None:
        """Open the inbox file (a damaged one is set aside, never overwritten); a full
        disk or a held file is an outage, retried, not a failed start."""
        try:
            self.file.conn()
        except LocalFileUnavailable as exc:
            self.inbox_outage.failed(_problem(exc), "nothing is acknowledged until it can be written; retrying")
            return
        self._report_set_aside()

    def _report_set_aside(self) -> None:
        if self.file.set_aside_as is not None:
            log.error("Inbox {} was not a usable SQLite file: set aside as {}, starting with an empty inbox "
                      "(recover what it held with `sqlite3 {} .recover`)", self.file.path, self.file.set_aside_as,
                      self.file.set_aside_as)
            self.file.set_aside_as = None

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
        """One turn of the loop: the inbox sync of this turn's arrivals runs in another
        thread while the pipeline works; they are acknowledged once it is done."""
        self.last_turn = time.monotonic()
        self._controls()
        self.systemd.alive()
        if not self.running:
            return
        arrivals = self.mqtt.poll((0.0 if self.backlog else 0.02) if self._busy() else 0.2)
        syncing = None
        if arrivals or (self.held and self.inbox_outage.ready()):
            syncing = self._admit(arrivals)
        if not self.paused:
            self._drain()
        if syncing is not None:
            self._acknowledge(*syncing)
        self._periodic()

    def _busy(self) -> bool:
        """Work is waiting (a backlog in the inbox, rows or outcomes not yet written): the
        next poll only looks at the socket instead of waiting for a message."""
        return bool(self.pipeline and (self.backlog or self.pipeline.batch or self.pipeline.done)) \
            and not self.paused and not self.store_outage.active

    def _admit(self, arrivals: list[Arrival]) -> tuple[list[Arrival], Future] | None:
        """Commit arrivals to the inbox and start its sync; return them with the sync to
        wait for before acknowledging.  While the inbox cannot be written, they wait here
        unacknowledged (None)."""
        mqtt = self.mqtt
        held = [a for a in self.held if a.connection == mqtt.connection] if self.held else []
        pending = held + arrivals if held else arrivals
        if self.inbox_outage.active and not self.inbox_outage.ready():
            self._hold(pending)
            return None
        try:
            self.inbox.add([a.message for a in pending])
            token = self.file.sync_token()
        except LocalFileUnavailable as exc:
            self.inbox_outage.failed(_problem(exc), "messages are not acknowledged (the broker keeps them); "
                                     "retrying")
            self._hold(pending)
            return None
        self.held = []
        return pending, self._syncer.submit(sync, token)

    def _acknowledge(self, arrivals: list[Arrival], synced: Future) -> None:
        """Acknowledge a burst once its inbox commit is on the disk."""
        try:
            synced.result()
        except OSError as exc:  # an I/O error: not known to be durable, so never acknowledged
            self.inbox_outage.failed(f"cannot be synced: {exc.strerror or exc}",
                                     "messages are not acknowledged; the broker sends them again")
            self.mqtt.drop_connection()
            return
        if not self.inbox_guard.still_ours():  # synced into a file no name reaches: not durable
            self.mqtt.drop_connection()
            return
        self.inbox_outage.recovered("takes messages again")
        self.mqtt.ack(arrivals)

    def _hold(self, pending: list[Arrival]) -> None:
        self.held = pending
        if len(pending) > _MOST_HELD:  # a broker without flow control: let it keep them instead
            log.warning("{} messages wait for the inbox: disconnecting; the broker keeps them in the session",
                        len(pending))
            self.held = []
            self.mqtt.drop_connection()

    def _drain(self, everything: bool = False) -> None:
        """Feed the inbox to the pipeline in arrival order; commit the outcomes when
        ``flush_interval`` has passed since the last commit (or at once for ``everything``).
        While the database or the inbox file cannot be written, the pipeline stops, keeps
        what it holds, and the loop retries with a backoff; messages keep landing in the
        inbox (while it can be written)."""
        if not (self.store_outage.ready() and self.inbox_outage.ready()):
            return
        if self.pipeline is None:
            self._open_store()
            if self.pipeline is None:
                return
        pipeline = self.pipeline
        chunk = int(self.settings.inbox.chunk)
        until = time.monotonic() + DRAIN_SLICE
        try:
            if pipeline.stalled is not None:
                self._commit()  # what could not be written first, in order
            while True:
                entries = self.inbox.after(self.cursor, chunk)
                for m in entries:
                    pipeline.process(m)
                    self.cursor = m.inbox_id
                    if pipeline.stalled is not None:
                        raise pipeline.stalled
                # a full chunk: more may wait. Catch up within this turn's slice, so that
                # the pipeline keeps pace with a burst; past it, poll and acknowledge first
                self.backlog = len(entries) == chunk
                if not self.backlog:
                    break
                if everything:
                    self._commit()
                elif time.monotonic() >= until:
                    break
            if everything or time.monotonic() - self._last_write >= float(self.settings.inbox.flush_interval):
                self._commit()
        except StoreUnavailable as exc:
            self._store_failed(exc)
        except LocalFileUnavailable as exc:
            self.inbox_outage.failed(_problem(exc), "outcomes are kept in memory and recorded once it can write")
        else:
            self._report_set_aside()
            self.store_outage.recovered("takes writes again")
            if not self.held and self.inbox_guard.lost is None:
                self.inbox_outage.recovered("takes messages again")

    def _store_failed(self, exc: StoreUnavailable) -> None:
        if isinstance(exc, StoreBusy):  # held by another program: retry every half second
            self.store_outage.failed(f"is locked by another program: {exc}",
                                     "messages keep arriving into the inbox, writes retried", delay=0.5)
        else:
            self.store_outage.failed(f"cannot take writes: {exc}",
                                     "readings wait in the inbox, retried with a backoff")

    def _commit(self) -> None:
        t0 = time.monotonic()
        self.pipeline.write()
        now = time.monotonic()
        self.telemetry.write_latency.append(now - t0)
        self._last_write = now

    def inbox_depth(self) -> int:
        try:
            self._depth = self.inbox.depth()
        except LocalFileUnavailable:
            pass  # held by another program: the last known depth
        return self._depth

    def _periodic(self) -> None:
        now = time.monotonic()
        self.telemetry.periodic(now)
        if not self.paused and self.pipeline is not None and not self.store_outage.active:
            try:
                self.pipeline.refresh_catalog()  # at most once a second
            except StoreUnavailable as exc:
                logger.bind(ns="dbase").debug("catalogue check put off: {}", exc)
        if self.inbox_outage.ready():
            self.inbox_guard.now_and_then()
            self.quarantine_bounds.keep(self.settings, now)

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
        if not self.paused and self.pipeline is not None:
            try:
                self._commit()  # the processed readings first
            except (StoreUnavailable, LocalFileUnavailable):
                pass  # they stay in memory (and in the inbox) and are written after the resume
            self.store.close()
            self.paused = True
            log.warning("Database writer paused: every connection to {} closed; messages wait in the inbox",
                        self.store.url)
        return "Server paused operation"

    def do_resume(self) -> str:
        if self.paused and self.pipeline is not None:
            self.store.open()
            self.store.set_patience(0.2)
            self.pipeline.reload_catalog()
            self.paused = False
            log.warning("Database writer resumed. Inbox size: {}", self.inbox_depth())
        return "Server resumed operation"

    def do_flush(self) -> str:
        if not self.paused and self.pipeline is not None:
            self.pipeline.flush()
            self._last_write = time.monotonic()
        return "Server flushed"

    def do_reload(self) -> str:
        log.warning("reloading server configuration")
        old = self.app.settings
        try:
            new = self.app.reload_settings()
            if self.admin is not None:
                self.admin.use(new)  # the new token from now on (a rotated one: the old is refused)
        except (SettingsError, BadValue) as exc:
            self.app.settings = old
            log.error("Reload refused, the previous settings stay in force: {}", exc)
            raise SettingsError(str(exc)) from None
        changes = self._apply(new)
        return f"Server reloaded; {changes}"

    def do_stop(self) -> str:
        self.running = False
        return "Server stopping"

    def _apply(self, new: Any) -> str:
        """Swap in a validated snapshot; log each changed key as applied or needing a restart (the
        schema says which) and return the same in one line, for the reply."""
        old, self.settings = self.settings, new
        applied, restart = [], []
        for key, reloadable in self.app.settings_changes(old, new):
            (applied if reloadable else restart).append(key)
            outcome = "applied" if reloadable else "needs a restart"
            if is_secret(key):  # never the value
                log.warning("setting {} changed: {}", key, outcome)
            else:
                log.warning("setting {} changed from {!r} to {!r}: {}", key, shown(key, old.get(key)),
                            shown(key, new.get(key)), outcome)
        if self.pipeline is not None:  # (else it is built later, on the settings in force then)
            self.pipeline.apply_settings(new)
        logs.reconfigure_levels(new)
        if self.mqtt is not None:
            self.mqtt.apply(new)
        self.app.pm.hook.tessdb_settings_reloaded(settings=new)
        if not applied and not restart:
            return "no setting changed"
        return "; ".join(f"{what}: {', '.join(keys)}" for what, keys in
                         (("applied", applied), ("needs a restart", restart)) if keys)

    def shutdown(self) -> None:
        log.warning("Stopping: releasing the filter windows and writing every buffer")
        self.systemd.stopping()
        try:
            if self.mqtt is not None:
                self.mqtt.close()
            if self.pipeline is not None and not self.paused:
                try:
                    self.pipeline.flush()
                except (StoreUnavailable, LocalFileUnavailable) as exc:
                    log.warning("{}: the readings not yet written stay in the inbox for the next start", exc)
            self.app.pm.hook.tessdb_shutdown(settings=self.settings)
        finally:
            if self.admin is not None:
                self.admin.stop()
            self._syncer.shutdown(wait=True)
            try:
                self.quarantine.close()
            except LocalFileUnavailable as exc:
                log.warning("{}: outcomes not recorded; their messages are replayed at the next start", exc)
            self.store.close()
            log.warning("Stopped")


#: most arrivals kept in memory while the inbox cannot write (MQTT 5's receive maximum
#: normally keeps far fewer); beyond it the connection is dropped and the broker keeps them
_MOST_HELD = 20_000
#: how long one turn may feed the inbox's backlog to the pipeline before it polls the broker
#: and acknowledges again (a burst is caught up in a few turns, the broker is never kept waiting long)
DRAIN_SLICE = 0.1


def _problem(exc: LocalFileUnavailable) -> str:
    return f"is held by another program: {exc.problem}" if exc.held else f"cannot be written: {exc.problem}"


