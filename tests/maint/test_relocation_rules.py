"""The rules of `readings relocate` / `assign --readings`, without a database."""

from __future__ import annotations

from datetime import datetime

import pytest

from tessdb_core.catalog import FAR_FUTURE, Catalog, NameMapping
from tessdb_maint import relocation, rules
from tessdb_core import Change, ReadingMove

from .test_rules import FakeView, version

A, B = "AA:00:00:00:00:01", "AA:00:00:00:00:02"
T0, T1 = datetime(2026, 1, 1), datetime(2026, 6, 1, 12, 0, 0, 500000)
LOCATIONS = [{"location_id": -1, "place": "Unknown"}, {"location_id": 3, "place": "Here"}]


def view(readings=()):
    """stars1 named MAC A until T1 (then B); A is named stars2 from T1."""
    maps = [NameMapping("stars1", A, T0, T1, False, key=1), NameMapping("stars1", B, T1, FAR_FUTURE, True, key=2),
            NameMapping("stars2", A, T1, FAR_FUTURE, True, key=3)]
    v = FakeView(Catalog(mappings=maps, versions=[version(mac=A, tess_id=1, location_id=-1),
                                                   version(mac=B, since=T1, tess_id=2, location_id=-1)]),
                 locations=LOCATIONS)
    v.readings = tuple(readings)
    return v


def at(month, day=1, hour=0):
    return datetime(2026, month, day, hour)


def test_the_windows_of_a_name_are_its_mappings_cut_to_the_period():
    cat = view().cat
    assert [(m.mac, lo, hi) for m, lo, hi in relocation.windows(cat, "stars1", None, None)] == \
        [(A, T0, T1), (B, T1, FAR_FUTURE)]
    assert [(m.mac, lo, hi) for m, lo, hi in relocation.windows(cat, "stars1", at(3), at(9))] == \
        [(A, at(3), T1), (B, T1, at(9))]
    assert relocation.windows(cat, "stars2", None, at(3)) == []
    with pytest.raises(LookupError, match="unknown photometer 'stars9'"):
        relocation.windows(cat, "stars9", None, None)


def test_each_mac_moves_only_inside_the_names_window():
    readings = [(A, at(2), -1), (A, at(5), -1), (A, at(7), -1),  # A after T1 is stars2's
                (B, at(7), -1), (B, at(8), 3)]
    change = relocation.plan_relocate(view(readings), "STARS1", "Here", start=None, end=None)
    assert change.move_readings == (ReadingMove("stars1", A, T0, T1, 3, expected=2),
                                    ReadingMove("stars1", B, T1, FAR_FUTURE, 3, expected=1))
    assert change.summary == "stars1 from the start to now: 3 reading(s) moved to location 3 (Here) (3 from -1); " \
                             "1 already there"
    assert change.changes_anything
    # stars2: only A's readings from T1
    change = relocation.plan_relocate(view(readings), "stars2", "3", start=None, end=None)
    assert change.move_readings == (ReadingMove("stars2", A, T1, FAR_FUTURE, 3, expected=1),)


def test_refusals_and_nothing_to_do():
    readings = [(A, at(2), 3)]
    unchanged = relocation.plan_relocate(view(readings), "stars1", "Here", start=None, end=T1)
    assert not unchanged.changes_anything and "already at location 3 (Here): nothing changed" in unchanged.summary
    with pytest.raises(ValueError, match="no reading of stars1 is stored from 2026-07-01 00:00:00 to now"):
        relocation.plan_relocate(view(readings), "stars1", "Here", start=at(7), end=None)
    with pytest.raises(ValueError, match=r"stars2 named no photometer from the start to 2026-03-01 00:00:00: "
                                         r"its name mappings are AA:00:00:00:00:01 from 2026-06-01 12:00:00.5"):
        relocation.plan_relocate(view(readings), "stars2", "Here", start=None, end=at(3))
    with pytest.raises(ValueError, match="is not before --to"):
        relocation.plan_relocate(view(readings), "stars1", "Here", start=at(3), end=at(3))
    with pytest.raises(LookupError, match="unknown location 'There'"):
        relocation.plan_relocate(view(readings), "stars1", "There", start=None, end=None)


def test_assign_with_readings_starts_at_the_current_version_or_since():
    readings = [(B, at(5), -1), (B, at(7), -1), (B, at(8), -1)]
    v = view(readings)
    base = rules.plan_assign(v, "stars1", location="Here", observer=None, since=None)
    change = relocation.with_readings(v, base, "stars1", "Here", None)
    assert change.edit_versions == base.edit_versions  # the assignment itself is kept
    assert change.move_readings == (ReadingMove("stars1", B, T1, FAR_FUTURE, 3, expected=2),)
    assert change.summary.endswith("; its readings since 2026-06-01 12:00:00.500000: 2 reading(s) moved (2 from -1)")
    versioned = relocation.with_readings(v, Change(summary="x"), "stars1", "Here", at(7, 15))
    assert versioned.move_readings == (ReadingMove("stars1", B, at(7, 15), FAR_FUTURE, 3, expected=1),)
    none = relocation.with_readings(v, Change(summary="x"), "stars1", "Here", at(9))
    assert none.move_readings == () and none.summary == "x; no reading of it is stored since 2026-09-01 00:00:00"


def test_moved_note_when_the_store_moved_more():
    change = Change(summary="s", move_readings=(ReadingMove("stars1", A, T0, T1, 3, expected=2),))
    assert relocation.moved_note(change) == ""
    assert relocation.moved_note(Change(summary="s", move_readings=change.move_readings,
                                        created={"readings_moved": 2})) == ""
    assert relocation.moved_note(Change(summary="s", move_readings=change.move_readings,
                                        created={"readings_moved": 5})) == \
        " (5 moved in the end: readings arrived meanwhile)"
