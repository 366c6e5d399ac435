"""Durations written by people: ``90s``, ``20m``, ``2h``, ``3d``, ``1w``, ``1d12h``.

Why here: settings of several plugins (alarms, maintenance commands) take them, and a
plugin must not import another plugin's modules; parsing is pytimeparse's, the one
rule added here is that a duration is positive and has a unit.
"""

from __future__ import annotations

from datetime import timedelta

from pytimeparse import parse
from .errors import BadValue


def parse_duration(text: str) -> timedelta:
    """A positive duration with a unit; ValueError naming the text otherwise."""
    seconds = parse(text.strip().lower()) if isinstance(text, str) else None
    if seconds is None or seconds <= 0:
        raise BadValue(f"duration {text!r} is not valid: use a number and a unit s, m, h, d or w "
                         "(e.g. 90s, 20m, 2h, 3d, 1w, 1d12h)")
    return timedelta(seconds=seconds)
