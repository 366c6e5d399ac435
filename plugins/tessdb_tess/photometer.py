"""What a TESS photometer is: names, MAC addresses, models, filters, physical ranges.

Why a public module: these facts were copied between the TESS stages, the
maintenance commands, the stores and the engine's admin API, and the copies had
drifted (one ignored ``[rules] name_pattern``, one used ``re.search``).  This is
their one home; every other package imports from here (``tessdb_tess.photometer``)
and nothing here imports the rest of the plugin, a database or the engine, so a
store or a command can use it without loading the TESS stages.

The ranges are defaults: a site widens them in ``[rules]`` (see
:data:`RULES_DEFAULTS`, declared with a description each in :mod:`tessdb_tess.checks`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from tessdb_core import BadValue

__all__ = [
    "NAME_PATTERN", "compile_name_pattern", "name_pattern_of", "normalise_name", "is_photometer_name",
    "check_photometer_name", "normalise_mac", "is_mac",
    "TESSW_MODEL", "TESS4C_MODEL", "MODEL_CHANNELS", "TESSW_FILTER", "NO_SIGNAL", "NO_TEMPERATURE",
    "UNKNOWN_FIRMWARE", "SQLITE_INTEGER_MIN", "SQLITE_INTEGER_MAX",
    "Range", "READING_RANGES", "REGISTRATION_RANGES", "LENGTH_LIMITS", "RULES_DEFAULTS",
    "range_of", "length_limit_of", "in_range",
]

# -- names -------------------------------------------------------------------------------------------
#: the default ``[rules] name_pattern``: ``stars`` and 1 to 7 ASCII digits, matched in full after
#: lower-casing (``re.fullmatch`` with ``re.ASCII``: no trailing newline, no Unicode digits)
NAME_PATTERN = r"stars[0-9]{1,7}"


def compile_name_pattern(pattern: str = NAME_PATTERN) -> re.Pattern[str]:
    """``pattern`` compiled for :func:`is_photometer_name`: ``re.ASCII``, so that ``\\d`` and
    ``\\w`` mean ASCII digits and letters only.  Raises ``re.error`` for a bad pattern."""
    return re.compile(pattern, re.ASCII)


def name_pattern_of(settings: Any) -> str:
    """The ``[rules] name_pattern`` of a settings snapshot (the default when absent)."""
    return settings.get("rules.name_pattern", NAME_PATTERN) or NAME_PATTERN


def normalise_name(name: str) -> str:
    """How a name is compared and stored: surrounding blanks removed, lower-cased."""
    return name.strip().lower()


def is_photometer_name(name: str, pattern: re.Pattern[str] | str = NAME_PATTERN) -> bool:
    """True when the whole of ``name`` (already normalised) matches ``pattern``."""
    if isinstance(pattern, str):
        pattern = compile_name_pattern(pattern)
    return pattern.fullmatch(name) is not None


def check_photometer_name(name: str, pattern: re.Pattern[str] | str = NAME_PATTERN) -> str:
    """``name`` normalised, or ``ValueError`` naming the pattern it does not match."""
    low = normalise_name(name)
    text = pattern if isinstance(pattern, str) else pattern.pattern
    if not low or not is_photometer_name(low, pattern):
        raise BadValue(f"name {name!r} does not match the settings' rules.name_pattern {text!r}")
    return low


# -- MAC addresses -----------------------------------------------------------------------------------
_MAC_PART = re.compile(r"[0-9A-Fa-f]{1,2}", re.ASCII)


def normalise_mac(mac: str) -> str:
    """``a:b:c:1:2:3`` -> ``0A:0B:0C:01:02:03`` (docs/rules.md): exactly six parts of one or two
    hex digits (no blanks); anything else raises ``ValueError`` saying why."""
    parts = mac.split(":")
    if len(parts) != 6:
        raise BadValue(f"MAC {mac!r} is not in the format AA:BB:CC:DD:EE:FF: {len(parts)} parts instead of 6")
    for p in parts:
        if _MAC_PART.fullmatch(p) is None:
            raise BadValue(f"MAC {mac!r} is not in the format AA:BB:CC:DD:EE:FF: part {p!r} is not one or "
                             "two hexadecimal digits")
    return ":".join(f"{int(p, 16):02X}" for p in parts)


def is_mac(mac: str) -> bool:
    """True when ``mac`` is already in the normalised form ``0A:0B:0C:01:02:03``."""
    try:
        return normalise_mac(mac) == mac
    except ValueError:
        return False


# -- models, filters and stored placeholders ---------------------------------------------------------
TESSW_MODEL = "TESS-W"
TESS4C_MODEL = "TESS4C"
#: model -> number of channels (TESS-WDL is a TESS-W with a data logger)
MODEL_CHANNELS: dict[str, int] = {TESSW_MODEL: 1, "TESS-WDL": 1, TESS4C_MODEL: 4}
#: the filter of every TESS-W (and the default of a channel without one)
TESSW_FILTER = "UV/IR-740"
#: signal strength (dBm) stored when a reading has no ``wdBm``
NO_SIGNAL = 99
#: temperature (°C) stored when a TESS4C reading has no ``tamb``/``tsky``
NO_TEMPERATURE = -273.15
#: firmware stored when a registration has none
UNKNOWN_FIRMWARE = "Unknown"

#: the range of an SQLite INTEGER (signed 64 bits); a larger ``seq`` cannot be stored exactly
SQLITE_INTEGER_MIN = -(2 ** 63)
SQLITE_INTEGER_MAX = 2 ** 63 - 1


# -- physical ranges ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Range:
    """The closed interval ``[low, high]`` accepted for some payload fields, overridden by
    the ``[rules]`` keys ``<key>_min`` and ``<key>_max``."""

    #: the ``[rules]`` key prefix
    key: str
    #: the payload fields it applies to, as a Rejection names them
    fields: tuple[str, ...]
    low: float
    high: float
    unit: str
    #: True for fields stored as INTEGER (the settings must then be integers too)
    integer: bool = False

    @property
    def min_key(self) -> str:
        return f"{self.key}_min"

    @property
    def max_key(self) -> str:
        return f"{self.key}_max"


def _channels(field: str) -> tuple[str, ...]:
    return (field,) + tuple(f"F{i}.{field}" for i in range(1, 5))


#: reading fields.  Generous on purpose: every real payload (the 4.x/5.x captures, the spec's
#: examples, the simulator's fleet) lies well inside, and what lies outside is no measurement
#: (freq 1.7e308, mag -1.7e308, tamb 1e300, wdBm 1e18).  Why each bound: see checks.RANGE_WHY.
READING_RANGES: tuple[Range, ...] = (
    Range("freq", _channels("freq"), 0.0, 10_000_000.0, "Hz"),
    Range("mag", _channels("mag"), -10.0, 50.0, "mag/arcsec^2"),
    Range("temperature", ("tamb", "tsky"), -273.15, 400.0, "degC"),
    Range("wdbm", ("wdBm",), -150, 100, "dBm", integer=True),
    Range("az", ("az",), -180.0, 360.0, "degrees"),
    Range("alt", ("alt",), -90.0, 90.0, "degrees"),
    Range("lat", ("lat",), -90.0, 90.0, "degrees"),
    Range("long", ("long",), -180.0, 180.0, "degrees"),
    Range("height", ("height",), -1_000.0, 10_000.0, "m"),
    Range("seq", ("seq",), 0, 2 ** 32 - 1, "", integer=True),
)

#: registration fields: the zero point and the frequency offset (the limits of tessdb-server 5.x)
REGISTRATION_RANGES: tuple[Range, ...] = (
    Range("zp", _channels("calib"), 10.0, 30.0, "mag/arcsec^2"),
    Range("offset", _channels("offsethz"), 0.0, 1.0, "Hz"),
)

#: ``[rules] <key>``: the longest accepted text, in characters.  The widths the reference
#: 4.x schema declares for tess_t (firmware VARCHAR(255), model VARCHAR(8), filter VARCHAR(64)),
#: so a stored value fits every tool that trusts them.  ``firmware`` is the stored text,
#: ``<firmware> (<date>)`` when the registration has a ``date``.
LENGTH_LIMITS: dict[str, int] = {
    "firmware_max_length": 255,
    "model_max_length": 8,
    "filter_max_length": 64,
}

_RANGES: dict[str, Range] = {r.key: r for r in READING_RANGES + REGISTRATION_RANGES}


def range_of(settings: Any, key: str) -> tuple[float, float]:
    """``(low, high)`` of the range ``key`` (e.g. ``"freq"``) in a settings snapshot."""
    r = _RANGES[key]
    get = settings.get
    return get(f"rules.{r.min_key}", r.low), get(f"rules.{r.max_key}", r.high)


def length_limit_of(settings: Any, key: str) -> int:
    """The ``[rules] <key>`` length limit (e.g. ``"firmware_max_length"``) of a settings snapshot."""
    return int(settings.get(f"rules.{key}", LENGTH_LIMITS[key]))


def in_range(value: float, low: float, high: float) -> bool:
    """True when ``value`` is a finite number within ``[low, high]`` (NaN is not)."""
    return low <= value <= high and math.isfinite(value)


#: the default ``[rules] max_clock_ahead``: a reading dated further ahead of its arrival is
#: ``bad_timestamp`` (a photometer's clock gone wrong, not a time to store)
MAX_CLOCK_AHEAD = "10m"


def _rules_defaults() -> dict[str, Any]:
    out: dict[str, Any] = {"name_pattern": NAME_PATTERN, "max_clock_ahead": MAX_CLOCK_AHEAD}
    for r in REGISTRATION_RANGES + READING_RANGES:
        out[r.min_key] = r.low
        out[r.max_key] = r.high
    out.update(LENGTH_LIMITS)
    return out


#: the ``[rules]`` settings section with its defaults, as the plugin contributes it through
#: ``tessdb_settings_schema`` (:mod:`tessdb_tess.checks` declares each key; docs/settings.md shows them)
RULES_DEFAULTS: dict[str, Any] = _rules_defaults()
