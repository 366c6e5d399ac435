"""The plugin's own SQLite file (``[alarms] state_path``): alarms, unsent notifications and
what the monitor watches, so that a restart neither repeats an alarm nor forgets one.

It is not the engine's inbox file: the engine owns that one (principle: one owner per
file).  Tables:

* ``alarm_t``: one row per alarm, open while ``cleared_at`` is NULL (at most one open row
  per key: ``stalled``, ``inbox``, ``database``, ``photometer:<name>``).
* ``outbox_t``: the notifications not yet delivered, with the channels still to do; a row
  leaves when every channel took it.
* ``watch_t``: the watch clock (seconds the monitor has been watching, across restarts) and
  when, on that clock, a reading was last stored.
* ``photometer_t``: per photometer that was sending, its newest reading (epoch seconds,
  the reading's own time) and when, on the watch clock, that value last changed.

Bounds: cleared alarms are kept :data:`KEEP_CLEARED` seconds; at most :data:`MOST_UNSENT`
notifications wait (the oldest are dropped with a warning); ``photometer_t`` holds one row
per photometer that stored a reading (registered ones only).  An alarm and the notification
that announces it are written in one transaction, synced (``synchronous=FULL``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: cleared alarms older than this are deleted (90 days)
KEEP_CLEARED = 90 * 86_400.0
#: the most notifications kept while they cannot be delivered
MOST_UNSENT = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarm_t (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL,
    kind          TEXT NOT NULL,
    name          TEXT,
    opened_at     REAL NOT NULL,
    detail        TEXT NOT NULL,
    cleared_at    REAL,
    cleared_detail TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS alarm_open_i ON alarm_t (key) WHERE cleared_at IS NULL;
CREATE TABLE IF NOT EXISTS outbox_t (
    id          INTEGER PRIMARY KEY,
    created_at  REAL NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    data        TEXT NOT NULL,
    channels    TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE TABLE IF NOT EXISTS watch_t (
    key    TEXT PRIMARY KEY,
    value  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS photometer_t (
    name          TEXT PRIMARY KEY,
    last_reading  REAL NOT NULL,
    seen          REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Alarm:
    id: int
    key: str
    kind: str
    name: str | None
    opened_at: float
    detail: str
    cleared_at: float | None = None
    cleared_detail: str | None = None

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": "open" if self.is_open else "cleared", "kind": self.kind, "name": self.name,
                "opened_at": iso(self.opened_at), "detail": self.detail, "cleared_at": iso(self.cleared_at),
                "cleared_detail": self.cleared_detail}


@dataclass(frozen=True)
class Notification:
    """A message to deliver; ``data`` is the webhook's JSON body."""

    subject: str
    body: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Pending:
    id: int
    created_at: float
    note: Notification
    channels: tuple[str, ...]
    attempts: int
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "created_at": iso(self.created_at), "subject": self.note.subject,
                "channels": list(self.channels), "attempts": self.attempts, "last_error": self.last_error}


def iso(epoch: float | None) -> str | None:
    """``2026-12-01 15:04:05 UTC``."""
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


class AlarmState:
    """One connection to the state file, shared by the monitor's thread and its stopper."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # -- what the monitor watches -------------------------------------------------------------
    def watch(self) -> dict[str, float]:
        with self._lock:
            return dict(self._conn.execute("SELECT key, value FROM watch_t"))

    def photometers(self) -> dict[str, tuple[float, float]]:
        """name -> (newest reading, epoch seconds; when it last changed, on the watch clock)."""
        with self._lock:
            return {n: (r, s) for n, r, s in self._conn.execute("SELECT name, last_reading, seen FROM photometer_t")}

    @staticmethod
    def save_watch(conn: sqlite3.Connection, values: dict[str, float],
                   photometers: Iterable[tuple[str, float, float]]) -> None:
        conn.executemany("INSERT INTO watch_t (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", values.items())
        conn.executemany("INSERT INTO photometer_t (name, last_reading, seen) VALUES (?, ?, ?) ON CONFLICT (name) "
                         "DO UPDATE SET last_reading = excluded.last_reading, seen = excluded.seen", photometers)

    # -- alarms -------------------------------------------------------------------------------
    def open_alarms(self) -> dict[str, Alarm]:
        with self._lock:
            return {a.key: a for a in self._alarms("WHERE cleared_at IS NULL")}

    def alarms(self, since: float) -> list[Alarm]:
        """The open alarms, then those cleared since ``since`` (newest first)."""
        with self._lock:
            return [*self._alarms("WHERE cleared_at IS NULL ORDER BY opened_at, id"),
                    *self._alarms("WHERE cleared_at >= ? ORDER BY cleared_at DESC, id DESC", (since,))]

    def _alarms(self, where: str, args: tuple = ()) -> list[Alarm]:
        return [Alarm(*row) for row in self._conn.execute(
            "SELECT id, key, kind, name, opened_at, detail, cleared_at, cleared_detail FROM alarm_t " + where, args)]

    @staticmethod
    def open_alarm(conn: sqlite3.Connection, key: str, kind: str, name: str | None, at: float, detail: str) -> Alarm:
        cur = conn.execute("INSERT INTO alarm_t (key, kind, name, opened_at, detail) VALUES (?, ?, ?, ?, ?)",
                           (key, kind, name, at, detail))
        return Alarm(cur.lastrowid, key, kind, name, at, detail)

    @staticmethod
    def clear_alarm(conn: sqlite3.Connection, alarm: Alarm, at: float, detail: str) -> Alarm:
        conn.execute("UPDATE alarm_t SET cleared_at = ?, cleared_detail = ? WHERE id = ?", (at, detail, alarm.id))
        return Alarm(alarm.id, alarm.key, alarm.kind, alarm.name, alarm.opened_at, alarm.detail, at, detail)

    @staticmethod
    def prune(conn: sqlite3.Connection, now: float) -> None:
        conn.execute("DELETE FROM alarm_t WHERE cleared_at < ?", (now - KEEP_CLEARED,))

    # -- the outbox ---------------------------------------------------------------------------
    @staticmethod
    def queue(conn: sqlite3.Connection, note: Notification, channels: tuple[str, ...], at: float) -> int:
        """Queue a notification; return how many old ones were dropped to stay within bounds."""
        conn.execute("INSERT INTO outbox_t (created_at, subject, body, data, channels) VALUES (?, ?, ?, ?, ?)",
                     (at, note.subject, note.body, json.dumps(note.data), ",".join(channels)))
        (count,) = conn.execute("SELECT COUNT(*) FROM outbox_t").fetchone()
        extra = max(0, count - MOST_UNSENT)
        if extra:
            conn.execute("DELETE FROM outbox_t WHERE id IN (SELECT id FROM outbox_t ORDER BY id LIMIT ?)", (extra,))
        return extra

    def pending(self) -> list[Pending]:
        with self._lock:
            rows = self._conn.execute("SELECT id, created_at, subject, body, data, channels, attempts, last_error "
                                      "FROM outbox_t ORDER BY id").fetchall()
        return [Pending(i, at, Notification(s, b, json.loads(d)), tuple(c for c in ch.split(",") if c), n, e)
                for i, at, s, b, d, ch, n, e in rows]

    def delivered(self, item: Pending, channels: tuple[str, ...], error: str | None) -> None:
        """Record one attempt: ``channels`` are those still to do (none: the row leaves)."""
        with self.transaction() as conn:
            if not channels:
                conn.execute("DELETE FROM outbox_t WHERE id = ?", (item.id,))
            else:
                conn.execute("UPDATE outbox_t SET channels = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
                             (",".join(channels), error, item.id))
