"""The durable inbox: every message acknowledged to the broker is on disk first.

One local SQLite file in WAL mode (``[inbox] path``), separate from the star
schema, holds two tables: ``inbox_t`` (messages whose outcome is not committed
yet) and the quarantine (see :mod:`.quarantine`).  The live service commits each
burst of arrived messages in one transaction and only then acknowledges them;
the pipeline consumes the inbox in arrival order, and an entry is deleted in the
same transaction that records its outcome (with the quarantine rows), after the
star-schema write it depends on.  A crash therefore replays the entries whose
outcome was not yet recorded; idempotent writes make the replay harmless.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from .events import Message

INBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox_t (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order; never reused (the cursor relies on it)
    topic     TEXT NOT NULL,
    payload   BLOB NOT NULL,
    received  TEXT NOT NULL,        -- subscriber arrival time (UTC)
    retain    INTEGER NOT NULL
);
"""


class LocalFile:
    """The inbox file and its one connection (shared by the inbox and the quarantine,
    so that recording an outcome and deleting its entry is one transaction)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None

    def conn(self) -> sqlite3.Connection:
        if self._db is None:
            if not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            from .quarantine import SCHEMA as QUARANTINE_SCHEMA

            db.executescript(INBOX_SCHEMA + QUARANTINE_SCHEMA)
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class Inbox:
    """Messages received but whose outcome is not committed yet, in arrival order."""

    def __init__(self, file: LocalFile):
        self.file = file

    def add(self, messages: Sequence[Message]) -> None:
        """Commit a burst of arrived messages in one transaction (in arrival order)."""
        if not messages:
            return
        db = self.file.conn()
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO inbox_t (topic, payload, received, retain) VALUES (?,?,?,?)",
                           [(m.topic, m.payload, m.received.isoformat(" ", "microseconds"), int(m.retain))
                            for m in messages])

    def after(self, last_id: int, limit: int) -> list[Message]:
        """The next entries after ``last_id``, oldest first."""
        rows = self.file.conn().execute(
            "SELECT id, topic, payload, received, retain FROM inbox_t WHERE id > ? ORDER BY id LIMIT ?",
            (last_id, limit)).fetchall()
        parse = datetime.fromisoformat
        return [Message(topic, payload, parse(received), bool(retain), False, i)
                for i, topic, payload, received, retain in rows]

    def depth(self) -> int:
        return self.file.conn().execute("SELECT COUNT(*) FROM inbox_t").fetchone()[0]

    def oldest(self) -> datetime | None:
        row = self.file.conn().execute("SELECT received FROM inbox_t ORDER BY id LIMIT 1").fetchone()
        return datetime.fromisoformat(row[0]) if row else None


def delete_done(db: sqlite3.Connection, ids: Iterable[int]) -> None:
    """Inside the caller's transaction: drop the entries whose outcome is recorded."""
    db.executemany("DELETE FROM inbox_t WHERE id = ?", ((i,) for i in ids))
