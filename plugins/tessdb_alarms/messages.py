"""The texts: one notification per kind of alarm and per event in a check (every photometer
that went silent in that check in ONE message), the same text in the e-mail and in the
webhook's JSON body.  Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tessdb_core import __version__

from .checks import DATABASE, INBOX, KINDS, NOTICE, SILENT, STALLED, duration
from .state import Alarm, Notification, iso

ALARM, RECOVERY, TEST = "alarm", "recovery", "test"
#: photometer names shown in a subject line; the body always lists them all
_SUBJECT_NAMES = 8


def compose(opened: Iterable[Alarm], cleared: Iterable[Alarm], host: str, now: float,
            newest: Mapping[str, tuple[float, float]]) -> list[Notification]:
    """The notifications of one check.  ``newest``: photometer -> (newest reading, seen)."""
    notes = []
    opened, cleared = list(opened), list(cleared)
    for event, alarms in ((ALARM, opened), (RECOVERY, cleared)):
        for kind in KINDS:
            group = [a for a in alarms if a.kind == kind]
            if group:
                notes.append(_note(event, kind, group, host, now, newest))
    return notes


def _note(event: str, kind: str, alarms: list[Alarm], host: str, now: float,
          newest: Mapping[str, tuple[float, float]]) -> Notification:
    alarm = alarms[0]
    lines: list[str]
    if kind == SILENT:
        names = [a.name or "" for a in alarms]
        shown = ", ".join(names[:_SUBJECT_NAMES]) + (f" and {len(names) - _SUBJECT_NAMES} more"
                                                      if len(names) > _SUBJECT_NAMES else "")
        count = f"{len(names)} photometer{'s' if len(names) > 1 else ''}"
        if event == ALARM:
            title = f"{count} silent: {shown}"
            lines = [f"{count} fell silent (no reading stored while the collector ran):", ""]
            lines += [f"  {a.name}: {a.detail}; newest reading of {iso(newest[a.name][0]) if a.name in newest else '?'}"
                      for a in alarms]
        else:
            retired = all((a.cleared_detail or "").startswith("retired") for a in alarms)
            what = "retired" if retired else "sending again"  # (``instrument retire``: no longer watched)
            title = f"{count} {what}: {shown}"
            lines = [f"{count} {what}:", ""]
            lines += [f"  {a.name}: silent since {iso(a.opened_at)}, for {duration(now - a.opened_at)}"
                      + ("; retired" if (a.cleared_detail or "").startswith("retired") and not retired else "")
                      for a in alarms]
    elif kind == STALLED:
        if event == ALARM:
            title = "the collector stores no readings"
            lines = [f"The collector stored no reading: {alarm.detail}."]
        else:
            title = "the collector stores readings again"
            lines = [f"Readings are stored again, {duration(now - alarm.opened_at)} after the alarm of "
                     f"{iso(alarm.opened_at)} ({alarm.detail})."]
    elif kind == NOTICE:
        if event == ALARM:
            title = alarm.detail.split(";", 1)[0]
            lines = [f"The service reports: {'; '.join(a.detail for a in alarms)}."]
        else:
            title = "no longer reported: " + ", ".join(a.name or "" for a in alarms)
            lines = [f"Reported since {iso(alarm.opened_at)}: {alarm.detail}."]
    else:
        what = {INBOX: "inbox", DATABASE: "database"}[kind]
        if event == ALARM:
            title = f"the {what} is in trouble"
            lines = [f"The {what} is in trouble: {alarm.detail}."]
        else:
            title = f"the {what} works again"
            lines = [f"The {what} works again, after {duration(now - alarm.opened_at)} "
                     f"(since {iso(alarm.opened_at)}: {alarm.detail})."]
    label = "ALARM" if event == ALARM else "RECOVERED"
    subject = f"[tessdb {host}] {label}: {title}"
    body = "\n".join([*lines, "", *_footer(host, now)])
    data: dict[str, Any] = {"source": "tessdb-core", "version": __version__, "host": host, "event": event,
                            "kind": kind, "at": iso(now), "subject": subject, "text": body,
                            "alarms": [a.as_dict() for a in alarms]}
    if kind == SILENT:
        data["photometers"] = [a.name for a in alarms]
    return Notification(subject, body, data)


def trial_note(host: str, now: float) -> Notification:
    subject = f"[tessdb {host}] TEST: alarms reach you"
    body = "\n".join(["This is a test message of tessdb-core's alarms (`tessdb-core alarms test`).",
                      "The alarms of this collector will come the same way.", "", *_footer(host, now)])
    return Notification(subject, body, {"source": "tessdb-core", "version": __version__, "host": host,
                                        "event": TEST, "kind": TEST, "at": iso(now), "subject": subject,
                                        "text": body, "alarms": []})


def _footer(host: str, now: float) -> list[str]:
    return [f"-- tessdb-core {__version__} on {host}, {iso(now)}",
            "   `tessdb-core alarms list` shows the open and recent alarms."]
