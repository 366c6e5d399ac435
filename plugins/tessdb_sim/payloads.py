"""The JSON a TESS-W or TESS4C sends (docs/rules.md), and the broken variants of it.

Why the sensor model lives here: what a device reports (a frequency, the magnitude
its firmware derives from it with the zero point, 0.0 when it saturates) is part
of the payload contract, not of the sky.  Values are rounded as the firmware does
(frequencies to 1 mHz, magnitudes and temperatures to 0.01 / 0.1), and the
frequency is recomputed from the rounded magnitude so that
``mag = ZP - 2.5 log10(freq)`` holds to the rounding.
"""

from __future__ import annotations

import math
import random
from typing import Any

import orjson

from .fleet import TESS4C_BANDS, Photometer, hash_of
from .sky import DARKEST_CLOUDY, NIGHT_ALTITUDE
from tessdb_core import BadValue

__all__ = ["FREQ_MAX", "reading", "registration", "dumps", "malformed", "MALFORMED_KINDS"]

#: above this frequency the sensor saturates and the firmware reports mag 0.0, Hz
FREQ_MAX = 50_000.0
#: scatter of a magnitude measurement, mag/arcsec^2
MAG_NOISE = 0.03
#: the kinds of broken payloads, named after the quarantine reason they must earn
MALFORMED_KINDS = ("bad_json", "missing_field", "wrong_type", "bad_mac")


def dumps(payload: dict[str, Any]) -> str:
    return orjson.dumps(payload).decode()


def channel(zp: float, sky: float, night: bool, rng: random.Random) -> tuple[float, float]:
    """(freq, mag) of one channel looking at a sky of ``sky`` mag/arcsec^2 (at night never
    darker than the darkest cloudy sky, ``DARKEST_CLOUDY``)."""
    mag = sky + rng.gauss(0.0, MAG_NOISE)
    if night:
        mag = min(DARKEST_CLOUDY, mag)
    if (zp - mag) / 2.5 > math.log10(FREQ_MAX):
        return FREQ_MAX, 0.0
    mag = round(mag, 2)
    return round(10 ** ((zp - mag) / 2.5), 3), mag


def reading(p: Photometer, tstamp: str, sky: float, sun_alt: float, tamb: float,
            rng: random.Random, sky_delta: float | None = None, cover: float = 0.0) -> dict[str, Any]:
    """One reading of ``p`` under a sky of ``sky`` (clear channel) and an enclosure at ``tamb``;
    its infrared sensor sees a sky ``sky_delta`` (default: the site's clear-sky value) below
    the enclosure, steadier under a ``cover`` of clouds."""
    night = sun_alt <= NIGHT_ALTITUDE
    tamb = round(tamb + rng.gauss(0.0, 0.3), 1)
    delta = p.site.sky_delta if sky_delta is None else sky_delta
    tsky = round(tamb + delta + rng.gauss(0.0, 1.0 - 0.75 * cover), 1)
    wdbm = p.wdbm + rng.randint(-3, 3)
    if not p.four:
        freq, mag = channel(p.zp[0], sky, night, rng)
        d: dict[str, Any] = {"seq": p.seq, "name": p.name, "freq": freq, "mag": mag, "tamb": tamb, "tsky": tsky,
                             "wdBm": wdbm, "rev": 2}
        if p.sends_hash:
            d["hash"] = hash_of(p.mac)
        d["tstamp"] = tstamp
        return d
    d = {"seq": p.seq, "name": p.name, "rev": 1}
    for i, (zp, (_, fainter)) in enumerate(zip(p.zp, TESS4C_BANDS), 1):
        freq, mag = channel(zp, sky + fainter, night, rng)
        d[f"F{i}"] = {"freq": freq, "mag": mag, "zp": zp}
    d.update(tamb=tamb, tsky=tsky, wdBm=wdbm, tstamp=tstamp)
    return d


def registration(p: Photometer, tstamp: str) -> dict[str, Any]:
    """What ``p`` sends when it boots: its name, MAC, zero point(s) and firmware."""
    firmware, date = p.firmware
    if not p.four:
        return {"name": p.name, "rev": 2, "mac": p.mac, "chan": "stars4all", "calib": p.zp[0], "wdBm": p.wdbm,
                "firmware": firmware, "date": date, "tstamp": tstamp}
    d: dict[str, Any] = {"name": p.name, "mac": p.mac, "rev": 1, "firmware": firmware, "date": date,
                         "tstamp": tstamp}
    for i, (zp, (band, _)) in enumerate(zip(p.zp, TESS4C_BANDS), 1):
        d[f"F{i}"] = {"band": band, "calib": zp, "offsethz": 0.0}
    return d


def malformed(kind: str, reading_payload: dict[str, Any], registration_payload: dict[str, Any],
              rng: random.Random) -> tuple[bool, str]:
    """A broken message of ``kind`` made from a good one: (is_registration, payload text).

    ``bad_json`` cuts the text short; ``missing_field`` drops a mandatory field;
    ``wrong_type`` puts text where a number belongs; ``bad_mac`` is a registration
    whose MAC has five parts, a non-hex part or dashes.
    """
    if kind == "bad_json":
        text = dumps(reading_payload)
        return False, text[:rng.randint(1, len(text) - 1)]
    four = "F4" in reading_payload
    if kind == "missing_field":
        d = dict(reading_payload)
        del d[rng.choice(("seq", "F1", "F2", "F3", "F4") if four else ("seq", "freq", "mag", "tamb", "tsky"))]
        return False, dumps(d)
    if kind == "wrong_type":
        d = dict(reading_payload)
        d[rng.choice(("seq", "tamb", "tsky", "wdBm") if four else ("seq", "freq", "mag", "tamb", "tsky"))] = "n/a"
        return False, dumps(d)
    if kind == "bad_mac":
        d = dict(registration_payload)
        parts = d["mac"].split(":")
        how = rng.randrange(3)
        if how == 0:
            d["mac"] = ":".join(parts[:5])
        elif how == 1:
            d["mac"] = ":".join(parts[:5] + ["G" + parts[5][1]])
        else:
            d["mac"] = "-".join(parts)
        return True, dumps(d)
    raise BadValue(f"unknown malformed kind {kind!r}")
