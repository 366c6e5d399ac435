"""The ``[rules]`` section this plugin owns, declared once: its keys, defaults and checks.

Why: a bad value must stop start-up (or a reload) with a message naming the key,
not surface later as an exception inside the per-reading path.  The descriptions here are
what docs/settings.md and settings/settings.toml show.
"""

from __future__ import annotations

import math
from typing import Any

from tessdb_core import Setting, SettingsSection, is_int, parse_duration, rule

from .photometer import (LENGTH_LIMITS, MAX_CLOCK_AHEAD, NAME_PATTERN, READING_RANGES, REGISTRATION_RANGES, SQLITE_INTEGER_MAX,
                         SQLITE_INTEGER_MIN, Range, compile_name_pattern)

__all__ = ["rules_section"]

#: why each range is what it is: shown in the settings reference
RANGE_WHY = {
    "zp": "Zero point accepted in a registration (calib, Fi.calib).",
    "offset": "Frequency offset accepted in a registration (offsethz, Fi.offsethz).",
    "freq": "Frequency of a reading (freq, Fi.freq): 0 Hz (dark) to 10 MHz, twenty times the TSL237 sensor's "
            "saturation (~500 kHz).",
    "mag": "Magnitude of a reading (mag, Fi.mag): what zero points 10-30 give for 10 MHz down to 1 mHz; 0 is the "
           "saturated daytime reading, real night skies lie in 15-23.",
    "temperature": "Box and sky temperatures (tamb, tsky): absolute zero to above the 382 degC limit of the "
                   "MLX90614 infrared sensor; the stored placeholder -273.15 (no temperature) always passes.",
    "wdbm": "WiFi signal strength (wdBm), an integer: real RSSI lies in -100..0; ESP8266 reports 31 when it cannot "
            "tell; the stored placeholder 99 (no wdBm) always passes.",
    "az": "Optional azimuth of a reading (either 0..360 or -180..180).",
    "alt": "Optional altitude of a reading.",
    "lat": "Optional latitude of a reading.",
    "long": "Optional longitude of a reading.",
    "height": "Optional height of a reading, from below the Dead Sea shore to above the highest observatories.",
    "seq": "Sequence number (seq), an integer: a device's 32-bit counter, which restarts at 0 or 1 on every boot; "
           "both limits are integers within SQLite's INTEGER.",
}
LENGTH_WHY = {
    "firmware_max_length": "Longest firmware text of a registration (the stored \"<firmware> (<date>)\"), the "
                           "width the reference schema declares for tess_t.",
    "model_max_length": "Longest model name of a registration, the width the reference schema declares.",
    "filter_max_length": "Longest filter (band) name of a registration, the width the reference schema declares.",
}


def _ordered(lo: str, hi: str):
    return lambda section: float(section[lo]) < float(section[hi])


def _is_finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_duration(v: Any) -> bool:
    try:
        parse_duration(str(v))
    except ValueError:
        return False
    return True


def _is_name_pattern(v: Any) -> bool:
    compile_name_pattern(v)
    return isinstance(v, str) and bool(v)


def _range_settings(r: Range) -> list[Setting]:
    """``<key>_min`` and ``<key>_max`` of a range: finite numbers; integer ranges hold integers within
    SQLite's INTEGER (a wider one could not be stored)."""
    if r.integer:
        expected, check = (f"an integer in [{SQLITE_INTEGER_MIN}, {SQLITE_INTEGER_MAX}]",
                           is_int(SQLITE_INTEGER_MIN, SQLITE_INTEGER_MAX))
    else:
        expected, check = f"a finite number{f' ({r.unit})' if r.unit else ''}", _is_finite
    why = RANGE_WHY[r.key]
    return [Setting(r.min_key, r.low, f"{why} Lowest value accepted.", expected, check, unit=r.unit,
                    reloadable=True),
            Setting(r.max_key, r.high, f"{why} Highest value accepted.", expected, check, unit=r.unit,
                    reloadable=True)]


def rules_section() -> SettingsSection:
    """``[rules]``: a value outside a range is quarantined as out_of_range naming the field."""
    ranges = REGISTRATION_RANGES + READING_RANGES
    return SettingsSection("rules", "The input rules of the TESS plugin: names, ranges, lengths.", (
        Setting("name_pattern", NAME_PATTERN, "Accepted photometer names (Python regular expression, ASCII: \\d "
                "means 0-9 only), matched against the WHOLE name after lower-casing: \"stars901\\n\" is refused "
                "(bad_name).", "a non-empty Python regular expression", _is_name_pattern, reloadable=True),
        Setting("max_clock_ahead", MAX_CLOCK_AHEAD, "How far ahead of its arrival a reading may be dated: a reading "
                "dated further ahead is quarantined as bad_timestamp (\"N minutes in the future\"), replayable once "
                "the photometer's clock is understood.", "a duration such as 10m or 1h", _is_duration,
                unit="duration", reloadable=True),
        *(s for r in ranges for s in _range_settings(r)),
        *(Setting(key, default, LENGTH_WHY[key], "an integer number of characters 1..1000000",
                  is_int(1, 1_000_000), unit="characters", reloadable=True) for key, default in LENGTH_LIMITS.items()),
    ), validators=tuple(rule("rules", f"{r.min_key} < {r.max_key}", _ordered(r.min_key, r.max_key)) for r in ranges))
