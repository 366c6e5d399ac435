"""The alarm rules, pure: what one check saw, what the monitor remembers, what opens and
what clears.  No clock, no thread, no file: the monitor hands in the time and applies
the answer.

Time here is the *watch clock*: seconds during which the monitor was watching, carried
across restarts (the state file keeps it).  A stretch while the service was down does
not count as silence: "no reading for 20 min" means 20 minutes of a running collector
that stored nothing, and a photometer is silent after 2 hours of a running collector
that stored nothing of it.

Alarm keys: ``stalled``; ``inbox``; ``database``; ``photometer:<name>``; ``notice:<key>`` (an event
the service reports for an hour, such as a session the broker lost: open while reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

STALLED = "stalled"
SILENT = "photometer_silent"
INBOX = "inbox"
DATABASE = "database"
NOTICE = "notice"
#: the kinds, in the order their messages are sent
KINDS = (STALLED, DATABASE, INBOX, NOTICE, SILENT)

#: how ``/health`` words the outages of the inbox and of the database (``Outage.what``)
_TROUBLE_PREFIX = {INBOX: "Inbox ", DATABASE: "Database "}
_TROUBLE_FLAG = {INBOX: "inbox_available", DATABASE: "store_available"}


def photometer_key(name: str) -> str:
    return f"photometer:{name}"


@dataclass(frozen=True)
class Observation:
    """What one check saw of the running service; every field None when it did not answer."""

    stored: int | None = None  # readings stored since the service started (``metrics()`` counter)
    last_readings: dict[str, float] | None = None  # ``last_readings()``: name -> epoch of its newest reading
    health: str | None = None  # ``health()`` reason: "ok" or the first problem
    available: dict[str, bool] = field(default_factory=dict)  # ``metrics()``: inbox_available, store_available
    problem: str | None = None  # why the service did not answer
    notices: dict[str, str] = field(default_factory=dict)  # ``metrics()["notices"]``: key -> what happened
    #: ``current_photometers()``: the names still in the catalogue (None: not known)
    current: frozenset[str] | None = None

    @classmethod
    def of(cls, metrics: dict, health: tuple[bool, str], last_readings: dict[str, float],
           current: set[str] | None = None) -> "Observation":
        counters = metrics.get("counters") or {}
        return cls(int(counters.get("stored", 0)), dict(last_readings), health[1],
                   {k: bool(metrics[k]) for k in _TROUBLE_FLAG.values() if k in metrics},
                   notices=dict(metrics.get("notices") or {}),
                   current=frozenset(current) if current is not None else None)

    @property
    def answered(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Watch:
    """What the monitor remembers between checks (``stored`` only within one run)."""

    clock: float
    last_progress: float  # watch clock of the last check that saw a reading stored
    stored: int = 0
    photometers: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (newest reading, seen)
    #: name -> the clock of the check before the one that saw its newest reading: it was stored
    #: between the two (in memory only; after a restart, ``seen - check_every`` is assumed)
    since: dict[str, float] = field(default_factory=dict)


def advance(watch: Watch, obs: Observation, clock: float) -> tuple[Watch, list[tuple[str, float, float]]]:
    """The watch after one check at ``clock``; and the photometers whose newest reading changed
    (rows ``(name, newest reading, seen)`` to save)."""
    last_progress, stored = watch.last_progress, watch.stored
    if obs.stored is not None:
        if obs.stored > stored:
            last_progress = clock
        stored = obs.stored  # (a smaller counter: a new run of the service, counting from 0 again)
    changed = []
    if obs.last_readings:
        for name, newest in obs.last_readings.items():
            known = watch.photometers.get(name)
            if known is None or known[0] != newest:
                changed.append((name, newest, clock))
    photometers, since = watch.photometers, watch.since
    if changed:
        photometers = {**photometers, **{name: (newest, seen) for name, newest, seen in changed}}
        since = {**since, **{name: watch.clock for name, _, _ in changed}}
    if obs.current is not None and any(n not in obs.current for n in photometers):
        # retired or renamed (``instrument retire``): no longer watched
        photometers = {n: v for n, v in photometers.items() if n in obs.current}
        since = {n: v for n, v in since.items() if n in obs.current}
    return replace(watch, clock=clock, last_progress=last_progress, stored=stored, photometers=photometers,
                   since=since), changed


@dataclass(frozen=True)
class Opening:
    key: str
    kind: str
    name: str | None
    detail: str


@dataclass(frozen=True)
class Clearing:
    key: str
    detail: str


def decide(watch: Watch, obs: Observation, open_keys: set[str], stalled_after: float,
           silent_after: float, check_every: float = 0.0) -> tuple[list[Opening], list[Clearing]]:
    """The alarms to open and to clear after a check (``watch`` already advanced).

    A photometer's ``seen`` is the clock of the check that first saw its newest reading, so
    two readings stored a moment apart, on either side of a check's look, are seen one check
    apart: when photometers fall silent, one whose newest reading was seen by the next check
    (stored after the look that saw theirs, before the following one) fell silent with them
    and opens in the same message."""
    openings: list[Opening] = []
    clearings: list[Clearing] = []
    quiet = watch.clock - watch.last_progress
    stalled = quiet >= stalled_after
    if stalled and STALLED not in open_keys:
        if obs.answered:
            why = f"service health: {obs.health}"
        else:
            why = f"the service did not answer: {obs.problem}"
        openings.append(Opening(STALLED, STALLED, None, f"no reading stored for {duration(quiet)}; {why}"))
    elif not stalled and STALLED in open_keys:
        clearings.append(Clearing(STALLED, "readings are stored again"))
    silence = {name: watch.clock - seen for name, (newest, seen) in watch.photometers.items()}
    # while the whole collector stores nothing, every photometer looks silent: that is the
    # stall alarm's news; those still silent once it clears are reported then
    falling = [] if stalled else [watch.photometers[name][1] for name, quiet in silence.items()
                                  if quiet >= silent_after and photometer_key(name) not in open_keys]
    latest = max(falling, default=None)  # the newest ``seen`` of those falling silent now
    for name, quiet in sorted(silence.items()):
        key = photometer_key(name)
        silent = quiet >= silent_after
        seen = watch.photometers[name][1]
        together = latest is not None and watch.since.get(name, seen - check_every) <= latest
        if key not in open_keys and latest is not None and (silent or together):
            openings.append(Opening(key, SILENT, name, f"no reading stored for {duration(quiet)}"))
        elif not silent and key in open_keys:
            clearings.append(Clearing(key, "sending again"))
    if obs.current is not None:
        for key in sorted(open_keys):
            name = key[len("photometer:"):] if key.startswith("photometer:") else None
            if name is not None and name not in watch.photometers and name not in obs.current:
                clearings.append(Clearing(key, "retired: no longer in the catalogue"))
    if obs.answered:
        for kind, prefix in _TROUBLE_PREFIX.items():
            health = obs.health or ""
            trouble = health.startswith(prefix) or obs.available.get(_TROUBLE_FLAG[kind]) is False
            if trouble and kind not in open_keys:
                detail = health if health.startswith(prefix) else f"the {kind} is not available"
                openings.append(Opening(kind, kind, None, detail))
            elif not trouble and kind in open_keys:
                clearings.append(Clearing(kind, f"the {kind} works again"))
        for key, text in sorted(obs.notices.items()):
            if notice_key(key) not in open_keys:
                openings.append(Opening(notice_key(key), NOTICE, key, text))
        for key in sorted(open_keys):
            if key.startswith("notice:") and key[len("notice:"):] not in obs.notices:
                clearings.append(Clearing(key, "no longer reported by the service"))
    return openings, clearings


def notice_key(key: str) -> str:
    return f"notice:{key}"


def duration(seconds: float) -> str:
    """``45 s``, ``20 min``, ``2 h 5 min``, ``3 d 4 h``."""
    s = int(round(seconds))
    if s < 120:
        return f"{s} s"
    m = s // 60
    if m < 120:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(h, 24)
    return f"{d} d {h} h" if h else f"{d} d"
