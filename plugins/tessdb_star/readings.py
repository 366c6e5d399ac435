"""ResolvedReading -> fact-table row tuples: the hot path, kept to one tuple per row.

Why shared: both stores write the very same rows.  The tuples follow
``W_COLUMNS`` / ``C_COLUMNS`` (:mod:`.tables`); an :class:`~.layout.InsertPlan`
cuts them down when a legacy table lacks an optional column.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Sequence

from tessdb_core import ResolvedReading
from tessdb_tess.photometer import NO_SIGNAL

from .preload import FIRST_DATE, LAST_DATE

FIRST_DATE_ID = FIRST_DATE.year * 10000 + FIRST_DATE.month * 100 + FIRST_DATE.day
LAST_DATE_ID = LAST_DATE.year * 10000 + LAST_DATE.month * 100 + LAST_DATE.day


def w_row(r: ResolvedReading) -> tuple:
    """A tess_readings_t row (TESS-W, one channel)."""
    rd = r.reading
    v = r.version
    t = rd.tstamp
    w = rd.wdbm
    return (
        t.year * 10000 + t.month * 100 + t.day, t.hour * 10000 + t.minute * 100 + t.second,
        v.tess_id, v.location_id, v.observer_id, r.units_id, rd.seq,
        rd.freq[0], rd.mag[0],
        rd.tamb, rd.tsky, rd.az, rd.alt, rd.long, rd.lat, rd.height,
        NO_SIGNAL if w is None else w, rd.hash,
    )


def c_row(r: ResolvedReading) -> tuple:
    """A tess_readings4c_t row (TESS4C); mag1 is the real magnitude (not the 5.x freq1 bug)."""
    rd = r.reading
    v = r.version
    t = rd.tstamp
    f1, f2, f3, f4 = rd.freq
    m1, m2, m3, m4 = rd.mag
    w = rd.wdbm
    return (
        t.year * 10000 + t.month * 100 + t.day, t.hour * 10000 + t.minute * 100 + t.second,
        v.tess_id, v.location_id, v.observer_id, r.units_id, rd.seq,
        f1, m1, f2, m2, f3, m3, f4, m4,
        rd.tamb, rd.tsky, rd.az, rd.alt, rd.long, rd.lat, rd.height,
        NO_SIGNAL if w is None else w, rd.hash,
    )


def split_rows(batch: Sequence[ResolvedReading]) -> tuple[
        list[ResolvedReading], list[tuple], list[ResolvedReading], list[tuple], list[tuple[ResolvedReading, str]]]:
    """Sort by timestamp (the primary key's order, for locality) and build the rows.

    Returns (TESS-W items, their rows, TESS4C items, their rows, unbuildable items)."""
    try:
        items = sorted(batch, key=_tstamp)
    except TypeError:  # a reading without a usable timestamp: it fails below, alone
        items = list(batch)
    w_items: list[ResolvedReading] = []
    c_items: list[ResolvedReading] = []
    bad: list[tuple[ResolvedReading, str]] = []
    for r in items:
        n = len(r.reading.freq)
        if n == 1:
            w_items.append(r)
        elif n == 4:
            c_items.append(r)
        else:
            bad.append((r, f"unsupported number of channels: {n} (expected 1 or 4)"))
    try:
        w_rows = [w_row(r) for r in w_items]
    except Exception:
        w_items, w_rows = _careful(w_items, w_row, bad)
    try:
        c_rows = [c_row(r) for r in c_items]
    except Exception:
        c_items, c_rows = _careful(c_items, c_row, bad)
    w_items, w_rows = _in_calendar(w_items, w_rows, bad)
    c_items, c_rows = _in_calendar(c_items, c_rows, bad)
    return w_items, w_rows, c_items, c_rows, bad


def _in_calendar(items: list[ResolvedReading], rows: list[tuple], bad: list[tuple[ResolvedReading, str]]
                 ) -> tuple[list[ResolvedReading], list[tuple]]:
    """Only the rows whose day ``date_t`` holds: a row it does not hold would vanish from every
    report that joins ``date_t``, so it is never stored (the rules refuse such dates first)."""
    if not rows or (min(r[0] for r in rows) >= FIRST_DATE_ID and max(r[0] for r in rows) <= LAST_DATE_ID):
        return items, rows
    keep_items, keep_rows = [], []
    for item, row in zip(items, rows):
        if FIRST_DATE_ID <= row[0] <= LAST_DATE_ID:
            keep_items.append(item)
            keep_rows.append(row)
        else:
            bad.append((item, f"its day {row[0]} is outside the days date_t holds ({FIRST_DATE:%Y-%m-%d} to "
                              f"{LAST_DATE:%Y-%m-%d}): never stored"))
    return keep_items, keep_rows


_tstamp = attrgetter("reading.tstamp")


def _careful(items, build, bad):
    """Row by row, for a batch with a reading that cannot even be made into a row."""
    ok_items, rows = [], []
    for r in items:
        try:
            rows.append(build(r))
            ok_items.append(r)
        except Exception as exc:  # a malformed reading must not sink its batch
            bad.append((r, f"cannot build row: {type(exc).__name__}: {exc}"))
    return ok_items, rows
