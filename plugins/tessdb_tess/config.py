"""A precompiled view of one settings snapshot, shared by every TESS stage.

Why: the per-reading path must not walk dotted settings keys, compile regular
expressions or build sets for every message.  Each immutable snapshot is compiled
once into a :class:`TessConfig` and found again by identity (a reload brings a new
snapshot, hence a new config; nothing has to be invalidated by hand).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tessdb_core import parse_duration

from .photometer import MAX_CLOCK_AHEAD, compile_name_pattern, length_limit_of, name_pattern_of, range_of

__all__ = ["TessConfig", "config_of", "topic_filter_regex"]

#: bounded size of the per-config memo tables (topics, names); cleared when full.  Twice
#: a large network (1,000 photometers): a flood of made-up names costs at most a few MB
MEMO_LIMIT = 4_096


def topic_filter_regex(topic_filter: str) -> str:
    """Translate one MQTT topic filter (``+`` one level, ``#`` the rest) to a regex.

    A ``$share/<group>/`` prefix (MQTT v5 shared subscription) is not part of the
    topics that arrive, so it is removed first.
    """
    if topic_filter.startswith("$share/"):
        parts = topic_filter.split("/", 2)
        topic_filter = parts[2] if len(parts) == 3 else ""
    levels = topic_filter.split("/")
    out: list[str] = []
    for i, level in enumerate(levels):
        if level == "#" and i == len(levels) - 1:
            # "a/#" matches "a" itself and everything below it; a lone "#" matches all
            if out:
                return "/".join(out) + "(?:/.*)?"
            return ".*"
        out.append("[^/]*" if level == "+" else re.escape(level))
    return "/".join(out)


@dataclass(slots=True, eq=False)
class TessConfig:
    """Everything the TESS stages read from a snapshot, in ready-to-use form."""

    register_topic: str
    topics_re: re.Pattern[str] | None
    whitelist: frozenset[str]
    blacklist: frozenset[str]
    #: ``rules.name_pattern`` compiled with ``re.ASCII``; a name must match it in full
    name_re: re.Pattern[str]
    zp_min: float
    zp_max: float
    offset_min: float
    offset_max: float
    #: reading ranges (``[rules] <key>_min/_max``, defaults in :mod:`.photometer`)
    freq_min: float
    freq_max: float
    mag_min: float
    mag_max: float
    temperature_min: float
    temperature_max: float
    wdbm_min: int
    wdbm_max: int
    seq_min: int
    seq_max: int
    #: optional position fields: (field, low, high)
    position_ranges: tuple[tuple[str, float, float], ...]
    firmware_max_length: int
    model_max_length: int
    filter_max_length: int
    auth_filter: bool
    daylight: bool
    depth: int
    disabled_for: frozenset[str]
    divisors: dict[str, int]
    #: ``[rules] max_clock_ahead``: how far a reading may be dated ahead of its arrival
    max_clock_ahead: timedelta
    #: most photometers with filter state at once (bounds memory against a flood of names)
    max_photometers: int
    #: topic -> is a reading topic (memo)
    topic_memo: dict[str, bool] = field(default_factory=dict)
    #: lower-cased name -> matches rules.name_pattern (memo)
    name_memo: dict[str, bool] = field(default_factory=dict)

    def is_reading_topic(self, topic: str) -> bool:
        """True when ``topic`` matches one of ``mqtt.tess_topics`` (memoised)."""
        hit = self.topic_memo.get(topic)
        if hit is None:
            hit = self.topics_re is not None and self.topics_re.fullmatch(topic) is not None
            if len(self.topic_memo) >= MEMO_LIMIT:
                self.topic_memo.clear()
            self.topic_memo[topic] = hit
        return hit

    def good_name(self, name: str) -> bool:
        """True when the (lower-cased) name matches ``rules.name_pattern`` (memoised)."""
        hit = self.name_memo.get(name)
        if hit is None:
            hit = self.name_re.fullmatch(name) is not None
            if len(self.name_memo) >= MEMO_LIMIT:
                self.name_memo.clear()
            self.name_memo[name] = hit
        return hit

    @classmethod
    def build(cls, settings: Any) -> "TessConfig":
        get = settings.get
        filters = [f for f in (get("mqtt.tess_topics") or ()) if f]
        topics_re = re.compile("|".join(f"(?:{topic_filter_regex(f)})" for f in filters)) if filters else None
        divisors = {}
        for name, n in dict(get("filter.divisor") or {}).items():
            try:
                divisors[str(name)] = max(1, int(n))
            except (TypeError, ValueError):
                divisors[str(name)] = 1
        zp, offset, freq, mag, temperature, wdbm, seq = (
            range_of(settings, k) for k in ("zp", "offset", "freq", "mag", "temperature", "wdbm", "seq"))
        return cls(
            register_topic=get("mqtt.tess_topic_register") or "",
            topics_re=topics_re,
            whitelist=frozenset(get("mqtt.tess_whitelist") or ()),
            blacklist=frozenset(get("mqtt.tess_blacklist") or ()),
            name_re=compile_name_pattern(name_pattern_of(settings)),
            zp_min=float(zp[0]),
            zp_max=float(zp[1]),
            offset_min=float(offset[0]),
            offset_max=float(offset[1]),
            freq_min=float(freq[0]),
            freq_max=float(freq[1]),
            mag_min=float(mag[0]),
            mag_max=float(mag[1]),
            temperature_min=float(temperature[0]),
            temperature_max=float(temperature[1]),
            wdbm_min=int(wdbm[0]),
            wdbm_max=int(wdbm[1]),
            seq_min=int(seq[0]),
            seq_max=int(seq[1]),
            position_ranges=tuple((k, *map(float, range_of(settings, k)))
                                  for k in ("az", "alt", "lat", "long", "height")),
            firmware_max_length=length_limit_of(settings, "firmware_max_length"),
            model_max_length=length_limit_of(settings, "model_max_length"),
            filter_max_length=length_limit_of(settings, "filter_max_length"),
            auth_filter=bool(get("dbase.auth_filter", False)),
            daylight=bool(get("filter.enable.daylight", True)),
            depth=int(get("filter.depth", 7)),
            disabled_for=frozenset(get("filter.disabled_for") or ()),
            divisors=divisors,
            max_photometers=max(1, int(get("filter.max_photometers", 20_000))),
            max_clock_ahead=max_clock_ahead_of(settings),
        )


def max_clock_ahead_of(settings: Any) -> timedelta:
    """The ``[rules] max_clock_ahead`` of a settings snapshot, as a timedelta."""
    return parse_duration(str(settings.get("rules.max_clock_ahead", MAX_CLOCK_AHEAD) or MAX_CLOCK_AHEAD))


# Snapshots are immutable, so identity is a safe key.  The snapshot itself is kept
# beside its config so that a recycled id() can never return a stale config.
_last: tuple[Any, TessConfig] | None = None
_by_id: dict[int, tuple[Any, TessConfig]] = {}


def config_of(settings: Any) -> TessConfig:
    """The compiled config of a snapshot (built once per snapshot)."""
    global _last
    last = _last
    if last is not None and last[0] is settings:
        return last[1]
    entry = _by_id.get(id(settings))
    if entry is None or entry[0] is not settings:
        if len(_by_id) >= 16:
            _by_id.clear()
        entry = (settings, TessConfig.build(settings))
        _by_id[id(settings)] = entry
    _last = entry
    return entry[1]
