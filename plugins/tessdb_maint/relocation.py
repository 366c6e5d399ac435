"""Moving stored readings to their site: ``readings relocate`` and ``instrument assign --readings``.

Photometers register and send before the operator gives them a site, so their first
readings are stored at location -1 (Unknown), and the reports take the position and the
time zone from each reading's location.  These rules decide which readings are moved:
the readings of a NAME are those of the MACs it named, each inside the window of its
mapping (``name_to_mac_t``: ``valid_since <= ts < valid_until``), as everywhere else, so
a renamed or replaced photometer's readings of another time stay where they are.  The
store then updates ``location_id`` in both fact tables, in the same write transaction
(``Change.move_readings``).  Pure functions over a :class:`MaintenanceView`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from tessdb_core import FAR_FUTURE, BadValue, Catalog, Change, MaintenanceView, NameMapping, NotFound, ReadingMove
from tessdb_tess.photometer import normalise_name

from .rules import current_instrument, find_location, fmt_time


def _until(t: datetime | None) -> str:
    return "now" if t is None or t >= FAR_FUTURE else fmt_time(t)


def _period(start: datetime | None, end: datetime | None) -> str:
    return f"from {fmt_time(start) if start else 'the start'} to {_until(end)}"


def windows(cat: Catalog, name: str, start: datetime | None, end: datetime | None
            ) -> list[tuple[NameMapping, datetime, datetime]]:
    """Each mapping of ``name`` cut to ``[start, end)``: (mapping, from, to), oldest first;
    the mappings outside the period left out."""
    maps = cat.mappings_of_name(name)
    if not maps:
        raise NotFound(f"unknown photometer {name!r}")
    out = []
    for m in sorted(maps, key=lambda m: (m.since, m.key or 0)):
        lo = max(m.since, start) if start is not None else m.since
        hi = min(m.until, end) if end is not None else m.until
        if lo < hi:
            out.append((m, lo, hi))
    return out


def plan_moves(view: MaintenanceView, cat: Catalog, name: str, location_id: int, start: datetime | None,
               end: datetime | None) -> tuple[tuple[ReadingMove, ...], dict[int, int]]:
    """The moves of ``name``'s readings in ``[start, end)`` to ``location_id`` and how many
    readings of the period each location holds now.  BadValue when the name had no MAC
    in the period."""
    cut = windows(cat, name, start, end)
    if not cut:
        spans = "; ".join(f"{m.mac} from {fmt_time(m.since)} to {_until(m.until)}"
                          for m in sorted(cat.mappings_of_name(name), key=lambda m: m.since))
        raise BadValue(f"{name} named no photometer {_period(start, end)}: its name mappings are {spans}")
    moves, counts = [], {}
    for m, lo, hi in cut:
        here = view.reading_locations(m.mac, lo, hi)
        for loc, n in here.items():
            counts[loc] = counts.get(loc, 0) + n
        elsewhere = sum(n for loc, n in here.items() if loc != location_id)
        if elsewhere:
            moves.append(ReadingMove(name=name, mac=m.mac, start=lo, end=hi, location_id=location_id,
                                     expected=elsewhere))
    return tuple(moves), counts


def _moved_text(moves: tuple[ReadingMove, ...], counts: dict[int, int], location_id: int, to: str = "") -> str:
    """``N reading(s) moved[ to ...] (n from -1, ...)[; m already there]``."""
    moving = sum(m.expected for m in moves)
    origins = ", ".join(f"{n} from {loc}" for loc, n in sorted(counts.items()) if loc != location_id)
    already = counts.get(location_id, 0)
    text = f"{moving} reading(s) moved{f' to {to}' if to else ''}" + (f" ({origins})" if origins else "")
    return text + (f"; {already} already there" if already else "")


def plan_relocate(view: MaintenanceView, name: str, location: str, *, start: datetime | None,
                  end: datetime | None) -> Change:
    """``readings relocate NAME --location L [--from TS] [--to TS]``: the readings of NAME
    in ``[start, end)`` (each within the window of NAME's mapping to its MAC) go to L.
    Refused: an unknown name or location, ``start >= end``, a period in which NAME named
    no MAC, a period without any reading of NAME."""
    name = normalise_name(name)
    if start is not None and end is not None and start >= end:
        raise BadValue(f"--from {fmt_time(start)} is not before --to {fmt_time(end)}")
    cat = view.catalog(names=[name])
    loc = find_location(view.locations(), location)
    moves, counts = plan_moves(view, cat, name, loc["location_id"], start, end)
    if not sum(counts.values()):
        raise BadValue(f"no reading of {name} is stored {_period(start, end)}: nothing to move")
    target = f"location {loc['location_id']} ({loc['place']})"
    if not moves:
        return Change(summary=f"the {counts[loc['location_id']]} reading(s) of {name} {_period(start, end)} "
                              f"are already at {target}: nothing changed")
    return Change(summary=f"{name} {_period(start, end)}: {_moved_text(moves, counts, loc['location_id'], target)}",
                  move_readings=moves)


def with_readings(view: MaintenanceView, change: Change, name: str, location: str,
                  since: datetime | None) -> Change:
    """``instrument assign NAME --location L --readings``: ``change`` (the assignment) plus
    the move of NAME's readings since its current version began (``since``, when the
    assignment starts a new version then) to L, in the same transaction."""
    name = normalise_name(name)
    cat = view.catalog(names=[name])
    _, v = current_instrument(cat, name)
    start = since or v.since
    loc = find_location(view.locations(), location)
    moves, counts = plan_moves(view, cat, name, loc["location_id"], start, None)
    when = f"since {fmt_time(start)}"
    if moves:
        extra = f"; its readings {when}: {_moved_text(moves, counts, loc['location_id'])}"
    elif counts:
        extra = f"; its {sum(counts.values())} reading(s) {when} are already there"
    else:
        extra = f"; no reading of it is stored {when}"
    return replace(change, summary=change.summary + extra, move_readings=change.move_readings + moves)


def moved_note(change: Change) -> str:
    """What to add to the summary when the store moved another number of rows than planned
    (readings of the period that arrived meanwhile, on a database others write to at once)."""
    planned = sum(m.expected for m in change.move_readings)
    moved: Any = change.created.get("readings_moved", planned)
    return "" if moved == planned else f" ({moved} moved in the end: readings arrived meanwhile)"
