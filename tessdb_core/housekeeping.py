"""The service's chores on its local file: keep the quarantine within its bounds, and make
sure the inbox it writes is still the file at ``[inbox] path``.

Why apart from the loop: neither moves a message; both run between turns, at most once a
second or a minute, and each has its own log lines (docs/operations.md).
"""

from __future__ import annotations

import time
from typing import Any

from loguru import logger

from .localfile import LocalFile, LocalFileUnavailable
from .mqtt import utc_iso
from .notices import Notices
from .outage import Outage
from .quarantine import Quarantine
from .stats import Stats

log = logger.bind(ns="server")


class QuarantineBounds:
    """Keeps the quarantine within ``[quarantine] max_mb`` and ``keep_days``: at once when it
    grows past the size, once a minute for the age."""

    def __init__(self, quarantine: Quarantine, stats: Stats):
        self.quarantine = quarantine
        self.stats = stats
        self._last_trim = 0.0

    def keep(self, settings: Any, now: float) -> None:
        q = settings.quarantine
        max_bytes = int(float(q.max_mb) * 1024 * 1024)
        if not self.quarantine.over_bounds(max_bytes) and now - self._last_trim < 60:
            return
        self._last_trim = now
        try:
            dropped = self.quarantine.trim(max_bytes, float(q.keep_days))
        except LocalFileUnavailable:
            return  # tried again at the next minute
        if dropped:
            self.stats.quarantine_dropped += dropped
            log.warning("Quarantine bounded ([quarantine] max_mb = {}, keep_days = {}): {} oldest entries dropped",
                        q.max_mb, q.keep_days, dropped)


class InboxGuard:
    """Is the inbox file still the one at ``[inbox] path``?  Asked at each sync, before the
    acknowledgement, and once a second.  If it was deleted or replaced, nothing is
    acknowledged until what the open file holds is copied into a new inbox at the path
    (synced; a stranger's file set aside): one log line per step, a notice, an outage."""

    def __init__(self, file: LocalFile, outage: Outage, notices: Notices):
        self.file = file
        self.outage = outage
        self.notices = notices
        #: what happened to the file, until it is put back
        self.lost: str | None = None
        #: times it was put back (for /metrics)
        self.rescues = 0
        self._last_look = 0.0

    def now_and_then(self) -> None:
        """At most once a second (the loop calls it every turn)."""
        now = time.monotonic()
        if now - self._last_look >= 1.0:
            self._last_look = now
            self.still_ours()

    def still_ours(self) -> bool:
        """True when the file is ours (or was just put back); False while it cannot be (retried)."""
        problem = self.file.lost()
        if problem is None:
            return True
        path = self.file.path
        if self.lost is None:
            self.lost = problem
            self.outage.failed(f"{problem} under the running service",
                               "nothing is acknowledged until a new inbox at the path holds what it held")
        try:
            done, entries, rows = self.file.rescue()
        except LocalFileUnavailable as exc:
            self.outage.failed(f"{problem}; {exc.problem}", "nothing is acknowledged; retrying")
            return False
        if done.set_aside_as is not None:
            log.warning("Inbox {}: the other file found at the path was set aside as {}", path, done.set_aside_as)
        log.warning("Inbox {}: copied {} waiting entries and {} quarantine rows from the open file into a new "
                    "inbox at the path (synced)", path, entries, rows)
        self.rescues += 1
        self.lost = None
        self.notices.add("inbox_lost", f"the inbox {path} {problem} at {utc_iso(time.time())}; the {entries} "
                                       "entries it held were copied into a new inbox at the path")
        self.outage.recovered("takes messages again (a new file at the path, nothing lost)")
        return True
