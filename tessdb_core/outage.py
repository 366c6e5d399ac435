"""One resource the service cannot use for now (the database, the inbox file).

Why a small object: a full disk or a held file is retried on every turn of the
loop, and the operator must read one line when it starts and one when it ends,
not one per retry; ``/health`` and ``/metrics`` read the same state.
"""

from __future__ import annotations

import time

from loguru import logger

from .backoff import Backoff


class Outage:
    """Retry timing and the start / end log lines for one resource."""

    def __init__(self, what: str, ns: str, first_delay: float = 0.5, longest_delay: float = 10.0):
        """``what``: how the log lines name the resource ("database /srv/tess.db")."""
        self.what = what
        self.log = logger.bind(ns=ns)
        self.backoff = Backoff(first_delay, longest_delay)
        #: the last problem, while the resource is unavailable; None when it works
        self.problem: str | None = None
        self.since: float | None = None
        self.retry_at = 0.0
        self.failures = 0  # consecutive
        self.total = 0  # how many outages began (for /metrics)

    @property
    def active(self) -> bool:
        return self.problem is not None

    def ready(self) -> bool:
        """Time to try again (always true when there is no outage)."""
        return time.monotonic() >= self.retry_at

    def failed(self, problem: str, consequence: str, delay: float | None = None) -> None:
        """Record a failed attempt; the first one of an outage is logged, with what it means
        for the messages (``consequence``); later ones, even of another kind, only at DEBUG
        (``/health`` shows the current problem): one line when it starts, one when it ends."""
        now = time.monotonic()
        if self.problem is None:
            self.since = now
            self.total += 1
            self.backoff.reset()
            self.log.error("{} {}; {}", self.what, problem, consequence)
        else:
            self.log.debug("{} {}; {} (retry #{})", self.what, problem, consequence, self.failures)
        self.problem = problem
        self.failures += 1
        wait = self.backoff.next()
        self.retry_at = now + (wait if delay is None else delay)

    def recovered(self, news: str) -> None:
        """The resource works again: one line saying so and how long it took."""
        if self.problem is None:
            return
        self.log.warning("{} {} after {:.1f} s", self.what, news, time.monotonic() - (self.since or 0.0))
        self.problem = self.since = None
        self.failures = 0
        self.retry_at = 0.0

    def describe(self) -> str:
        if self.problem is None:
            return "ok"
        return f"{self.what} {self.problem} (for {time.monotonic() - (self.since or 0.0):.0f} s)"
