"""Drive a sink with the generated messages: pace them, count them, report progress.

Why separate from the generator and the sinks: pacing (simulated time -> wall
time, an optional rate cap) and reporting are the only parts that read a clock,
and they are the same for a broker and for a file.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .generator import KINDS, MALFORMED_KINDS, READING, REGISTRATION_KINDS, SimEvent
from .sinks import Sink

__all__ = ["Pacer", "Tally", "run"]


@dataclass
class Pacer:
    """When each message is due on the wall clock.

    ``speed`` simulated seconds pass per wall second (60: a simulated minute per
    second); ``rate`` caps the messages per wall second.  Either may be None.
    """

    start: datetime
    speed: float | None = None
    rate: float | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _wall0: float | None = None
    _count: int = 0

    def wait(self, t: datetime) -> None:
        now = self.clock()
        if self._wall0 is None:
            self._wall0 = now
        due = self._wall0
        if self.speed:
            due += (t - self.start).total_seconds() / self.speed
        if self.rate:
            due = max(due, self._wall0 + self._count / self.rate)
        self._count += 1
        if due > now:
            self.sleep(due - now)


@dataclass
class Tally:
    """What was sent, by kind, and over which simulated period."""

    target: str
    kinds: Counter = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    started: float = field(default_factory=time.monotonic)
    elapsed: float = 0.0
    interrupted: bool = False
    unconfirmed: int = 0
    #: per name: readings sent in astronomical night, and those of them under a clear sky (the truth)
    night: Counter = field(default_factory=Counter)
    clear_night: Counter = field(default_factory=Counter)

    def add(self, event: SimEvent) -> None:
        self.kinds[event.kind] += 1
        if event.truth is not None and event.truth.night:
            self.night[event.name] += 1
            if event.truth.clear:
                self.clear_night[event.name] += 1
        if self.first is None:
            self.first = event.time
        self.last = event.time

    @property
    def total(self) -> int:
        return sum(self.kinds.values())

    def as_dict(self) -> dict[str, Any]:
        elapsed = self.elapsed or (time.monotonic() - self.started)
        return {
            "target": self.target,
            "messages": self.total,
            "readings": self.kinds[READING],
            "registrations": sum(self.kinds[k] for k in REGISTRATION_KINDS),
            "malformed": sum(self.kinds[k] for k in MALFORMED_KINDS),
            "by_kind": {k: self.kinds[k] for k in KINDS},
            "unconfirmed": self.unconfirmed,
            "simulated_from": _z(self.first),
            "simulated_to": _z(self.last),
            "elapsed_s": round(elapsed, 3),
            "messages_per_s": round(self.total / elapsed, 1) if elapsed > 0 else None,
            "interrupted": self.interrupted,
            # the simulated truth: the share of each photometer's astronomical-night readings
            # sent under a clear sky
            "clear_night_fraction": {name: round(self.clear_night[name] / n, 4)
                                     for name, n in sorted(self.night.items())},
        }

    def summary(self, verb: str) -> str:
        d = self.as_dict()
        rate = f" ({d['messages_per_s']:,.0f}/s)" if d["messages_per_s"] else ""
        state = "all acknowledged" if verb == "published" and not self.unconfirmed else ""
        if self.unconfirmed:
            state = f"{self.unconfirmed:,} NOT acknowledged"
        head = f"{verb} {d['messages']:,} messages to {self.target} in {d['elapsed_s']:.1f} s{rate}"
        head += f", {state}" if state else ""
        head += " (interrupted)" if self.interrupted else ""
        kinds = "  ".join(f"{k} {v:,}" for k, v in d["by_kind"].items())
        span = f"simulated {d['simulated_from']} .. {d['simulated_to']}" if self.first else "nothing simulated"
        return "\n".join([head, f"  {kinds}", f"  {span}"])

    def progress(self, pending: int) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.total / elapsed if elapsed > 0 else 0.0
        line = f"simulate: at {_z(self.last) or '-'}: {self.total:,} sent ({rate:,.0f}/s)"
        line += f", {self.kinds[READING]:,} readings"
        return line + (f", {pending:,} awaiting acknowledgement" if pending else "")


def _z(t: datetime | None) -> str | None:
    return None if t is None else f"{t:%Y-%m-%dT%H:%M:%S}Z"


def run(events: Iterable[SimEvent], sink: Sink, pacer: Pacer | None = None, every: float = 10.0,
        echo: Callable[[str], None] = print, stop: Callable[[], bool] = lambda: False) -> Tally:
    """Send every message until the events end or ``stop()`` is true, then wait until the sink
    has delivered all of them (a KeyboardInterrupt during that wait leaves them counted as
    unconfirmed)."""
    tally = Tally(sink.target)
    next_report = tally.started + every if every else float("inf")

    def report() -> None:
        nonlocal next_report
        if every and time.monotonic() >= next_report:
            echo(tally.progress(sink.pending()))
            next_report = time.monotonic() + every

    if hasattr(sink, "on_wait"):
        sink.on_wait = report
    if pacer is not None:
        idle = getattr(sink, "idle", None)
        pacer.sleep = _interruptible(idle or time.sleep, stop)
    try:
        for event in events:
            if stop():
                break
            if pacer is not None:
                pacer.wait(event.time)
                if stop():
                    break
            sink.send(event)
            tally.add(event)
            if time.monotonic() >= next_report:
                report()
    except KeyboardInterrupt:
        pass
    tally.interrupted = stop()
    try:
        sink.close(report)
    except KeyboardInterrupt:
        tally.interrupted = True
    tally.unconfirmed = sink.pending() + getattr(sink, "lost", 0)
    tally.elapsed = time.monotonic() - tally.started
    return tally


def _interruptible(sleep: Callable[[float], None], stop: Callable[[], bool]) -> Callable[[float], None]:
    """``sleep`` in slices of at most half a second, returning early once ``stop()`` is true."""
    def wait(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stop():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            sleep(min(left, 0.5))
    return wait
