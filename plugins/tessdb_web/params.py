"""Query and path parameters, checked: each bad one is a :class:`BadRequest` of one line
naming the parameter (the listener answers it with 400)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Mapping

from tessdb_core import parse_duration

from .config import MAX_NIGHTS, MAX_SPAN_DAYS
from .fleet import STATUSES

#: the longest name or country accepted in a path or a parameter
MAX_TEXT = 64


class BadRequest(ValueError):
    """A bad parameter: one line naming it."""


def known(params: Mapping[str, str], allowed: tuple[str, ...]) -> None:
    for key in params:
        if key not in allowed:
            raise BadRequest(f"unknown parameter {key!r}: this endpoint takes {', '.join(allowed) or 'none'}")
    for key in allowed:
        if len(params.getlist(key) if hasattr(params, "getlist") else [params[key]] if key in params else []) > 1:
            raise BadRequest(f"parameter {key!r} given more than once")


def text(value: str, what: str) -> str:
    if not value or len(value) > MAX_TEXT or not value.isprintable():
        raise BadRequest(f"{what} must be 1 to {MAX_TEXT} printable characters")
    return value


def statuses(value: str | None) -> set[str] | None:
    if value is None:
        return None
    wanted = {s.strip() for s in value.split(",") if s.strip()}
    bad = sorted(wanted - set(STATUSES))
    if bad or not wanted:
        raise BadRequest(f"status must be one or more of {', '.join(STATUSES)} (comma-separated), not {value!r}")
    return wanted


def duration(value: str | None, what: str) -> float | None:
    if value is None:
        return None
    try:
        seconds = parse_duration(value).total_seconds()
    except ValueError:
        raise BadRequest(f"{what} must be a duration such as 90m, 3h or 2d, not {value[:MAX_TEXT]!r}") from None
    if seconds <= 0 or seconds > 3650 * 86400:
        raise BadRequest(f"{what} must be a duration between 1s and 10 years")
    return seconds


def moment(value: str, what: str) -> datetime:
    """A date (``2026-12-01``, its 00:00 UTC) or a date and time (UTC when no offset is
    given), as naive UTC."""
    if len(value) > 40:
        raise BadRequest(f"{what} must be a date such as 2026-12-01 or a time such as 2026-12-01T18:00:00Z")
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{what} must be a date such as 2026-12-01 or a time such as 2026-12-01T18:00:00Z, "
                         f"not {value!r}") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    if not 1990 <= dt.year <= 2999:
        raise BadRequest(f"{what} must be between the years 1990 and 2999")
    return dt


def window(start: str | None, end: str | None, now: datetime, default: timedelta = timedelta(days=1),
           most: timedelta = timedelta(days=MAX_SPAN_DAYS)) -> tuple[datetime, datetime]:
    """``from``/``to`` as a half-open window: ``to`` defaults to now, ``from`` to ``to`` minus
    ``default``; at most ``most`` long."""
    until = moment(end, "to") if end is not None else now
    since = moment(start, "from") if start is not None else until - default
    if since >= until:
        raise BadRequest("from must be before to")
    if until - since > most:
        raise BadRequest(f"from..to spans {(until - since).days} days; at most {most.days} days per request")
    return since, until


def choice(value: str | None, what: str, choices: tuple[str, ...]) -> str:
    if value is None:
        return choices[0]
    if value not in choices:
        raise BadRequest(f"{what} must be one of {', '.join(choices)}, not {value[:MAX_TEXT]!r}")
    return value


def day(value: str, what: str) -> date:
    """A date such as 2026-12-01 (the evening of a night)."""
    try:
        d = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        d = None
    if d is None:
        raise BadRequest(f"{what} must be a date such as 2026-12-01, not {value[:MAX_TEXT]!r}")
    if not 1990 <= d.year <= 2999:
        raise BadRequest(f"{what} must be between the years 1990 and 2999")
    return d


def days(start: str | None, end: str | None, today: date, default: int = 14,
         most: int = MAX_NIGHTS) -> tuple[date, date]:
    """``from``/``to`` as evenings, both included: ``to`` defaults to today, ``from`` to
    ``default`` nights before; at most ``most`` nights."""
    last = day(end, "to") if end is not None else today
    first = day(start, "from") if start is not None else last - timedelta(days=default - 1)
    if first > last:
        raise BadRequest("from must not be after to")
    if (last - first).days + 1 > most:
        raise BadRequest(f"from..to spans {(last - first).days + 1} nights; at most {most} per request")
    return first, last
