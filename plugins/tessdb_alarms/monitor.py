"""The monitor: a daemon thread of the running service that checks it every
``[alarms] check_every`` through ``Controls`` (each call carried out in the service's own
thread), records what opens and clears in the state file, and delivers what is unsent.

One check: observe (``metrics()``, ``health()``, ``last_readings()``) -> advance the watch
-> decide (:mod:`.checks`) -> in ONE transaction: the alarms opened and cleared, their
notifications queued, the watch saved -> deliver every queued notification, oldest first.
A channel that fails is not tried again in the same check; the notification stays queued
and is retried at the next one.  A notification is deleted from the queue once delivered,
so a crash between the two repeats it at most once (at least once, never lost).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from loguru import logger

from . import checks, messages
from .config import AlarmSettings
from .notify import DeliveryError, deliver
from .state import MOST_UNSENT, AlarmState

log = logger.bind(ns="alarms")


class Monitor:
    def __init__(self, controls: Any, cfg: AlarmSettings, state: AlarmState,
                 monotonic: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time):
        self.controls = controls
        self.cfg = cfg
        self.state = state
        self._monotonic = monotonic
        self._wall = wall
        saved = state.watch()
        self._clock0 = saved.get("clock", 0.0)
        self._mono0 = monotonic()
        self.watch = checks.Watch(self._clock0, saved.get("last_progress", self._clock0),
                                  photometers=state.photometers())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unanswered = False
        self._observing = False  # waiting for the service's answer
        self._failing: dict[str, str] = {}  # channel -> its last error, while it fails

    # -- the thread -------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="tessdb-alarms", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop checking.  A check waiting for the service's answer is not waited for (the
        service is the one stopping: it will not answer; the check then records nothing); one
        recording or delivering is given ``timeout`` (the thread is a daemon and its file is
        transactional: a delivery cut short is repeated at the next start)."""
        self._stop.set()
        if self._thread is None or self._observing:
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("Alarms: a delivery was still under way at the stop; it is abandoned")
            return
        self.state.close()

    def _run(self) -> None:
        cfg, duration = self.cfg, checks.duration
        log.info("Alarms: checking every {} (stalled after {}, a photometer silent after {}), notifying by {}; "
                 "state in {}", duration(cfg.check_every), duration(cfg.stalled_after), duration(cfg.silent_after),
                 " and ".join(cfg.channels), cfg.state_path)
        while not self._stop.is_set():
            try:
                self.check()
            except Exception as exc:  # a failed check never ends the watch
                log.error("Alarms: the check failed: {}: {}", type(exc).__name__, exc)
            self._stop.wait(self.cfg.check_every)

    # -- one check --------------------------------------------------------------------------------
    def check(self) -> None:
        self._observing = True
        obs = self._observe()
        self._observing = False  # (before the test: a stopper that saw True knows we return here)
        if self._stop.is_set():
            return
        now = self._wall()
        watch, changed = checks.advance(self.watch, obs, self._clock0 + self._monotonic() - self._mono0)
        state = self.state
        with state.transaction() as conn:
            open_alarms = state.open_alarms()
            openings, clearings = checks.decide(watch, obs, set(open_alarms), self.cfg.stalled_after,
                                                self.cfg.silent_after, self.cfg.check_every)
            opened = [state.open_alarm(conn, o.key, o.kind, o.name, now, o.detail) for o in openings]
            cleared = [state.clear_alarm(conn, open_alarms[c.key], now, c.detail) for c in clearings]
            dropped = 0
            for note in messages.compose(opened, cleared, self.cfg.host, now, watch.photometers):
                dropped += state.queue(conn, note, self.cfg.channels, now)
            state.save_watch(conn, {"clock": watch.clock, "last_progress": watch.last_progress}, changed)
            state.prune(conn, now)
        self.watch = watch
        for a in opened:
            log.warning("Alarm {}: {}", " ".join(filter(None, (a.kind, a.name))), a.detail)
        for a in cleared:
            log.warning("Alarm cleared, {}: {}", " ".join(filter(None, (a.kind, a.name))), a.cleared_detail)
        if dropped:
            log.warning("Alarms: {} undelivered notifications dropped, the oldest (at most {} are kept)", dropped,
                        MOST_UNSENT)
        self.deliver_pending()

    def _observe(self) -> checks.Observation:
        try:
            metrics = self.controls.metrics()
            health = self.controls.health()
            last = self.controls.last_readings()
            names = getattr(self.controls, "current_photometers", None)
            current = names() if names is not None else None
        except Exception as exc:  # a service too busy to answer in 30 s, or stopping
            problem = f"{type(exc).__name__}: {exc}".rstrip(": ")
            if not self._unanswered and not self._stop.is_set():
                log.warning("Alarms: the service did not answer the check ({}); counted as no reading stored",
                            problem)
            self._unanswered = True
            return checks.Observation(problem=problem)
        self._unanswered = False
        return checks.Observation.of(metrics, health, last, current)

    # -- delivery ---------------------------------------------------------------------------------
    def deliver_pending(self) -> None:
        failed: dict[str, str] = {}  # channels that failed in this round: not tried again until the next
        for item in self.state.pending():
            if self._stop.is_set():
                return
            left, errors = [], []
            for channel in item.channels:
                if channel not in self.cfg.channels:
                    log.info("Alarms: notification {!r} no longer sent by {} (not configured)", item.note.subject,
                             channel)
                    continue
                if channel in failed:
                    left.append(channel)
                    continue
                try:
                    where = deliver(self.cfg, channel, item.note)
                except DeliveryError as exc:
                    failed[channel] = str(exc)
                    left.append(channel)
                    errors.append(str(exc))
                    continue
                log.info("Alarms: sent {!r} to {}{}", item.note.subject, where,
                         f" after {item.attempts} failed attempts" if item.attempts else "")
            self.state.delivered(item, tuple(left), "; ".join(errors) or item.last_error if left else None)
        for channel, error in failed.items():
            if self._failing.get(channel) is None:
                log.error("Alarms: cannot send by {}: {}; retried at every check", channel, error)
            self._failing[channel] = error
        for channel in [c for c in self._failing if c not in failed]:
            del self._failing[channel]
            log.warning("Alarms: sending by {} works again", channel)


# -- the plugin's one monitor ---------------------------------------------------------------------
_lock = threading.Lock()
_current: Monitor | None = None


def start(controls: Any, settings: Any) -> Monitor | None:
    """Start watching the service that just started (None when there is nowhere to send)."""
    global _current
    stop()
    cfg = AlarmSettings.from_settings(settings)
    if not cfg.enabled:
        log.info("Alarms: no [alarms] receivers and no webhook_url: the service is not watched")
        return None
    monitor = Monitor(controls, cfg, AlarmState(cfg.state_path))
    with _lock:
        _current = monitor
    monitor.start()
    return monitor


def reconfigure(settings: Any) -> None:
    """A reload: the running monitor sends with the new receivers and SMTP password from its
    next check on (the state file, the check period and turning alarms on or off need a
    restart)."""
    with _lock:
        monitor = _current
    if monitor is None:
        return
    cfg = AlarmSettings.from_settings(settings)
    if cfg.enabled:
        monitor.cfg = cfg
        log.info("Alarms: the reloaded settings are used from the next check on")


def stop() -> None:
    global _current
    with _lock:
        monitor, _current = _current, None
    if monitor is not None:
        monitor.stop()
