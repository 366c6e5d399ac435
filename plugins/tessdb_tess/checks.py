"""Settings validators for the keys this plugin reads ([rules], [filter], lists, auth).

Why: a bad value must stop start-up (or a reload) with a message naming the key,
not surface later as an exception inside the per-reading path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tessdb_core.durations import parse_duration
from tessdb_core.settings import is_bool, is_int, is_str_list, rule

from .photometer import (LENGTH_LIMITS, READING_RANGES, REGISTRATION_RANGES, SQLITE_INTEGER_MAX,
                         SQLITE_INTEGER_MIN, compile_name_pattern)

__all__ = ["settings_validators"]


def _is_divisor_table(v: Any) -> bool:
    return isinstance(v, Mapping) and all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in v.values())


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


def _range_rules() -> list[Any]:
    """``<key>_min`` and ``<key>_max`` of every range: finite, ordered; integer ranges hold
    integers within SQLite's INTEGER (a wider one could not be stored)."""
    out = []
    for r in REGISTRATION_RANGES + READING_RANGES:
        unit = f" ({r.unit})" if r.unit else ""
        for key in (r.min_key, r.max_key):
            if r.integer:
                out.append(rule(f"rules.{key}", f"an integer in [{SQLITE_INTEGER_MIN}, {SQLITE_INTEGER_MAX}]",
                                is_int(SQLITE_INTEGER_MIN, SQLITE_INTEGER_MAX)))
            else:
                out.append(rule(f"rules.{key}", f"a finite number{unit}", _is_finite))
        out.append(rule("rules", f"{r.min_key} < {r.max_key}", _ordered(r.min_key, r.max_key)))
    return out


def settings_validators() -> list[Any]:
    """dynaconf validators, built with :func:`tessdb_core.settings.rule` for uniform messages."""
    return [
        rule("rules.name_pattern", "a non-empty Python regular expression", _is_name_pattern),
        *_range_rules(),
        *(rule(f"rules.{key}", "an integer number of characters 1..1000000", is_int(1, 1_000_000))
          for key in LENGTH_LIMITS),
        rule("rules.max_clock_ahead", "a duration such as 10m or 1h", _is_duration),
        rule("filter.depth", "an odd integer >= 3", lambda v: is_int(3)(v) and v % 2 == 1),
        rule("filter.max_photometers", "an integer number of photometers 1..10000000", is_int(1, 10_000_000)),
        rule("filter.disabled_for", "a list of photometer names", is_str_list),
        rule("filter.enable.daylight", "true or false", is_bool),
        rule("filter.divisor", "a table of photometer name = integer >= 1", _is_divisor_table, required=False),
        rule("mqtt.tess_whitelist", "a list of photometer names", is_str_list),
        rule("mqtt.tess_blacklist", "a list of photometer names", is_str_list),
        rule("dbase.auth_filter", "true or false", is_bool),
    ]
