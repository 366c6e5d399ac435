"""Normalisation of payload values: timestamps and MAC addresses (docs/rules.md).

Why a module of its own: these rules are shared by readings and registrations and
are the part of decoding that most needs exact tests (six timestamp formats,
offsets, subscriber rounding).  They raise ``ValueError`` and let the decoder turn
that into a Rejection with the field and the name.  The MAC rule lives in
:mod:`.photometer` (its one home) and is re-exported here.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from .photometer import normalise_mac
from tessdb_core import BadValue

__all__ = ["normalise_mac", "parse_tstamp", "round_to_second"]

# YYYY-MM-DD, 'T' or ' ', HH:MM:SS, then nothing, a literal Z or a ±HH:MM / ±HHMM offset.
# No fractional seconds (5.x tries only these strptime formats).
_TSTAMP = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:(Z)|([+-])([0-9]{2}):?([0-9]{2}))?"
)

_ONE_SECOND = timedelta(seconds=1)


def parse_tstamp(text: str) -> datetime:
    """A publisher timestamp as naive UTC.

    Accepted: ``%Y-%m-%dT%H:%M:%S`` and ``%Y-%m-%d %H:%M:%S``, each bare (taken as
    UTC), with a trailing ``Z``, or with an offset such as ``+01:00`` (converted to
    UTC).  Everything else raises ValueError, including an offset that moves the time
    out of the years 1-9999 (``0001-01-01T00:00:00+01:00``).
    """
    n = len(text)
    if ((n == 20 and text[19] == "Z") or n == 19) and text[4] == "-" and text[7] == "-" \
            and text[13] == ":" and text[16] == ":" and (text[10] == "T" or text[10] == " "):
        # fast path for the usual UTC forms; fromisoformat checks the digits and ranges
        return datetime.fromisoformat(text[:19])
    m = _TSTAMP.fullmatch(text)
    if m is None:
        raise BadValue("not one of the accepted formats")
    t = datetime.fromisoformat(text[:19])  # validates month/day/hour ranges
    sign = m.group(4)
    if sign is not None:
        h, mi = int(m.group(5)), int(m.group(6))
        if h > 23 or mi > 59:
            raise BadValue("offset out of range")
        delta = timedelta(hours=h, minutes=mi)
        try:
            t = t - delta if sign == "+" else t + delta
        except OverflowError:
            raise BadValue("the offset moves it out of the years 1-9999") from None
    return t


def round_to_second(t: datetime) -> datetime:
    """Subscriber time: +0.5 s then drop the microseconds (round half up to the second)."""
    if t.microsecond >= 500_000:
        return t.replace(microsecond=0) + _ONE_SECOND
    return t.replace(microsecond=0)
