"""Validate a decoded TESS event against the rules of a settings snapshot (spec §2.3-§2.9).

Why separate from decoding: these rules depend on reloadable settings (lists,
name pattern, ranges), and the discards (retained, white list, black list) must
be recognised first, in the order of spec §2.3, because they are counted, not
quarantined.  The order of the returned list matters: the first problem decides.
"""

from __future__ import annotations

from typing import Any

from tessdb_core.events import Reading, Reason, Registration, Rejection

from .config import TessConfig, config_of

__all__ = ["validate", "READING_RANGES"]

PLUGIN = "tess"
STAGE = "validate"

#: optional reading fields and their accepted closed ranges (spec §2.4)
READING_RANGES = (("az", -180.0, 180.0), ("alt", -90.0, 90.0), ("lat", -90.0, 90.0), ("long", -180.0, 180.0))


def _problem(reason: str, detail: str, field: str | None, name: str | None) -> Rejection:
    return Rejection(reason, detail, STAGE, PLUGIN, field, name)


def _registration_ranges(reg: Registration, cfg: TessConfig, out: list[Rejection]) -> None:
    four = reg.nchannels > 1
    for i, zp in enumerate(reg.zp):
        if not cfg.zp_min <= zp <= cfg.zp_max:
            field = f"F{i + 1}.calib" if four else "calib"
            out.append(_problem(Reason.OUT_OF_RANGE,
                                f"zero point {field!r} = {zp} is outside [{cfg.zp_min}, {cfg.zp_max}] "
                                f"in registration of {reg.name!r}", field, reg.name))
    for i, off in enumerate(reg.offsets):
        if not cfg.offset_min <= off <= cfg.offset_max:
            field = f"F{i + 1}.offsethz" if four else "offsethz"
            out.append(_problem(Reason.OUT_OF_RANGE,
                                f"frequency offset {field!r} = {off} Hz is outside "
                                f"[{cfg.offset_min}, {cfg.offset_max}] in registration of {reg.name!r}",
                                field, reg.name))


def _reading_extras(r: Reading, out: list[Rejection]) -> None:
    if r.az is not None or r.alt is not None or r.lat is not None or r.long is not None:
        for field, lo, hi in READING_RANGES:
            v = getattr(r, field)
            if v is not None and not lo <= v <= hi:
                out.append(_problem(Reason.OUT_OF_RANGE,
                                    f"field {field!r} = {v} is outside [{lo}, {hi}] in reading of {r.name!r}",
                                    field, r.name))
    h = r.hash
    if h is not None and not (len(h) == 3 and h.isascii() and h.isalnum()):
        out.append(_problem(Reason.WRONG_TYPE,
                            f"field 'hash' = {h!r} is not 3 alphanumeric characters in reading of {r.name!r}",
                            "hash", r.name))


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
                            f"{cfg.name_re.pattern!r} after lower-casing", "name", name))
    if type(event) is Reading:
        if event.hash is not None or event.az is not None or event.alt is not None \
                or event.lat is not None or event.long is not None:
            _reading_extras(event, out)
    elif isinstance(event, Registration):
        _registration_ranges(event, cfg, out)
    else:
        _reading_extras(event, out)
    return out
