"""Strict input rules (issue 10 part 1): one test per finding of the hostile tester.

Each payload goes through the real ``decode`` and ``validate`` stages, as the pipeline
runs them; the first problem decides the quarantine reason.  Every test here failed on
the code before the change (names by ``re.search``, no reading ranges, no length caps,
an OverflowError for an offset at year 1).
"""

from __future__ import annotations

import pytest

from tessdb_core.events import Reading, Reason, Registration, Rejection
from tessdb_tess.decode import decode
from tessdb_tess.validate import validate

from .tess_helpers import REGISTER_TOPIC, message, registration, settings, tess4c_payload, tessw_payload

S = settings()
MAC = "AA:BB:CC:DD:EE:FF"


def outcome(payload, topic="STARS4ALL/stars1/reading", s=S):
    """(reason, field) of the first problem, or the accepted event."""
    event = decode(message(payload, topic), s)
    if isinstance(event, Rejection):
        return event.reason, event.field
    assert isinstance(event, (Reading, Registration)), event
    problems = validate(event, s)
    if problems:
        return problems[0].reason, problems[0].field
    return event


def reg_payload(**over):
    d = {"name": "stars1", "mac": MAC, "calib": 20.5, "firmware": "1.3.0", "tstamp": "2026-11-30T00:00:00Z"}
    d.update(over)
    return d


# -- names: matched in full, ASCII digits only ------------------------------------------------------
@pytest.mark.parametrize("name", ["stars901\n", "stars٩٠٢", "STARS٣", "stars１", "stars1\r\n"])
def test_reading_names_are_matched_in_full_with_ascii_digits(name):
    assert outcome(tessw_payload(name=name)) == (Reason.BAD_NAME, "name")


@pytest.mark.parametrize("name", ["stars901\n", "stars٩٠٢"])
def test_registration_names_are_matched_in_full_with_ascii_digits(name):
    assert outcome(reg_payload(name=name), REGISTER_TOPIC) == (Reason.BAD_NAME, "name")


@pytest.mark.parametrize("pattern", [r"^stars\d{1,7}$", r"stars\d{1,7}", r"stars[0-9]{1,7}"])
def test_a_site_pattern_is_matched_in_full_and_ascii_too(pattern):
    s = settings(rules={"name_pattern": pattern})
    assert isinstance(outcome(tessw_payload(name="STARS12"), s=s), Reading)
    for bad in ("stars901\n", "stars٩٠٢", "xstars1", "stars1x"):
        assert outcome(tessw_payload(name=bad), s=s) == (Reason.BAD_NAME, "name"), bad


# -- numbers: finite and within the documented ranges -----------------------------------------------
@pytest.mark.parametrize("field,value", [
    ("freq", 1.7e308), ("freq", -1.0), ("mag", -1.7e308), ("mag", 1e6),
    ("tamb", 1e300), ("tamb", -300.0), ("tsky", -1e300), ("tsky", 500.0),
    ("wdBm", 10 ** 18), ("wdBm", -1000), ("wdBm", 1e18),
    ("az", 1e300), ("alt", 90.5), ("lat", -1e9), ("long", 181.0), ("height", 1e12), ("height", -5000.0),
    ("seq", "1e18"), ("seq", 10 ** 18), ("seq", -1), ("seq", 2 ** 63), ("seq", "-9223372036854775809"),
    ("seq", "9223372036854775808"),
])
def test_out_of_range_numbers_name_the_field(field, value):
    assert outcome(tessw_payload(**{field: value})) == (Reason.OUT_OF_RANGE, field)


@pytest.mark.parametrize("text", [b'-9223372036854775809', b'18446744073709551616', b'9223372036854775808'])
def test_integers_beyond_64_bits_are_never_stored_as_another_number(text):
    """-9223372036854775809 used to be stored as -9223372036854775808."""
    payload = b'{"seq": ' + text + b', "name": "stars1", "freq": 1.0, "mag": 20.0, "tamb": 1.0, "tsky": 1.0}'
    assert outcome(payload) == (Reason.OUT_OF_RANGE, "seq")


def test_tess4c_channels_are_named():
    p = tess4c_payload(F3={"freq": 1e300, "mag": 19.3}, F2={"freq": 2.0, "mag": -1e300})
    event = decode(message(p, "STARS4ALL/stars701/reading"), S)
    assert [(x.reason, x.field) for x in validate(event, S)] == [(Reason.OUT_OF_RANGE, "F3.freq"),
                                                                 (Reason.OUT_OF_RANGE, "F2.mag")]
    p = tess4c_payload(F4={"freq": 4.0, "mag": 1e9})
    assert outcome(p, "STARS4ALL/stars701/reading") == (Reason.OUT_OF_RANGE, "F4.mag")


@pytest.mark.parametrize("field,value", [("freq", "١٢"), ("mag", "1_000"), ("tamb", " 12"), ("tsky", "inf"),
                                         ("freq", "NaN"), ("seq", "٣"), ("wdBm", "-6_0")])
def test_numeric_text_is_ascii_and_plain(field, value):
    assert outcome(tessw_payload(**{field: value})) == (Reason.WRONG_TYPE, field)


def test_real_payloads_pass():
    for p in (tessw_payload(), tessw_payload(freq=0.0, mag=0.0, wdBm=31, seq=0),
              tessw_payload(az=270.0, alt=90.0, lat=28.76, long=-17.88, height=2396.0, tamb=-20.5, tsky=-70.0),
              tessw_payload(seq=2 ** 32 - 1, freq="12.5", mag="20", wdBm="-60")):
        assert isinstance(outcome(p), Reading), p


def test_the_stored_placeholders_always_pass():
    """A TESS4C without temperatures stores -273.15; a reading without wdBm stores 99:
    a site that narrows the ranges does not refuse them."""
    s = settings(rules={"temperature_min": -60.0, "wdbm_min": -120, "wdbm_max": 0})
    p = tess4c_payload(tamb=..., tsky=..., wdBm=...)
    r = outcome(p, "STARS4ALL/stars701/reading", s=s)
    assert isinstance(r, Reading) and r.tamb == -273.15 and r.wdbm == 99
    assert outcome(tessw_payload(tamb=-61.0), s=s) == (Reason.OUT_OF_RANGE, "tamb")


def test_a_site_widens_a_range():
    s = settings(rules={"freq_max": 1e12, "seq_min": -(2 ** 63), "seq_max": 2 ** 63 - 1})
    assert isinstance(outcome(tessw_payload(freq=1e11, seq=-5), s=s), Reading)
    assert outcome(tessw_payload(freq=1e13), s=s) == (Reason.OUT_OF_RANGE, "freq")


def test_out_of_range_detail_names_the_settings_keys():
    event = decode(message(tessw_payload(freq=1.7e308)), S)
    (problem,) = validate(event, S)
    assert "'freq'" in problem.detail and "rules.freq_min/freq_max" in problem.detail and "stars1" in problem.detail


# -- strings: length-capped ---------------------------------------------------------------------------
def test_a_huge_firmware_is_refused():
    assert outcome(reg_payload(firmware="x" * 1_000_000), REGISTER_TOPIC) == (Reason.OUT_OF_RANGE, "firmware")
    assert outcome(reg_payload(firmware="1.3.0", date="y" * 300), REGISTER_TOPIC) == (Reason.OUT_OF_RANGE, "firmware")
    assert isinstance(outcome(reg_payload(firmware="1.3.0", date="Nov 27 2023"), REGISTER_TOPIC), Registration)


def test_a_huge_filter_band_is_refused():
    p = {"name": "stars701", "mac": MAC, "tstamp": "2026-11-30T00:00:00Z",
         **{f"F{i}": {"band": "B", "calib": 20.0} for i in range(1, 5)}}
    assert isinstance(outcome(p, REGISTER_TOPIC), Registration)
    p["F3"] = {"band": "R" * 65, "calib": 20.0}
    assert outcome(p, REGISTER_TOPIC) == (Reason.OUT_OF_RANGE, "F3.band")


def test_a_huge_model_from_another_decoder_is_refused():
    """The TESS rules validate every decoder's registrations; the TESS decoder sets the model itself."""
    r = registration("stars1", MAC, model="M" * 10_000)
    (problem,) = validate(r, S)
    assert (problem.reason, problem.field) == (Reason.OUT_OF_RANGE, "model")
    r = registration("stars1", MAC, firmware="f" * 256)
    assert [(p.reason, p.field) for p in validate(r, S)] == [(Reason.OUT_OF_RANGE, "firmware")]


# -- timestamps: every problem is bad_timestamp ----------------------------------------------------------
@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01 00:30:00+0100",
                                  "2999-12-31T23:59:59Z", "9999-12-31T23:59:59", "2026-02-30T00:00:00Z",
                                  "2026-11-30T00:00:00+24:00"])
def test_every_timestamp_problem_is_bad_timestamp(text):
    assert outcome(tessw_payload(tstamp=text)) == (Reason.BAD_TIMESTAMP, "tstamp")
    assert outcome(reg_payload(tstamp=text), REGISTER_TOPIC) == (Reason.BAD_TIMESTAMP, "tstamp")
