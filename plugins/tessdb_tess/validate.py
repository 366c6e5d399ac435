"""Validate a decoded TESS event against the rules of a settings snapshot (docs/rules.md).

Why separate from decoding: these rules depend on reloadable settings (lists,
name pattern, ranges), and the discards (retained, white list, black list) must
be recognised first, in that order, because they are counted, not
quarantined.  The order of the returned list matters: the first problem decides.
"""

from __future__ import annotations

from typing import Any

from tessdb_core import Reading, Reason, Registration, Rejection

from .config import TessConfig, config_of
from .photometer import NO_SIGNAL, NO_TEMPERATURE

__all__ = ["validate"]

PLUGIN = "tess"
STAGE = "validate"


def _problem(reason: str, detail: str, field: str | None, name: str | None) -> Rejection:
    return Rejection(reason, detail, STAGE, PLUGIN, field, name)


def _is_number(v: Any) -> bool:
    return (type(v) is float or type(v) is int) and v == v


def _out_of_range(field: str, value: Any, lo: Any, hi: Any, unit: str, key: str, what: str,
                  out: list[Rejection], name: str) -> None:
    if not _is_number(value):
        out.append(_problem(Reason.WRONG_TYPE if value == value else Reason.OUT_OF_RANGE,
                            f"field {field!r} = {value!r} is not a number in {what} of {name!r}", field, name))
        return
    out.append(_problem(Reason.OUT_OF_RANGE,
                        f"field {field!r} = {value!r} is outside [{lo}, {hi}]{' ' + unit if unit else ''} "
                        f"(rules.{key}_min/{key}_max) in {what} of {name!r}", field, name))


def _check(field: str, value: Any, lo: Any, hi: Any, unit: str, key: str, what: str,
           out: list[Rejection], name: str) -> None:
    try:
        if lo <= value <= hi and type(value) is not bool:
            return
    except TypeError:
        pass
    _out_of_range(field, value, lo, hi, unit, key, what, out, name)


def _text(field: str, value: Any, limit: int, key: str, name: str, out: list[Rejection]) -> None:
    if type(value) is not str:
        out.append(_problem(Reason.WRONG_TYPE, f"field {field!r} = {value!r} is not a string in registration "
                                               f"of {name!r}", field, name))
    elif len(value) > limit:
        out.append(_problem(Reason.OUT_OF_RANGE, f"field {field!r} is {len(value)} characters long, more than "
                                                 f"the {limit} of rules.{key} in registration of {name!r} "
                                                 f"(starts {value[:32]!r})", field, name))


def _registration_rules(reg: Registration, cfg: TessConfig, out: list[Rejection]) -> None:
    four = reg.nchannels > 1
    name = reg.name
    for i, zp in enumerate(reg.zp):
        field = f"F{i + 1}.calib" if four else "calib"
        _check(field, zp, cfg.zp_min, cfg.zp_max, "mag/arcsec^2", "zp", "registration", out, name)
    for i, off in enumerate(reg.offsets):
        field = f"F{i + 1}.offsethz" if four else "offsethz"
        _check(field, off, cfg.offset_min, cfg.offset_max, "Hz", "offset", "registration", out, name)
    _text("firmware", reg.firmware, cfg.firmware_max_length, "firmware_max_length", name, out)
    _text("model", reg.model, cfg.model_max_length, "model_max_length", name, out)
    for i, band in enumerate(reg.filters):
        if band is not None:
            _text(f"F{i + 1}.band" if four else "filter", band, cfg.filter_max_length, "filter_max_length", name, out)


def _in_ranges(r: Reading, cfg: TessConfig) -> bool:
    """The common case in one expression: every mandatory number within its range."""
    try:
        freq, mag, tamb, tsky, wdbm = r.freq, r.mag, r.tamb, r.tsky, r.wdbm
        if len(freq) == 1 and len(mag) == 1:
            if not (cfg.freq_min <= freq[0] <= cfg.freq_max and cfg.mag_min <= mag[0] <= cfg.mag_max):
                return False
        elif not (all(cfg.freq_min <= f <= cfg.freq_max for f in freq)
                  and all(cfg.mag_min <= m <= cfg.mag_max for m in mag)):
            return False
        return (type(r.seq) is int and cfg.seq_min <= r.seq <= cfg.seq_max
                and (cfg.temperature_min <= tamb <= cfg.temperature_max or tamb == NO_TEMPERATURE)
                and (cfg.temperature_min <= tsky <= cfg.temperature_max or tsky == NO_TEMPERATURE)
                and type(wdbm) is int and (cfg.wdbm_min <= wdbm <= cfg.wdbm_max or wdbm == NO_SIGNAL))
    except TypeError:
        return False


def _reading_ranges(r: Reading, cfg: TessConfig, out: list[Rejection]) -> None:
    """Every mandatory number, named; the stored placeholders (-273.15, 99) always pass."""
    name = r.name
    if type(r.seq) is not int:
        out.append(_problem(Reason.WRONG_TYPE, f"field 'seq' = {r.seq!r} is not an integer in reading of {name!r}",
                            "seq", name))
    else:
        _check("seq", r.seq, cfg.seq_min, cfg.seq_max, "", "seq", "reading", out, name)
    four = len(r.freq) > 1
    for i, f in enumerate(r.freq):
        _check(f"F{i + 1}.freq" if four else "freq", f, cfg.freq_min, cfg.freq_max, "Hz", "freq", "reading", out, name)
    for i, m in enumerate(r.mag):
        _check(f"F{i + 1}.mag" if four else "mag", m, cfg.mag_min, cfg.mag_max, "mag/arcsec^2", "mag", "reading",
               out, name)
    for field in ("tamb", "tsky"):
        v = getattr(r, field)
        if type(v) is not float or v != NO_TEMPERATURE:
            _check(field, v, cfg.temperature_min, cfg.temperature_max, "degC", "temperature", "reading", out, name)
    w = r.wdbm
    if type(w) is not int:
        out.append(_problem(Reason.WRONG_TYPE, f"field 'wdBm' = {w!r} is not an integer in reading of {name!r}",
                            "wdBm", name))
    elif w != NO_SIGNAL:
        _check("wdBm", w, cfg.wdbm_min, cfg.wdbm_max, "dBm", "wdbm", "reading", out, name)


def _reading_extras(r: Reading, cfg: TessConfig, out: list[Rejection]) -> None:
    if r.az is not None or r.alt is not None or r.lat is not None or r.long is not None or r.height is not None:
        for field, lo, hi in cfg.position_ranges:
            v = getattr(r, field)
            if v is not None:
                _check(field, v, lo, hi, "m" if field == "height" else "degrees", field, "reading", out, r.name)
    h = r.hash
    if h is not None and not (type(h) is str and len(h) == 3 and h.isascii() and h.isalnum()):
        out.append(_problem(Reason.WRONG_TYPE,
                            f"field 'hash' = {h!r} is not 3 alphanumeric characters in reading of {r.name!r}",
                            "hash", r.name))


def _minutes(ahead: Any) -> str:
    n = int(ahead.total_seconds() // 60)
    return f"{n:,} minute{'s' if n != 1 else ''}"


def validate(event: Registration | Reading, settings: Any) -> list[Rejection]:
    """The problems of one event; an empty list means it may go on."""
    cfg = config_of(settings)
    raw = event.raw_name or event.name
    name = event.name
    if event.message.retain:
        return [_problem(Reason.RETAINED, f"retained message of {raw!r} discarded", None, name)]
    if cfg.whitelist and raw not in cfg.whitelist:
        return [_problem(Reason.WHITELIST, f"name {raw!r} is not in mqtt.tess_whitelist", "name", name)]
    if raw in cfg.blacklist:
        return [_problem(Reason.BLACKLIST, f"name {raw!r} is in mqtt.tess_blacklist", "name", name)]
    out: list[Rejection] = []
    if not cfg.good_name(name):
        out.append(_problem(Reason.BAD_NAME,
                            f"field 'name' = {raw!r} does not match rules.name_pattern "
                            f"{cfg.name_re.pattern!r} in full after lower-casing", "name", name))
    if isinstance(event, Registration):
        _registration_rules(event, cfg, out)
        return out
    ahead = event.tstamp - event.message.received  # (an ingested line's received is whatever its file says)
    if ahead > cfg.max_clock_ahead and not event.message.imported:
        out.append(_problem(Reason.BAD_TIMESTAMP, f"field 'tstamp' = {event.tstamp:%Y-%m-%d %H:%M:%S} is "
                            f"{_minutes(ahead)} in the future (more than rules.max_clock_ahead ahead of its arrival "
                            f"at {event.message.received:%Y-%m-%d %H:%M:%S}) in reading of {name!r}", "tstamp", name))
    if not _in_ranges(event, cfg):
        _reading_ranges(event, cfg, out)
    if event.hash is not None or event.az is not None or event.alt is not None \
            or event.lat is not None or event.long is not None or event.height is not None:
        _reading_extras(event, cfg, out)
    return out
