"""Events an operator must hear of that are not outages: the service works, but something
happened that may have cost data (the broker lost the collector's session, the inbox file
was deleted and put back).

Why not an outage: readiness stays true (nothing is stuck), yet ``/health`` names the
event in its reason, ``/metrics`` hands it to the alarms plugin, and both keep it for
:data:`KEEP_SECONDS`, so that a check every few minutes does not miss it.
"""

from __future__ import annotations

import time

#: how long a notice stays on /health and in the metrics snapshot
KEEP_SECONDS = 3600.0


class Notices:
    """The current notices, by key (a later notice of the same key replaces the earlier)."""

    def __init__(self, keep: float = KEEP_SECONDS):
        self.keep = keep
        self._items: dict[str, tuple[str, float]] = {}

    def add(self, key: str, text: str) -> None:
        self._items[key] = (text, time.monotonic())

    def current(self) -> dict[str, str]:
        """Key -> text of the notices younger than ``keep``."""
        now = time.monotonic()
        self._items = {k: v for k, v in self._items.items() if now - v[1] < self.keep}
        return {k: text for k, (text, _) in self._items.items()}
