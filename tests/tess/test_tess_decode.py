"""decode(): routing, payload shapes, types, timestamps, names and MACs (docs/rules.md)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tessdb_core.events import Reading, Reason, Registration, Rejection, TimestampSource
from tessdb_tess.decode import decode
from tessdb_tess.normalise import normalise_mac, parse_tstamp, round_to_second

from .tess_helpers import REGISTER_TOPIC, message, settings, tess4c_payload, tessw_payload

S = settings()
CAPTURE = Path(__file__).resolve().parents[1] / "fixtures" / "payloads" / "tess-publisher-0.9.2-capture.txt"


def dec(payload, topic="STARS4ALL/stars1/reading", s=S, **kw):
    return decode(message(payload, topic, **kw), s)


def rejected(result, reason, field=None):
    assert isinstance(result, Rejection), result
    assert result.reason == reason
    assert result.field == field
    assert result.stage == "decode" and result.plugin == "tess"
    if field is not None:
        assert repr(field) in result.detail
    return result


# -- routing ---------------------------------------------------------------------------------
def test_reading_topic_wildcard_plus():
    assert isinstance(dec(tessw_payload(), "STARS4ALL/stars99/reading"), Reading)


def test_topic_not_ours_is_none():
    assert dec(tessw_payload(), "STARS4ALL/stars1/other") is None
    assert dec(tessw_payload(), "OTHER/stars1/reading") is None
    assert dec(tessw_payload(), "STARS4ALL/a/b/reading") is None


def test_hash_wildcard_and_shared_subscription():
    s = settings(mqtt={"tess_topics": ["$share/g/TESS/#"]})
    assert isinstance(dec(tessw_payload(), "TESS/x/y/z", s), Reading)
    assert isinstance(dec(tessw_payload(), "TESS", s), Reading)
    assert dec(tessw_payload(), "TESSX/y", s) is None
    assert dec(tessw_payload(), "STARS4ALL/stars1/reading", s) is None


def test_registration_topic_exact():
    reg = {"name": "stars1", "mac": "AA:BB:CC:DD:EE:FF", "calib": 20.5}
    assert isinstance(dec(reg, REGISTER_TOPIC), Registration)
    assert dec(reg, "STARS4ALL/register/x") is None


def test_empty_registration_topic_disables_registrations():
    s = settings(mqtt={"tess_topic_register": "", "tess_topics": ["#"]})
    reg = {"name": "stars1", "mac": "AA:BB:CC:DD:EE:FF", "calib": 20.5}
    # with '#' it is taken as a reading and the reading fields are missing
    rejected(dec(reg, "", s), Reason.MISSING_FIELD, "seq")


# -- the captured payloads -------------------------------------------------------------------
def _capture():
    out = []
    for line in CAPTURE.read_text().splitlines():
        if line.strip():
            topic, payload = line.split(" ", 1)
            out.append((topic, payload))
    return out


def test_capture_registration():
    topic, payload = _capture()[0]
    reg = dec(payload, topic)
    assert reg == Registration("stars1", "AA:BB:CC:DD:EE:FF", "TESS-W", "Unknown", (20.5,), ("UV/IR-740",), (0.0,),
                               datetime(2026, 11, 30, 0, 49, 48), TimestampSource.SUBSCRIBER, reg.message, "stars1")


def test_capture_full_reading():
    topic, payload = _capture()[2]
    r = dec(payload, topic)
    assert isinstance(r, Reading)
    assert (r.name, r.seq, r.freq, r.mag, r.tamb, r.tsky, r.wdbm) == ("stars1", 0, (12.351,), (20.45,), 10.1, -5.2, -60)
    assert r.tstamp == datetime(2026, 11, 30, 0, 49, 48)
    assert r.tstamp_source == TimestampSource.PUBLISHER
    assert r.model == "TESS-W"
    assert (r.az, r.alt, r.lat, r.long, r.height, r.hash) == (None,) * 6


def test_capture_partial_reading_missing_mag():
    topic, payload = _capture()[3]
    rej = rejected(dec(payload, topic), Reason.MISSING_FIELD, "mag")
    assert rej.name == "stars1"
    assert "stars1" in rej.detail


# -- TESS-W readings --------------------------------------------------------------------------
def test_wdbm_optional_defaults_99_and_extras_ignored():
    r = dec(tessw_payload(wdBm=..., udp=1, rev=2, chan="x", partial=0))
    assert r.wdbm == 99


def test_optional_fields_kept():
    r = dec(tessw_payload(az=10, alt=45.5, lat=40.4, long=-3.7, height=650, hash="EFF"))
    assert (r.az, r.alt, r.lat, r.long, r.height, r.hash) == (10.0, 45.5, 40.4, -3.7, 650.0, "EFF")


def test_numbers_int_float_and_numeric_strings():
    r = dec(tessw_payload(freq=4000, mag="20.5", tamb="-1e1", tsky=0))
    assert r.freq == (4000.0,) and r.mag == (20.5,) and r.tamb == -10.0 and r.tsky == 0.0
    assert type(r.freq[0]) is float


@pytest.mark.parametrize("value,expected", [(3, 3), (3.0, 3), ("3", 3), ("3.0", 3)])
def test_seq_lax_integer(value, expected):
    r = dec(tessw_payload(seq=value))
    assert r.seq == expected and type(r.seq) is int


@pytest.mark.parametrize("value", [3.5, "3.5", "x", True, None, [1]])
def test_seq_refused(value):
    rejected(dec(tessw_payload(seq=value)), Reason.WRONG_TYPE, "seq")


@pytest.mark.parametrize("field", ["freq", "mag", "tamb", "tsky"])
@pytest.mark.parametrize("value", [True, False, "abc", [1.0], {"a": 1}, None, "nan"])
def test_float_fields_wrong_type(field, value):
    rejected(dec(tessw_payload(**{field: value})), Reason.WRONG_TYPE, field)


@pytest.mark.parametrize("field", ["seq", "name", "freq", "mag", "tamb", "tsky"])
def test_missing_mandatory_field(field):
    rej = rejected(dec(tessw_payload(**{field: ...})), Reason.MISSING_FIELD, field)
    assert rej.name == (None if field == "name" else "stars1")


def test_name_wrong_type():
    rejected(dec(tessw_payload(name=12)), Reason.WRONG_TYPE, "name")


def test_hash_wrong_type():
    rejected(dec(tessw_payload(hash=123)), Reason.WRONG_TYPE, "hash")


def test_optional_number_wrong_type():
    rejected(dec(tessw_payload(az="north")), Reason.WRONG_TYPE, "az")
    rejected(dec(tessw_payload(wdBm=-60.5)), Reason.WRONG_TYPE, "wdBm")


def test_name_lower_cased_raw_kept():
    r = dec(tessw_payload(name="STARS1"))
    assert r.name == "stars1" and r.raw_name == "STARS1"


# -- bad payloads ---------------------------------------------------------------------------
def test_bad_encoding():
    rej = rejected(dec(b'{"name": "stars1\xff"}'), Reason.BAD_ENCODING)
    assert "UTF-8" in rej.detail


def test_bad_json():
    rejected(dec(b'{"name": "stars1",'), Reason.BAD_JSON)


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"stars1"', b"3", b"null"])
def test_not_object(payload):
    rejected(dec(payload), Reason.NOT_OBJECT)


def test_rejection_names_photometer_lower_case():
    rej = dec(tessw_payload(name="STARS5", mag="x"))
    assert rej.name == "stars5" and "'STARS5'" in rej.detail and "'mag'" in rej.detail


# -- TESS4C readings ----------------------------------------------------------------------------
def test_tess4c_reading():
    r = dec(tess4c_payload())
    assert r.model == "TESS4C"
    assert r.freq == (1.0, 2.0, 3.0, 4.0)
    assert r.mag == (19.1, 19.2, 19.3, 19.4)
    assert (r.tamb, r.tsky, r.wdbm, r.seq) == (11.0, -3.0, -70, 3)


def test_tess4c_temperatures_optional():
    r = dec(tess4c_payload(tamb=..., tsky=..., wdBm=...))
    assert (r.tamb, r.tsky, r.wdbm) == (-273.15, -273.15, 99)


def test_tess4c_zp_ignored_and_missing_channel_fields():
    p = tess4c_payload()
    del p["F2"]["zp"]
    assert isinstance(dec(p), Reading)
    p = tess4c_payload()
    del p["F3"]["mag"]
    rejected(dec(p), Reason.MISSING_FIELD, "F3.mag")
    rejected(dec(tess4c_payload(F1=...)), Reason.MISSING_FIELD, "F1")
    rejected(dec(tess4c_payload(F2=[1, 2])), Reason.WRONG_TYPE, "F2")
    rejected(dec(tess4c_payload(F4={"freq": "a", "mag": 1})), Reason.WRONG_TYPE, "F4.freq")


# -- registrations ----------------------------------------------------------------------------
def reg(**over):
    d = {"name": "stars1", "mac": "AA:BB:CC:DD:EE:FF", "calib": 20.5, "rev": 2}
    d.update(over)
    return dec({k: v for k, v in d.items() if v is not ...}, REGISTER_TOPIC)


def test_registration_defaults():
    r = reg()
    assert (r.model, r.firmware, r.zp, r.filters, r.offsets, r.nchannels) == (
        "TESS-W", "Unknown", (20.5,), ("UV/IR-740",), (0.0,), 1)


def test_registration_firmware_and_date():
    assert reg(firmware="1.2", date="Jan 1 2025").firmware == "1.2 (Jan 1 2025)"
    assert reg(date="Jan 1 2025").firmware == "Unknown (Jan 1 2025)"
    assert reg(offsethz="0.25", calib="20").offsets == (0.25,)
    assert reg(calib=20).zp == (20.0,)


@pytest.mark.parametrize("field", ["name", "mac", "calib"])
def test_registration_missing(field):
    rejected(reg(**{field: ...}), Reason.MISSING_FIELD, field)


def test_registration_wrong_types():
    rejected(reg(calib="abc"), Reason.WRONG_TYPE, "calib")
    rejected(reg(calib=True), Reason.WRONG_TYPE, "calib")
    rejected(reg(offsethz=[0]), Reason.WRONG_TYPE, "offsethz")
    rejected(reg(mac=1234), Reason.WRONG_TYPE, "mac")
    rejected(reg(firmware=3), Reason.WRONG_TYPE, "firmware")


def test_tess4c_registration():
    p = {"name": "stars701", "mac": "a:b:c:1:2:3", "firmware": "4C-1",
         "F1": {"band": "R", "calib": 20.1}, "F2": {"band": "G", "calib": 20.2, "offsethz": 0.1},
         "F3": {"band": "B", "calib": "20.3"}, "F4": {"band": "Clear", "calib": 20.4}}
    r = dec(p, REGISTER_TOPIC)
    assert (r.model, r.mac, r.zp, r.filters, r.offsets, r.firmware) == (
        "TESS4C", "0A:0B:0C:01:02:03", (20.1, 20.2, 20.3, 20.4), ("R", "G", "B", "Clear"), (0.0, 0.1, 0.0, 0.0), "4C-1")
    del p["F3"]["band"]
    rejected(dec(p, REGISTER_TOPIC), Reason.MISSING_FIELD, "F3.band")


# -- MAC normalisation ---------------------------------------------------------------------------
def test_mac_normalised():
    assert normalise_mac("a:b:c:1:2:3") == "0A:0B:0C:01:02:03"
    assert normalise_mac("aa:BB:cc:dd:ee:ff") == "AA:BB:CC:DD:EE:FF"
    assert reg(mac="a:b:c:1:2:3").mac == "0A:0B:0C:01:02:03"


@pytest.mark.parametrize("mac", ["a:b:c:1:2", "a:b:c:1:2:3:4", "g:b:c:1:2:3", "aab:b:c:1:2:3", "0x1:b:c:1:2:3",
                                 "a:b::1:2:3", " a:b:c:1:2:3", "AABBCCDDEEFF", "a-b-c-1-2-3"])
def test_bad_mac(mac):
    rej = rejected(reg(mac=mac), Reason.BAD_MAC, "mac")
    assert rej.name == "stars1" and repr(mac) in rej.detail


# -- timestamps -----------------------------------------------------------------------------
T = datetime(2026, 11, 30, 0, 49, 48)


@pytest.mark.parametrize("text", ["2026-11-30T00:49:48", "2026-11-30 00:49:48",
                                  "2026-11-30T00:49:48Z", "2026-11-30 00:49:48Z",
                                  "2026-11-30T00:49:48+00:00", "2026-11-30 00:49:48+00:00"])
def test_six_formats(text):
    r = dec(tessw_payload(tstamp=text))
    assert r.tstamp == T and r.tstamp.tzinfo is None
    assert r.tstamp_source == TimestampSource.PUBLISHER


@pytest.mark.parametrize("text,expected", [
    ("2026-11-30T01:49:48+01:00", T),
    ("2026-11-30 01:49:48+0100", T),
    ("2026-11-29T20:19:48-04:30", T),
    ("2026-11-30T00:30:00+01:00", datetime(2026, 11, 29, 23, 30)),
    ("2027-01-01T00:30:00+02:00", datetime(2026, 12, 31, 22, 30)),
])
def test_offsets_converted_to_utc(text, expected):
    assert parse_tstamp(text) == expected


@pytest.mark.parametrize("text", ["2026-11-30T00:49:48.123", "2026-11-30", "30/11/2026 00:49:48",
                                  "2026-11-30T00:49", "2026-13-30T00:49:48", "2026-11-30T24:00:00",
                                  "2026-11-30T00:49:48z", "2026-11-30T00:49:48+1", "", "2026-11-30T00:49:48 Z",
                                  "2026-11-30T00:49:48+25:00",
                                  "2026-11-30T00:4a:48Z", "2026-11-30X00:49:48", "2026-W48-1T00:49:48",
                                  "٢٠٢٦-11-30T00:49:48"])
def test_bad_timestamps(text):
    rej = rejected(dec(tessw_payload(tstamp=text)), Reason.BAD_TIMESTAMP, "tstamp")
    assert rej.name == "stars1"


def test_tstamp_wrong_type():
    rejected(dec(tessw_payload(tstamp=1234567890)), Reason.WRONG_TYPE, "tstamp")


@pytest.mark.parametrize("received,expected", [
    (datetime(2026, 1, 1, 0, 0, 0, 499999), datetime(2026, 1, 1, 0, 0, 0)),
    (datetime(2026, 1, 1, 0, 0, 0, 500000), datetime(2026, 1, 1, 0, 0, 1)),
    (datetime(2026, 12, 31, 23, 59, 59, 700000), datetime(2027, 1, 1, 0, 0, 0)),
    (datetime(2026, 1, 1, 0, 0, 5), datetime(2026, 1, 1, 0, 0, 5)),
])
def test_subscriber_rounding(received, expected):
    assert round_to_second(received) == expected
    r = dec(tessw_payload(), received=received)
    assert r.tstamp == expected and r.tstamp_source == TimestampSource.SUBSCRIBER


def test_registration_timestamps_follow_same_rules():
    r = reg(tstamp="2026-11-30T01:49:48+01:00")
    assert r.tstamp == T and r.tstamp_source == TimestampSource.PUBLISHER
    rejected(reg(tstamp="yesterday"), Reason.BAD_TIMESTAMP, "tstamp")
