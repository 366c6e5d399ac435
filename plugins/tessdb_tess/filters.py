"""The two default reading filters: decimation and daylight look-ahead (docs/rules.md).

Why stateful objects: both keep per-photometer state (a cyclic counter, a window
of the last W readings) between readings.  The engine makes them through the
``tessdb_filters`` factory hook and chains them.  Per reading the cost is a dict
lookup and a deque push; the saturation test is an O(1) running count of non-zero
magnitudes, and the sequence test an O(1) running count of unequal steps.

Released readings always come out in arrival order per photometer.

Why bounded: any sender can invent names, so the state of both filters is capped at
``filter.max_photometers``; past it the state created longest ago goes first (see
:class:`_CreationOrder` for why the tables stay plain dicts).
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any, Generic, Mapping, Sequence, TypeVar

from tessdb_core import BadValue, Reading

from .config import TessConfig, config_of

__all__ = ["Decimation", "Daylight"]

_NONE: tuple = ()

#: the largest decimation divisor the admin API accepts (one reading a week at one a second)
MAX_DIVISOR = 1_000_000

_V = TypeVar("_V")


class _CreationOrder(Generic[_V]):
    """Creation order of a plain dict's entries, to evict the oldest in O(1) amortised.

    Why not an OrderedDict: its ``.get`` costs ~13 ns more per call on CPython 3.11,
    paid on every reading; and popping the first key of a plain dict rescans the
    deleted slots (~3 us at 20,000 entries).  This queue is touched only when an entry
    is created or evicted.  Entries deleted otherwise stay here as stale pairs, told
    apart by identity and skipped; the queue is rebuilt once they outnumber the live ones.
    """

    __slots__ = ("_queue",)

    def __init__(self) -> None:
        self._queue: deque[tuple[str, _V]] = deque()

    def added(self, table: dict[str, _V], key: str, value: _V) -> None:
        """Record a new entry (``table[key] = value`` just done, ``key`` was absent)."""
        queue = self._queue
        queue.append((key, value))
        if len(queue) > 2 * len(table) + 64:
            self._queue = deque(table.items())  # insertion order is creation order

    def pop_oldest(self, table: dict[str, _V]) -> _V:
        """Delete and return the live entry created longest ago (``table`` not empty)."""
        popleft = self._queue.popleft
        while True:
            key, value = popleft()
            if table.get(key) is value:
                del table[key]
                return value


class Decimation:
    """Keep the first reading of a photometer, then one every N (``[filter.divisor]``).

    A cyclic counter 0..N-1 advances on every reading and only the reading that
    hits 0 passes.  A new divisor takes effect at the next passing reading: the
    counter restarts there with the new N, so the following pass is N_new readings
    later.  Active only while ``filter.enable.daylight`` is true.

    At most ``filter.max_photometers`` counters: the oldest one is forgotten first
    (that photometer starts a new cycle, its next reading passes); a lower max from
    a reload applies at once.  Only divisors > 1 need a counter, so this rarely bites.
    """

    name = "decimation"

    def __init__(self, settings: Any):
        self._cfg: TessConfig = config_of(settings)
        #: name -> [counter, divisor in force]
        self._state: dict[str, list[int]] = {}
        self._order: _CreationOrder[list[int]] = _CreationOrder()
        #: counters forgotten to stay within max_photometers
        self.evicted = 0
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
            state = self._state
            if len(state) >= cfg.max_photometers:
                self._evict(len(state) - cfg.max_photometers + 1)
            st = state[name] = [1, n]  # this first reading passes and consumes position 0
            self._order.added(state, name, st)
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

    def _evict(self, k: int) -> None:
        for _ in range(k):
            self._order.pop_oldest(self._state)
        self.evicted += k

    def reconfigure(self, settings: Any) -> None:
        self._cfg = config_of(settings)
        self._divisors = {**self._cfg.divisors, **self._overrides}
        excess = len(self._state) - self._cfg.max_photometers
        if excess > 0:
            self._evict(excess)

    def configure(self, name: str, options: Mapping[str, Any]) -> None:
        """Admin API: a new divisor for one photometer, taking effect at its next pass."""
        if "divisor" in options:
            divisor = options["divisor"]
            if type(divisor) is not int or not 1 <= divisor <= MAX_DIVISOR:
                raise BadValue(f"'divisor' must be an integer 1..{MAX_DIVISOR}")
            self._overrides[name] = divisor
            self._divisors = {**self._cfg.divisors, **self._overrides}

    def options(self, name: str) -> dict[str, Any]:
        return {"divisor": self._divisors.get(name, 1)}

    def view(self, name: str) -> dict[str, Any]:
        """The reference's ``sampler`` section of ``/v1/filter/{name}``."""
        return {"sampler": self.options(name)}

    def state(self) -> dict[str, Any]:
        return {
            "enabled": self._cfg.daylight,
            "max_photometers": self._cfg.max_photometers,
            "evicted": self.evicted,
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

    At most ``filter.max_photometers`` windows: a new photometer beyond it first
    releases the window created longest ago (its held readings come out before the
    new reading's result; nothing is dropped).  A lower max from a reload applies
    lazily, at the next new photometer, because ``reconfigure`` cannot hand out readings.
    """

    name = "daylight"

    def __init__(self, settings: Any):
        self._cfg: TessConfig = config_of(settings)
        self._windows: dict[str, _Window] = {}
        self._order: _CreationOrder[_Window] = _CreationOrder()
        #: windows released early to stay within max_photometers
        self.evicted = 0
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
            if len(self._windows) >= cfg.max_photometers:
                return self._make_room(reading)
            w = self._windows[name] = _Window(cfg.depth)
            self._order.added(self._windows, name, w)
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

    def _make_room(self, reading: Reading) -> tuple[list[Reading], Sequence[Reading]]:
        """Release the oldest windows until a new one fits, then filter ``reading`` as usual."""
        windows = self._windows
        k = len(windows) - self._cfg.max_photometers + 1
        released: list[Reading] = []
        for _ in range(k):
            released.extend(self._order.pop_oldest(windows).pending())
        self.evicted += k
        rel, dropped = self.process(reading)  # now below the max: no further recursion
        released.extend(rel)
        return released, dropped

    def flush(self) -> Sequence[Reading]:
        """Every held reading of every photometer, in timestamp order (arrival order kept
        within a photometer); the windows start empty again."""
        windows, self._windows = self._windows, {}
        self._order = _CreationOrder()
        held = [w.pending() for w in windows.values()]
        held = [h for h in held if h]
        if not held:
            return []
        if len(held) == 1:
            return held[0]
        return list(heapq.merge(*held, key=lambda r: r.tstamp))

    def reconfigure(self, settings: Any) -> None:
        """New lists and switches apply at once; a new depth only to new windows, a lower
        max_photometers at the next new photometer."""
        self._cfg = config_of(settings)
        self._apply_overrides()

    def configure(self, name: str, options: Mapping[str, Any]) -> None:
        """Admin API: ``buffered = false`` lets one photometer's readings through unfiltered."""
        if "buffered" in options:
            if not isinstance(options["buffered"], bool):
                raise BadValue("'buffered' must be true or false")
            self._overrides[name] = options["buffered"]
            self._apply_overrides()

    def _apply_overrides(self) -> None:
        on = {n for n, b in self._overrides.items() if b}
        off = {n for n, b in self._overrides.items() if not b}
        self._passthrough = frozenset((self._cfg.disabled_for - on) | off)

    def options(self, name: str) -> dict[str, Any]:
        return {"buffered": self._cfg.daylight and name not in self._passthrough}

    def view(self, name: str) -> dict[str, Any]:
        """The reference's ``lookahead`` section of ``/v1/filter/{name}``."""
        w = self._windows.get(name)
        return {"lookahead": {
            "window": [r.seq for r in w.fifo] if w else [], "buffered": self.options(name)["buffered"],
            "flushing": False, "held": [r.seq for r in w.pending()] if w else [],
            "saturated": (w.nonzero == 0 and bool(w.fifo)) if w else None,
            "monotonic": (w.breaks == 0) if w else None}}

    def state(self) -> dict[str, Any]:
        return {
            "enabled": self._cfg.daylight,
            "depth": self._cfg.depth,
            "max_photometers": self._cfg.max_photometers,
            "evicted": self.evicted,
            "disabled_for": sorted(self._cfg.disabled_for),
            "photometers": {
                name: {"depth": w.depth, "window": [r.seq for r in w.fifo], "held": [r.seq for r in w.pending()],
                       "saturated": w.nonzero == 0 and bool(w.fifo), "monotonic": w.breaks == 0}
                for name, w in self._windows.items()
            },
        }
