"""Database timestamp text <-> naive UTC datetime.

Three writers left three text formats in valid_since / valid_until (3.x naive or
``T``-separated, 4.x ``+00:00``, 5.x microseconds).  Every one is read; only the
5.x format is written, because it sorts correctly against all of them as text.
"""

from __future__ import annotations

from datetime import datetime, timezone
from tessdb_core import BadValue

#: the one format written: ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC, no offset)
WRITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def parse_ts(value: str | datetime) -> datetime:
    """Read any of the historical formats; aware values are converted to naive UTC.

    Raises ValueError for text that is not a timestamp."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
    else:
        raise BadValue(f"not a timestamp: {value!r}")
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


def format_ts(dt: datetime) -> str:
    """Write a datetime as ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC (aware values converted)."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt.isoformat(sep=" ", timespec="microseconds")
