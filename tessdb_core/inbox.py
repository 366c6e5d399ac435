"""The durable inbox: every message acknowledged to the broker is on disk first.

The live service commits each burst of arrived messages in one transaction of
the local file (:mod:`.localfile`), makes it durable, and only then acknowledges
them; the pipeline consumes the inbox in arrival order.  An entry leaves the
inbox only in :meth:`.LocalFile.record_outcomes`, with the outcome that ends it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from .events import Message
from .localfile import LocalFile


class Inbox:
    """Messages received but whose outcome is not committed yet, in arrival order."""

    def __init__(self, file: LocalFile):
        self.file = file

    def add(self, messages: Sequence[Message]) -> None:
        """Commit a burst of arrived messages in one transaction (in arrival order); when
        it returns they are on the disk.  Raises LocalFileUnavailable, nothing written."""
        if not messages:
            return
        try:
            db = self.file.conn()
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "INSERT INTO inbox_t (topic, payload, received, retain, size) VALUES (?,?,?,?,?)",
                    [(m.topic, m.payload, m.received.isoformat(" ", "microseconds"), int(m.retain), m.size)
                     for m in messages])
        except sqlite3.Error as exc:
            raise self.file.unavailable(exc) from None

    def after(self, last_id: int, limit: int) -> list[Message]:
        """The next entries after ``last_id``, oldest first."""
        try:
            rows = self.file.conn().execute(
                "SELECT id, topic, payload, received, retain, size FROM inbox_t WHERE id > ? ORDER BY id LIMIT ?",
                (last_id, limit)).fetchall()
        except sqlite3.Error as exc:
            raise self.file.unavailable(exc) from None
        parse = datetime.fromisoformat
        return [Message(topic, payload, parse(received), bool(retain), False, i, size)
                for i, topic, payload, received, retain, size in rows]

    def depth(self) -> int:
        try:
            return self.file.conn().execute("SELECT COUNT(*) FROM inbox_t").fetchone()[0]
        except sqlite3.Error as exc:
            raise self.file.unavailable(exc) from None
