"""resolve(): the version valid at the reading's own time, hash, auth filter, units (docs/rules.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tessdb_core.catalog import Catalog
from tessdb_core.contracts import ResolvedReading
from tessdb_core.events import Reason, Rejection, TimestampSource
from tessdb_tess.registration import decide
from tessdb_tess.resolve import resolve, units_id

from .tess_helpers import commit, mapping, reading, registration, settings, version

AF = "AA:BB:CC:DD:EE:FF"
FA = "FF:EE:DD:CC:BB:AA"
T = [datetime(2026, 1, 1) + timedelta(days=i) for i in range(10)]
S = settings()
AUTH = settings(dbase={"auth_filter": True})


def reg(cat, *args, **kw):
    return commit(cat, decide(registration(*args, **kw), cat))


@pytest.fixture
def cat():
    c = Catalog()
    reg(c, "stars1", AF, 20.5, T[1])
    reg(c, "stars1", AF, 20.3, T[3])  # zp change
    return c


def ok(result) -> ResolvedReading:
    assert isinstance(result, ResolvedReading), result
    return result


def refused(result, reason):
    assert isinstance(result, Rejection), result
    assert (result.reason, result.stage, result.plugin) == (reason, "resolve", "tess")
    return result


def test_version_by_window(cat):
    assert ok(resolve(reading(tstamp=T[2]), cat, S)).version.zp == (20.5,)
    assert ok(resolve(reading(tstamp=T[4]), cat, S)).version.zp == (20.3,)
    # half-open: exactly at the change belongs to the new version, just before to the old one
    assert ok(resolve(reading(tstamp=T[3]), cat, S)).version.zp == (20.3,)
    assert ok(resolve(reading(tstamp=T[3] - timedelta(seconds=1)), cat, S)).version.zp == (20.5,)
    # and back again (the memo must not stick to the last hit)
    assert ok(resolve(reading(tstamp=T[2]), cat, S)).version.zp == (20.5,)


def test_not_registered(cat):
    rej = refused(resolve(reading(tstamp=T[0]), cat, S), Reason.UNKNOWN_PHOTOMETER)
    assert rej.name == "stars1" and "stars1" in rej.detail and rej.field == "name"
    refused(resolve(reading(name="stars2", tstamp=T[4]), cat, S), Reason.UNKNOWN_PHOTOMETER)


def test_reading_held_across_a_rename(cat):
    late = reading(tstamp=T[4])  # stamped before the rename, processed after it
    assert ok(resolve(late, cat, S)).version.zp == (20.3,)  # fills the memo
    reg(cat, "stars2", AF, 20.3, T[5])  # B: rename
    assert ok(resolve(late, cat, S)).version.zp == (20.3,)
    refused(resolve(reading(tstamp=T[6]), cat, S), Reason.UNKNOWN_PHOTOMETER)
    assert ok(resolve(reading(name="stars2", tstamp=T[6]), cat, S)).version.mac == AF
    refused(resolve(reading(name="stars2", tstamp=T[4]), cat, S), Reason.UNKNOWN_PHOTOMETER)


def test_replace_starts_new_device_at_its_time(cat):
    assert ok(resolve(reading(tstamp=T[5]), cat, S)).version.mac == AF
    reg(cat, "stars1", FA, 20.4, T[5])  # C at T5
    assert ok(resolve(reading(tstamp=T[5] - timedelta(seconds=1)), cat, S)).version.mac == AF
    assert ok(resolve(reading(tstamp=T[5]), cat, S)).version.mac == FA


def test_mapping_without_version_is_unknown():
    c = Catalog([mapping("stars1", AF, T[1])], [version(AF, T[3])])
    refused(resolve(reading(tstamp=T[2]), c, S), Reason.UNKNOWN_PHOTOMETER)
    ok(resolve(reading(tstamp=T[4]), c, S))


def test_overlapping_legacy_rows_newest_since_wins():
    c = Catalog([mapping("stars1", AF, T[1])],
                [version(AF, T[1], zp=20.0), version(AF, T[3], zp=21.0)])  # two Current rows
    assert ok(resolve(reading(tstamp=T[2]), c, S)).version.zp == (20.0,)
    assert ok(resolve(reading(tstamp=T[4]), c, S)).version.zp == (21.0,)
    assert ok(resolve(reading(tstamp=T[2]), c, S)).version.zp == (20.0,)


@pytest.mark.parametrize("h,good", [("EFF", True), (None, True), ("EFE", False), ("eff", False)])
def test_hash(cat, h, good):
    r = resolve(reading(tstamp=T[4], hash=h), cat, S)
    if good:
        ok(r)
    else:
        rej = refused(r, Reason.HASH_MISMATCH)
        assert rej.field == "hash" and AF in rej.detail


def test_auth_filter(cat):
    r = reading(tstamp=T[4])
    assert ok(resolve(r, cat, S)).version.authorised is False
    rej = refused(resolve(r, cat, AUTH), Reason.NOT_AUTHORISED)
    assert "stars1" in rej.detail
    c = Catalog([mapping("stars1", AF, T[1])], [version(AF, T[1], authorised=True)])
    ok(resolve(r, c, AUTH))


def test_location_and_observer_from_version():
    c = Catalog([mapping("stars1", AF, T[1])],
                [version(AF, T[1], T[3], location_id=4, observer_id=9), version(AF, T[3], location_id=5)])
    a = ok(resolve(reading(tstamp=T[2]), c, S))
    b = ok(resolve(reading(tstamp=T[4]), c, S))
    assert (a.version.location_id, a.version.observer_id) == (4, 9)
    assert (b.version.location_id, b.version.observer_id) == (5, -1)


@pytest.mark.parametrize("imported,source,expected", [
    (False, TimestampSource.SUBSCRIBER, 0), (False, TimestampSource.PUBLISHER, 1),
    (True, TimestampSource.SUBSCRIBER, 2), (True, TimestampSource.PUBLISHER, 3)])
def test_units_id(cat, imported, source, expected):
    r = reading(tstamp=T[4], imported=imported, source=source)
    assert units_id(r) == expected
    assert ok(resolve(r, cat, S)).units_id == expected


def test_new_catalog_object_is_used(cat):
    ok(resolve(reading(tstamp=T[4]), cat, S))
    refused(resolve(reading(tstamp=T[4]), Catalog(), S), Reason.UNKNOWN_PHOTOMETER)
