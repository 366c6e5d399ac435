"""Settings validators for the keys this plugin reads ([rules], [filter], lists, auth).

Why: a bad value must stop start-up (or a reload) with a message naming the key,
not surface later as an exception inside the per-reading path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tessdb_core.settings import is_bool, is_int, is_number, is_regex, is_str_list, rule

__all__ = ["settings_validators"]


def _is_divisor_table(v: Any) -> bool:
    return isinstance(v, Mapping) and all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in v.values())


def _ordered(lo: str, hi: str):
    return lambda section: float(section[lo]) < float(section[hi])


def settings_validators() -> list[Any]:
    """dynaconf validators, built with :func:`tessdb_core.settings.rule` for uniform messages."""
    return [
        rule("rules.name_pattern", "a Python regular expression", is_regex),
        rule("rules.zp_min", "a number", is_number()),
        rule("rules.zp_max", "a number", is_number()),
        rule("rules.offset_min", "a number (Hz)", is_number()),
        rule("rules.offset_max", "a number (Hz)", is_number()),
        rule("rules", "zp_min < zp_max", _ordered("zp_min", "zp_max")),
        rule("rules", "offset_min < offset_max", _ordered("offset_min", "offset_max")),
        rule("filter.depth", "an odd integer >= 3", lambda v: is_int(3)(v) and v % 2 == 1),
        rule("filter.max_photometers", "an integer number of photometers 1..10000000", is_int(1, 10_000_000)),
        rule("filter.disabled_for", "a list of photometer names", is_str_list),
        rule("filter.enable.daylight", "true or false", is_bool),
        rule("filter.divisor", "a table of photometer name = integer >= 1", _is_divisor_table, required=False),
        rule("mqtt.tess_whitelist", "a list of photometer names", is_str_list),
        rule("mqtt.tess_blacklist", "a list of photometer names", is_str_list),
        rule("dbase.auth_filter", "true or false", is_bool),
    ]
