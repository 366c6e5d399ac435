"""Decode a raw MQTT message into a typed TESS event (docs/rules.md: Readings, Registration messages).

Why it is shaped this way: decoding runs once per reading on the hot path, so the
common case (a well-formed TESS-W reading) takes straight lines with exact type
tests; every problem raises one private exception that becomes a Rejection naming
the reason, the payload field and the photometer.  Range checks and white/black
lists are *not* here: they belong to ``validate``; decoding refuses only a number it
cannot represent (an infinite one, an integer too large for a float to hold exactly).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from tessdb_core import FAR_FUTURE, Message, Reading, Reason, Registration, Rejection, TimestampSource

from .config import config_of
from .normalise import normalise_mac, parse_tstamp, round_to_second
from .photometer import NO_SIGNAL, NO_TEMPERATURE, TESS4C_MODEL, TESSW_FILTER, TESSW_MODEL, UNKNOWN_FIRMWARE

__all__ = ["decode"]

PLUGIN = "tess"
STAGE = "decode"

#: a number written as text: ASCII digits only (no "1_000", "١٢", " 12", "nan", "inf")
_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
#: the largest integer a float holds exactly: a larger integral float may not be what was sent
_EXACT_FLOAT_INTEGER = 2 ** 53

_PUBLISHER = TimestampSource.PUBLISHER
_SUBSCRIBER = TimestampSource.SUBSCRIBER
_CHANNELS = ("F1", "F2", "F3", "F4")
_OPTIONAL_FLOATS = ("az", "alt", "lat", "long", "height")
_TESSW_REQUIRED = ("seq", "freq", "mag", "tamb", "tsky")


class _Bad(Exception):
    """A payload problem found while decoding: reason, field and what is wrong."""

    def __init__(self, reason: str, field: str, problem: str):
        self.reason = reason
        self.field = field
        self.problem = problem


# -- field readers (exact type tests first: they are the common case) ------------------------
def _number(value: Any, field: str) -> float:
    """A float from an int, a float or a numeric string (ASCII, finite); booleans are not numbers."""
    t = type(value)
    if t is float:
        return value
    if t is int:
        try:
            return float(value)
        except OverflowError:  # an integer beyond the float range: no measurement is that large
            raise _Bad(Reason.OUT_OF_RANGE, field, f"field {field!r} = {value!r} is too large") from None
    if t is str:
        if _NUMBER_TEXT.fullmatch(value) is None:
            raise _Bad(Reason.WRONG_TYPE, field, f"field {field!r} = {value!r} is not a number")
        f = float(value)
        if f in (float("inf"), float("-inf")):
            raise _Bad(Reason.OUT_OF_RANGE, field, f"field {field!r} = {value!r} is not a finite number")
        return f
    raise _Bad(Reason.WRONG_TYPE, field, f"field {field!r} = {value!r} is not a number")


def _integer(value: Any, field: str) -> int:
    """An int from an int, an integral float (3.0) or an integer string; 3.5 is refused, and so is
    an integral float too large to be exact (-9223372036854775809 reads as -2**63 in a float)."""
    t = type(value)
    if t is int:
        return value
    if t is str:
        if _INTEGER_TEXT.fullmatch(value) is not None:
            return int(value)
        if _NUMBER_TEXT.fullmatch(value) is None:
            raise _Bad(Reason.WRONG_TYPE, field, f"field {field!r} = {value!r} is not an integer")
        value = float(value)  # "3.0", "1e3": checked as a float below
        t = float
    if t is float:
        if not value.is_integer():  # also NaN and the infinities
            if value != value or value in (float("inf"), float("-inf")):
                raise _Bad(Reason.OUT_OF_RANGE, field, f"field {field!r} = {value!r} is not a finite number")
            raise _Bad(Reason.WRONG_TYPE, field, f"field {field!r} = {value!r} is not an integer")
        if abs(value) > _EXACT_FLOAT_INTEGER:
            raise _Bad(Reason.OUT_OF_RANGE, field, f"field {field!r} = {value!r} is too large to be an exact "
                                                   f"integer (at most {_EXACT_FLOAT_INTEGER} when not written as one)")
        return int(value)
    raise _Bad(Reason.WRONG_TYPE, field, f"field {field!r} = {value!r} is not an integer")


def _required(d: dict, key: str, field: str | None = None) -> Any:
    try:
        return d[key]
    except KeyError:
        f = field or key
        raise _Bad(Reason.MISSING_FIELD, f, f"missing mandatory field {f!r}") from None


def _string(value: Any, field: str) -> str:
    if type(value) is not str:
        raise _Bad(Reason.WRONG_TYPE, field, f"field {field!r} = {value!r} is not a string")
    return value


def _raw_name(d: dict) -> str:
    return _string(_required(d, "name"), "name")


def _timestamp(d: dict, message: Message) -> tuple[datetime, str]:
    """(tstamp, source): the payload's ``tstamp`` (Publisher) or the arrival time (Subscriber)."""
    text = d.get("tstamp")
    if text is None:
        return round_to_second(message.received), _SUBSCRIBER
    if type(text) is not str:
        raise _Bad(Reason.WRONG_TYPE, "tstamp", f"field 'tstamp' = {text!r} is not a string")
    try:
        t = parse_tstamp(text)
    except ValueError as exc:
        raise _Bad(Reason.BAD_TIMESTAMP, "tstamp", f"field 'tstamp' = {text!r} is not a valid timestamp ({exc})") from None
    if t >= FAR_FUTURE:
        raise _Bad(Reason.BAD_TIMESTAMP, "tstamp", f"field 'tstamp' = {text!r} is not a valid timestamp (not before "
                                                   f"{FAR_FUTURE:%Y-%m-%d %H:%M:%S}, the catalogue's end of time)")
    return t, _PUBLISHER


# -- readings -------------------------------------------------------------------------------
def _reading(d: dict, message: Message, raw: str) -> Reading:
    if "F4" not in d:
        # the hot path: plain indexing, exact type tests, helpers only on the unusual case
        try:
            seq = d["seq"]
            f = d["freq"]
            m = d["mag"]
            tamb = d["tamb"]
            tsky = d["tsky"]
        except KeyError:
            for key in _TESSW_REQUIRED:
                _required(d, key)
            raise
        if type(seq) is not int:
            seq = _integer(seq, "seq")
        freq = (f if type(f) is float else _number(f, "freq"),)
        mag = (m if type(m) is float else _number(m, "mag"),)
        if type(tamb) is not float:
            tamb = _number(tamb, "tamb")
        if type(tsky) is not float:
            tsky = _number(tsky, "tsky")
    else:
        seq = _integer(_required(d, "seq"), "seq")
        freqs = []
        mags = []
        for ch in _CHANNELS:
            obj = _required(d, ch)
            if type(obj) is not dict:
                raise _Bad(Reason.WRONG_TYPE, ch, f"field {ch!r} is not an object")
            freqs.append(_number(_required(obj, "freq", f"{ch}.freq"), f"{ch}.freq"))
            mags.append(_number(_required(obj, "mag", f"{ch}.mag"), f"{ch}.mag"))
        freq = tuple(freqs)
        mag = tuple(mags)
        v = d.get("tamb")
        tamb = NO_TEMPERATURE if v is None else _number(v, "tamb")
        v = d.get("tsky")
        tsky = NO_TEMPERATURE if v is None else _number(v, "tsky")
    v = d.get("wdBm")
    wdbm = NO_SIGNAL if v is None else _integer(v, "wdBm")
    az = alt = lat = long = height = None
    if "az" in d or "alt" in d or "lat" in d or "long" in d or "height" in d:
        az, alt, lat, long, height = (
            None if d.get(k) is None else _number(d[k], k) for k in _OPTIONAL_FLOATS
        )
    h = d.get("hash")
    if h is not None and type(h) is not str:
        raise _Bad(Reason.WRONG_TYPE, "hash", f"field 'hash' = {h!r} is not a string")
    tstamp, source = _timestamp(d, message)
    return Reading(raw.lower(), tstamp, source, seq, freq, mag, tamb, tsky, message,
                   wdbm, az, alt, lat, long, height, h, raw)


# -- registrations --------------------------------------------------------------------------
def _registration(d: dict, message: Message, raw: str) -> Registration:
    mac_text = _string(_required(d, "mac"), "mac")
    try:
        mac = normalise_mac(mac_text)
    except ValueError as exc:
        raise _Bad(Reason.BAD_MAC, "mac", f"field 'mac': {exc}") from None
    if "F4" in d:
        model = TESS4C_MODEL
        zps, bands, offsets = [], [], []
        for ch in _CHANNELS:
            obj = _required(d, ch)
            if type(obj) is not dict:
                raise _Bad(Reason.WRONG_TYPE, ch, f"field {ch!r} is not an object")
            bands.append(_string(_required(obj, "band", f"{ch}.band"), f"{ch}.band"))
            zps.append(_number(_required(obj, "calib", f"{ch}.calib"), f"{ch}.calib"))
            v = obj.get("offsethz")
            offsets.append(0.0 if v is None else _number(v, f"{ch}.offsethz"))
        zp, filters, offs = tuple(zps), tuple(bands), tuple(offsets)
    else:
        model = TESSW_MODEL
        zp = (_number(_required(d, "calib"), "calib"),)
        v = d.get("offsethz")
        offs = (0.0 if v is None else _number(v, "offsethz"),)
        filters = (TESSW_FILTER,)
    v = d.get("firmware")
    firmware = UNKNOWN_FIRMWARE if v is None else _string(v, "firmware")
    v = d.get("date")
    if v is not None:
        firmware = f"{firmware} ({_string(v, 'date')})"
    tstamp, source = _timestamp(d, message)
    return Registration(raw.lower(), mac, model, firmware, zp, filters, offs, tstamp, source, message, raw)


# -- the stage --------------------------------------------------------------------------------
def _reject(reason: str, detail: str, field: str | None = None, name: str | None = None) -> Rejection:
    return Rejection(reason, detail, STAGE, PLUGIN, field, name)


def decode(message: Message, settings: Any) -> Registration | Reading | Rejection | None:
    """Registration on ``mqtt.tess_topic_register``, Reading on ``mqtt.tess_topics``,
    a Rejection for a bad payload, None for a topic that is not ours."""
    cfg = config_of(settings)
    topic = message.topic
    if topic == cfg.register_topic and topic:
        kind = "registration"
    elif cfg.is_reading_topic(topic):
        kind = "reading"
    else:
        return None
    payload = message.payload
    try:
        d = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        if isinstance(payload, (bytes, bytearray, memoryview)):
            try:
                bytes(payload).decode("utf-8")
            except UnicodeDecodeError as uexc:
                return _reject(Reason.BAD_ENCODING, f"{kind} payload on {topic} is not UTF-8: {uexc}")
        return _reject(Reason.BAD_JSON, f"{kind} payload on {topic} is not valid JSON: {exc}")
    if type(d) is not dict:
        return _reject(Reason.NOT_OBJECT, f"{kind} payload on {topic} is a JSON {type(d).__name__}, not an object")
    raw = None
    try:
        raw = _raw_name(d)
        if kind == "reading":
            return _reading(d, message, raw)
        return _registration(d, message, raw)
    except _Bad as bad:
        who = f"photometer {raw!r}" if raw is not None else "an unnamed photometer"
        return _reject(bad.reason, f"{bad.problem} in {kind} payload of {who}", bad.field,
                       raw.lower() if raw is not None else None)
