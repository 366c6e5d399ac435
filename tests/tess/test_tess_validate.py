"""validate(): discards first (retained, white list, black list), name pattern, ranges, hash."""

from __future__ import annotations

import pytest

from tessdb_core.events import Reason
from tessdb_tess.validate import validate

from .tess_helpers import reading, registration, settings

S = settings()


def reasons(problems):
    return [(p.reason, p.field) for p in problems]


def test_good_reading_and_registration():
    assert validate(reading(), S) == []
    assert validate(registration("stars1", "AA:BB:CC:DD:EE:FF"), S) == []


def test_retained_first():
    s = settings(mqtt={"tess_blacklist": ["stars1"], "tess_whitelist": ["other"]})
    p = validate(reading(retain=True), s)
    assert reasons(p) == [(Reason.RETAINED, None)]
    assert not p[0].quarantined
    assert reasons(validate(registration("stars1", "AA:BB:CC:DD:EE:FF", retain=True), S)) == [(Reason.RETAINED, None)]


def test_whitelist_uses_raw_name():
    s = settings(mqtt={"tess_whitelist": ["STARS1"]})
    assert validate(reading(name="stars1", raw_name="STARS1"), s) == []
    p = validate(reading(name="stars1", raw_name="stars1"), s)
    assert reasons(p) == [(Reason.WHITELIST, "name")] and not p[0].quarantined


def test_whitelist_before_blacklist():
    s = settings(mqtt={"tess_whitelist": ["stars2"], "tess_blacklist": ["stars1"]})
    assert reasons(validate(reading(name="stars1"), s)) == [(Reason.WHITELIST, "name")]


def test_blacklist():
    s = settings(mqtt={"tess_blacklist": ["stars1"]})
    assert reasons(validate(reading(name="stars1"), s)) == [(Reason.BLACKLIST, "name")]
    assert validate(reading(name="stars2"), s) == []
    assert reasons(validate(registration("stars1", "AA:BB:CC:DD:EE:FF"), s)) == [(Reason.BLACKLIST, "name")]


@pytest.mark.parametrize("name,ok", [("stars1", True), ("stars1234567", True), ("stars12345678", False),
                                     ("stars", False), ("tess1", False), ("xstars1", False), ("stars1a", False)])
def test_name_pattern(name, ok):
    p = validate(reading(name=name), S)
    assert p == [] if ok else reasons(p) == [(Reason.BAD_NAME, "name")]
    if not ok:
        assert p[0].quarantined and repr(name) in p[0].detail


def test_name_pattern_setting():
    s = settings(rules={"name_pattern": r"^(stars|sqm)\d+$"})
    assert validate(reading(name="sqm4"), s) == []
    assert reasons(validate(reading(name="tess4"), s)) == [(Reason.BAD_NAME, "name")]


@pytest.mark.parametrize("zp,ok", [(10.0, True), (30.0, True), (9.99, False), (30.01, False), (0.0, False)])
def test_zp_range(zp, ok):
    p = validate(registration("stars1", "AA:BB:CC:DD:EE:FF", zp=zp), S)
    assert p == [] if ok else reasons(p) == [(Reason.OUT_OF_RANGE, "calib")]


@pytest.mark.parametrize("off,ok", [(0.0, True), (1.0, True), (-0.01, False), (1.5, False)])
def test_offset_range(off, ok):
    p = validate(registration("stars1", "AA:BB:CC:DD:EE:FF", offsets=(off,)), S)
    assert p == [] if ok else reasons(p) == [(Reason.OUT_OF_RANGE, "offsethz")]


def test_range_settings_and_tess4c_fields():
    s = settings(rules={"zp_min": 15.0, "zp_max": 21.0})
    r = registration("stars701", "AA:BB:CC:DD:EE:FF", zp=(20.0, 22.0, 14.0, 20.0), offsets=(0.0, 0.0, 0.0, 2.0))
    assert reasons(validate(r, s)) == [(Reason.OUT_OF_RANGE, "F2.calib"), (Reason.OUT_OF_RANGE, "F3.calib"),
                                        (Reason.OUT_OF_RANGE, "F4.offsethz")]


@pytest.mark.parametrize("field,bad,good", [("az", 360.5, 270.0), ("az", -180.5, -180.0), ("alt", -90.1, 90.0),
                                            ("lat", 91.0, -90.0), ("long", -181.0, 180.0)])
def test_reading_optional_ranges(field, bad, good):
    assert validate(reading(**{field: good}), S) == []
    p = validate(reading(**{field: bad}), S)
    assert reasons(p) == [(Reason.OUT_OF_RANGE, field)]
    assert repr(field) in p[0].detail and "stars1" in p[0].detail


@pytest.mark.parametrize("h,ok", [("EFF", True), ("a1Z", True), ("EF", False), ("EFFF", False), ("E-F", False),
                                  ("ÉFF", False)])
def test_hash_shape(h, ok):
    p = validate(reading(hash=h), S)
    assert p == [] if ok else reasons(p) == [(Reason.WRONG_TYPE, "hash")]


def test_several_problems_in_order():
    p = validate(reading(name="bad", az=500.0, hash="x"), S)
    assert reasons(p) == [(Reason.BAD_NAME, "name"), (Reason.OUT_OF_RANGE, "az"), (Reason.WRONG_TYPE, "hash")]


def test_a_reading_dated_ahead_of_its_arrival_is_a_bad_timestamp():
    from datetime import datetime

    from tessdb_core.events import Message

    def at(tstamp, received):
        r = reading(tstamp=tstamp)
        r.message = Message("STARS4ALL/stars1/reading", b"{}", received)
        return r

    arrived = datetime(2026, 12, 7, 0, 0, 0)
    assert validate(at(datetime(2026, 12, 7, 0, 10, 0), arrived), S) == []  # 10 minutes ahead: the default
    p = validate(at(datetime(2026, 12, 7, 0, 10, 1), arrived), S)
    assert reasons(p) == [(Reason.BAD_TIMESTAMP, "tstamp")] and "10 minutes in the future" in p[0].detail
    p = validate(at(datetime(2100, 1, 1), arrived), S)
    assert reasons(p) == [(Reason.BAD_TIMESTAMP, "tstamp")] and "in the future" in p[0].detail
    assert validate(at(datetime(2026, 12, 7, 0, 50), arrived), settings(rules={"max_clock_ahead": "1h"})) == []
    ingested = at(datetime(2026, 12, 8), arrived)
    ingested.message = Message("STARS4ALL/stars1/reading", b"{}", arrived, imported=True)
    assert validate(ingested, S) == []  # a file's received time is not an arrival the collector saw


def test_max_clock_ahead_must_be_a_duration():
    from tessdb_core.settings import SettingsError, load
    from tessdb_tess.checks import rules_section

    with pytest.raises(SettingsError, match="rules.max_clock_ahead"):
        load(sections=[rules_section()],
             environ={"TESSDB_RULES__MAX_CLOCK_AHEAD": "soon"})
