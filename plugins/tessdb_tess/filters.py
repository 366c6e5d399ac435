"""The two default reading filters: decimation (spec §5.1) and daylight look-ahead (§5.2).

Why stateful objects: both keep per-photometer state (a cyclic counter, a window
of the last W readings) between readings.  The engine makes them through the
``tessdb_filters`` factory hook and chains them.  Per reading the cost is a dict
lookup and a deque push; the saturation test is an O(1) running count of non-zero
magnitudes, and the sequence test an O(1) running count of unequal steps.

Released readings always come out in arrival order per photometer.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any, Sequence

from tessdb_core.events import Reading

from .config import TessConfig, config_of

__all__ = ["Decimation", "Daylight"]

_NONE: tuple = ()


class Decimation:
    """Keep the first reading of a photometer, then one every N (``[filter.divisor]``).

    A cyclic counter 0..N-1 advances on every reading and only the reading that
    hits 0 passes.  A new divisor takes effect at the next passing reading: the
    counter restarts there with the new N, so the following pass is N_new readings
    later.  Active only while ``filter.enable.daylight`` is true.
    """

    name = "decimation"

    def __init__(self, settings: Any):
        self._cfg: TessConfig = config_of(settings)
        #: name -> [counter, divisor in force]
        self._state: dict[str, list[int]] = {}
        #: divisors set at run time through the admin API (they outlive reloads)
        self._overrides: dict[str, int] = {}
        self._divisors: dict[str, int] = dict(self._cfg.divisors)

    def process(self, reading: Reading) -> tuple[Sequence[Reading], Sequence[Reading]]:
        cfg = self._cfg
        if not cfg.daylight:
            return (reading,), _NONE
        name = reading.name
        st = self._state.get(name)
        if st is None:
            n = self._divisors.get(name, 1)
            if n <= 1:
                return (reading,), _NONE  # divisor 1 needs no state: every reading is a pass
            self._state[name] = [1, n]  # this first reading passes and consumes position 0
            return (reading,), _NONE
        count, n = st
        if count == 0:
            n = self._divisors.get(name, 1)
            if n <= 1:
                del self._state[name]
            else:
                st[0], st[1] = 1, n
            return (reading,), _NONE
        st[0] = (count + 1) % n
        return _NONE, (reading,)

    def flush(self) -> Sequence[Reading]:
        """Nothing is ever held back."""
        return _NONE

    def reconfigure(self, settings: Any) -> None:
        self._cfg = config_of(settings)
        self._divisors = {**self._cfg.divisors, **self._overrides}

    def configure(self, name: str, options: dict[str, Any]) -> None:
        """Admin API: a new divisor for one photometer, taking effect at its next pass."""
        if "divisor" in options:
            self._overrides[name] = max(1, int(options["divisor"]))
            self._divisors = {**self._cfg.divisors, **self._overrides}

    def config_of(self, name: str) -> dict[str, Any]:
        return {"divisor": self._divisors.get(name, 1)}

    def state(self) -> dict[str, Any]:
        return {
            "enabled": self._cfg.daylight,
            "photometers": {name: {"counter": c, "divisor": n} for name, (c, n) in self._state.items()},
        }


class _Window:
    """The look-ahead window of one photometer: oldest reading on the left."""

    __slots__ = ("fifo", "nonzero", "depth", "middle", "steps", "breaks")

    def __init__(self, depth: int):
        self.fifo: deque[Reading] = deque()
        self.nonzero = 0  # readings in the fifo whose magnitude is not 0.0
        self.depth = depth
        self.middle = depth // 2
        #: differences between consecutive sequence numbers in the fifo
        self.steps: deque[int] = deque()
        #: how many neighbouring differences are unequal: 0 <=> an arithmetic progression
        self.breaks = 0

    def push(self, reading: Reading) -> None:
        """Append the newest reading, dropping the oldest when full; O(1) bookkeeping."""
        fifo, steps = self.fifo, self.steps
        if len(fifo) == self.depth:
            if _saturation_mag(fifo.popleft()) != 0.0:
                self.nonzero -= 1
            gone = steps.popleft()
            if steps and gone != steps[0]:
                self.breaks -= 1
        if fifo:
            step = reading.seq - fifo[-1].seq
            if steps and step != steps[-1]:
                self.breaks += 1
            steps.append(step)
        fifo.append(reading)
        if _saturation_mag(reading) != 0.0:
            self.nonzero += 1

    def pending(self) -> list[Reading]:
        """The readings not yet emitted or dropped: the min(N, m) newest, oldest first."""
        k = min(len(self.fifo), self.middle)
        return list(self.fifo)[len(self.fifo) - k:] if k else []


def _saturation_mag(reading: Reading) -> float:
    # mag1 for TESS-W, mag4 for TESS4C: the last channel in both cases
    return reading.mag[-1]


class Daylight:
    """Drop long runs of saturated (magnitude 0) readings, keeping depth//2 on each edge.

    Per photometer a window of the last W = ``filter.depth`` readings; the reading
    m = W//2 places behind the newest is emitted unless the whole window is
    saturated (and, once the window is full, its sequence numbers form an arithmetic
    progression: a gap or a reboot keeps the readings).  Names in
    ``filter.disabled_for`` and ``filter.enable.daylight = false`` pass straight
    through, releasing first whatever was held for that photometer.  ``flush()``
    releases every held reading and empties the windows; filtering then goes on as
    before (unlike the one-way 5.x flushing state).
    """

    name = "daylight"

    def __init__(self, settings: Any):
        self._cfg: TessConfig = config_of(settings)
        self._windows: dict[str, _Window] = {}
        #: name -> buffered, set at run time through the admin API (outlives reloads)
        self._overrides: dict[str, bool] = {}
        self._passthrough: frozenset[str] = self._cfg.disabled_for

    def process(self, reading: Reading) -> tuple[Sequence[Reading], Sequence[Reading]]:
        cfg = self._cfg
        name = reading.name
        w = self._windows.get(name)
        if not cfg.daylight or name in self._passthrough:
            if w is None:
                return (reading,), _NONE
            del self._windows[name]
            held = w.pending()
            held.append(reading)
            return held, _NONE
        if w is None:
            w = self._windows[name] = _Window(cfg.depth)
        w.push(reading)
        fifo = w.fifo
        n = len(fifo)
        m = w.middle
        if n <= m:
            return _NONE, _NONE
        candidate = fifo[n - 1 - m]
        if w.nonzero:
            return (candidate,), _NONE
        if n < w.depth or not w.breaks:
            return _NONE, (candidate,)
        return (candidate,), _NONE

    def flush(self) -> Sequence[Reading]:
        """Every held reading of every photometer, in timestamp order (arrival order kept
        within a photometer); the windows start empty again."""
        windows, self._windows = self._windows, {}
        held = [w.pending() for w in windows.values()]
        held = [h for h in held if h]
        if not held:
            return []
        if len(held) == 1:
            return held[0]
        return list(heapq.merge(*held, key=lambda r: r.tstamp))

    def reconfigure(self, settings: Any) -> None:
        """New lists and switches apply at once; a new depth only to new windows."""
        self._cfg = config_of(settings)
        self._apply_overrides()

    def configure(self, name: str, options: dict[str, Any]) -> None:
        """Admin API: ``buffered = false`` lets one photometer's readings through unfiltered."""
        if "buffered" in options:
            self._overrides[name] = bool(options["buffered"])
            self._apply_overrides()

    def _apply_overrides(self) -> None:
        on = {n for n, b in self._overrides.items() if b}
        off = {n for n, b in self._overrides.items() if not b}
        self._passthrough = frozenset((self._cfg.disabled_for - on) | off)

    def config_of(self, name: str) -> dict[str, Any]:
        return {"buffered": self._cfg.daylight and name not in self._passthrough}

    def state(self) -> dict[str, Any]:
        return {
            "enabled": self._cfg.daylight,
            "depth": self._cfg.depth,
            "disabled_for": sorted(self._cfg.disabled_for),
            "photometers": {
                name: {"depth": w.depth, "window": [r.seq for r in w.fifo], "held": [r.seq for r in w.pending()],
                       "saturated": w.nonzero == 0 and bool(w.fifo), "monotonic": w.breaks == 0}
                for name, w in self._windows.items()
            },
        }
