"""The one backoff of every retry: the outages of the database and the inbox, the broker
connection, a subscription the broker refused.

Why one: each of those waits, after a failure, twice as long as after the one before, up to a
ceiling, and starts again from the first delay once it works; written once, they cannot drift.
"""

from __future__ import annotations


class Backoff:
    """Doubling delays from ``first`` to ``longest`` seconds."""

    def __init__(self, first: float, longest: float):
        self.first = float(first)
        self.longest = float(longest)
        #: the delay the next failure waits
        self.current = self.first

    def next(self) -> float:
        """The delay to wait after this failure; the next one will be twice as long (at most ``longest``)."""
        delay = min(self.current, self.longest)
        self.current = min(self.current * 2, self.longest)
        return delay

    def reset(self, first: float | None = None, longest: float | None = None) -> None:
        """It worked: the next failure waits ``first`` again (new limits, e.g. after a reload)."""
        if first is not None:
            self.first = float(first)
        if longest is not None:
            self.longest = float(longest)
        self.current = self.first
