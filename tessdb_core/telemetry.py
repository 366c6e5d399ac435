"""What the running service tells about itself: readiness and liveness (``/health``), the
metrics snapshot (``/metrics``, the alarms), the periodic statistics and the minute's
summary of the quarantine, and the notices of events that may have cost data.

Why a room of its own: the loop (:mod:`.service`) moves messages; this only reads the
service's state and words it, so that the wording of ``/health`` and the names of the
counters live in one place.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from datetime import timezone
from typing import Any

from loguru import logger

from . import __version__
from .mqtt import utc_iso
from .paho_speedups import paho_version

log = logger.bind(ns="server")

#: a loop that has not turned for this long is not alive (a turn takes well under a second)
STUCK_AFTER = 30.0
#: seconds between two summaries of what was quarantined
SUMMARY_EVERY = 60


class Telemetry:
    """The service's counters beyond the current statistics interval, and how they are told."""

    def __init__(self, service: Any):
        """``service``: the running :class:`.service.Service` (read only; not imported: no circle)."""
        self.svc = service
        self.start_time = time.time()
        self.totals: Counter[str] = Counter()  # monotonic counters for /metrics
        #: the durations of the last 10,000 commits (for the /metrics histogram)
        self.write_latency: deque[float] = deque(maxlen=10_000)
        self._last_stats = time.monotonic()
        self._last_summary = time.monotonic()
        self._quarantine_seen: Counter[str] = Counter()
        self._sessions_lost = 0
        self._store_rescues = 0

    # -- each turn of the loop ------------------------------------------------------------------
    def periodic(self, now: float) -> None:
        """The statistics lines, the quarantine's summary, and notices for what happened."""
        svc = self.svc
        if svc.mqtt.sessions_lost > self._sessions_lost:
            self._sessions_lost = svc.mqtt.sessions_lost
            t1, t2 = svc.mqtt.lost_window
            svc.notices.add("session_lost", f"the broker lost the collector's session; readings published between "
                                            f"{utc_iso(t1)} and {utc_iso(t2)} may be missing")
        rescued = getattr(svc.store, "rescues", 0)  # (an optional attribute of a file-based store)
        if rescued > self._store_rescues:
            self._store_rescues = rescued
            svc.notices.add("database_lost", f"the database {svc.store.url} was found deleted or replaced by "
                                             f"{utc_iso(time.time())}; what it held was copied into a new file at "
                                             "the path")
        if now - self._last_stats >= int(svc.settings.stats.interval):
            self._last_stats = now
            self.log_stats()
        if now - self._last_summary >= SUMMARY_EVERY:
            self._last_summary = now
            self._summarise_quarantine()

    def log_stats(self) -> None:
        """The periodic summary lines (docs/operations.md); then the counters restart."""
        stats = self.svc.stats
        for line in stats.log_lines():
            logger.bind(ns="stats").info(line)
        _add(self.totals, stats.as_dict())
        stats.reset()

    def _summarise_quarantine(self) -> None:
        """One INFO line a minute for what was quarantined in it (each message is at DEBUG)."""
        seen = Counter(self.svc.stats.quarantined)
        for reason, n in self.totals.items():
            if reason.startswith("quarantined."):
                seen[reason.split(".", 1)[1]] += n
        new = {r: n - self._quarantine_seen.get(r, 0) for r, n in seen.items() if n > self._quarantine_seen.get(r, 0)}
        self._quarantine_seen = seen
        if new:
            log.info("Quarantined in the last {} s: {} (`tessdb-core quarantine list` shows them)", SUMMARY_EVERY,
                     ", ".join(f"{n} {r}" for r, n in sorted(new.items())))

    # -- asked by the admin API and the plugins (in the service's thread) -------------------------
    def snapshot(self) -> dict[str, Any]:
        """Cumulative counters (totals + current interval) and gauges, for /metrics."""
        svc, mqtt = self.svc, self.svc.mqtt
        totals = Counter(self.totals)
        _add(totals, svc.stats.as_dict())
        return {
            "counters": dict(totals),
            "inbox_depth": svc.inbox_depth(),
            "last_message_age": mqtt.silent_for() if mqtt else 0.0,
            "connected": bool(mqtt and mqtt.connected),
            "subscribed": bool(mqtt and mqtt.subscribed),
            "paused": svc.paused,
            "write_seconds": sorted(self.write_latency),
            "store_available": not svc.store_outage.active,
            "inbox_available": not svc.inbox_outage.active,
            "outages": {"store": svc.store_outage.total, "inbox": svc.inbox_outage.total},
            "rescues": {"inbox": svc.inbox_guard.rescues, "database": self._store_rescues},
            "notices": svc.notices.current(),
            "sessions_lost": mqtt.sessions_lost if mqtt else 0,
            "held": len(svc.held),
            "last_readings": self.last_readings(),
            "start_time": self.start_time,
            "version": __version__,
            "paho": paho_version(),
        }

    def last_readings(self) -> dict[str, float]:
        pipeline = self.svc.pipeline
        if pipeline is None:
            return {}
        return {name: t.replace(tzinfo=timezone.utc).timestamp() for name, t in pipeline.last_reading.items()}

    def newest_readings(self) -> dict[str, tuple[float, tuple[float, ...]]]:
        """Name -> (UTC epoch seconds, magnitudes per channel) of its newest stored reading."""
        pipeline = self.svc.pipeline
        if pipeline is None:
            return {}
        mags = pipeline.last_magnitudes
        return {name: (t.replace(tzinfo=timezone.utc).timestamp(), mags.get(name, ()))
                for name, t in pipeline.last_reading.items()}

    def health(self) -> tuple[bool, str]:
        """Readiness, (ready, why): the faults that lose time first (they name the file), then
        the broker, the subscriptions and the backlog.  Paused is ready (an operator's choice,
        with a note); a quiet sky is not a fault here (freshness is the alarms' and
        Prometheus' business: ``tessdb_last_message_age_seconds``)."""
        svc, mqtt = self.svc, self.svc.mqtt
        if svc.inbox_outage.active:
            return False, (f"{svc.inbox_outage.describe()}; not acknowledging, {len(svc.held)} messages "
                           "waiting in memory, the broker keeps the rest")
        backlog = svc.inbox_depth()
        if svc.store_outage.active:
            return False, f"{svc.store_outage.describe()}; {backlog} messages wait in the inbox"
        if mqtt is None or not mqtt.connected:
            return False, f"MQTT not connected: {mqtt.state if mqtt else 'starting'}"
        if mqtt.subscription_problem:
            return False, f"subscription refused by the broker: {mqtt.subscription_problem}; retrying"
        if not mqtt.subscribed and mqtt.topics:
            return False, "MQTT connected, waiting for the broker to grant the subscriptions"
        if backlog > 10 * int(svc.settings.inbox.chunk) and not svc.paused:
            return False, f"inbox not draining: {backlog} messages waiting"
        if svc.paused:
            notes = [f"paused; {backlog} messages waiting in the inbox"]
        elif mqtt.silent_for() > float(svc.settings.mqtt.silent_after):
            notes = [f"ok; no message for {mqtt.silent_for():.0f} s"]
        else:
            notes = ["ok"]
        notes += svc.notices.current().values()  # what happened that may have cost data
        return True, "; ".join(notes)

    def live(self) -> tuple[bool, str]:
        """Liveness, safe from any thread (no call into the loop): the loop turned recently."""
        idle = time.monotonic() - self.svc.last_turn
        if idle > STUCK_AFTER:
            return False, f"the service loop has not turned for {idle:.0f} s"
        return True, "ok"


def _add(totals: Counter[str], stats: dict[str, Any]) -> None:
    """Add a ``Stats.as_dict()`` into flat counters (``group.key``)."""
    for group, values in stats.items():
        if isinstance(values, dict):
            for k, v in _flat(values):
                totals[f"{group}.{k}"] += v
        else:
            totals[group] += values


def _flat(d: dict[str, Any], prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flat(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v
