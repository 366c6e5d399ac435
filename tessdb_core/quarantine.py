"""The quarantine: every message that was not stored, kept with its reason and raw bytes.

It lives in the local inbox file (SQLite WAL, separate from the star schema) so
that a photometer registered or authorised later can have its readings replayed
through the pipeline.  Additions are buffered and committed with the readings'
batches, so a burst of bad input costs one transaction per batch, not per message;
the same transaction deletes the inbox entries whose outcome is now recorded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .events import Message, Rejection, utc_now
from .inbox import LocalFile, delete_done

SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine_t (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,     -- when it was quarantined (UTC)
    reason    TEXT NOT NULL,
    stage     TEXT NOT NULL,
    plugin    TEXT NOT NULL,
    field     TEXT,
    name      TEXT,              -- photometer name, when known
    detail    TEXT NOT NULL,
    topic     TEXT NOT NULL,
    payload   BLOB NOT NULL,     -- the raw bytes, exactly as received
    received  TEXT NOT NULL,     -- subscriber arrival time (UTC)
    retain    INTEGER NOT NULL,
    imported  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_reason_i ON quarantine_t(reason, name);
"""

TS = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(slots=True)
class Entry:
    id: int
    at: str
    reason: str
    stage: str
    plugin: str
    field: str | None
    name: str | None
    detail: str
    topic: str
    payload: bytes
    received: str
    retain: bool
    imported: bool

    def message(self) -> Message:
        return Message(self.topic, bytes(self.payload), datetime.strptime(self.received, TS),
                       bool(self.retain), bool(self.imported))

    def as_dict(self, with_payload: bool = True) -> dict:
        d = {k: getattr(self, k) for k in self.__slots__ if k != "payload"}
        if with_payload:
            d["payload"] = bytes(self.payload).decode("utf-8", "backslashreplace")
        return d


class Quarantine:
    """Append-only record of refused messages, with list/count/purge for operators."""

    def __init__(self, path: str | Path | LocalFile):
        self.file = path if isinstance(path, LocalFile) else LocalFile(path)
        self.path = self.file.path
        self._pending: list[tuple] = []

    def _conn(self) -> sqlite3.Connection:
        return self.file.conn()

    def add(self, message: Message, rejection: Rejection) -> None:
        self._pending.append((
            utc_now().strftime(TS), rejection.reason, rejection.stage, rejection.plugin,
            rejection.field, rejection.name, rejection.detail, message.topic, bytes(message.payload),
            message.received.strftime(TS), int(message.retain), int(message.imported),
        ))

    def commit(self, done: Sequence[int] = ()) -> int:
        """Write what was added since the last commit and, in the same transaction,
        delete the inbox entries ``done`` (whose outcome is now recorded)."""
        if not self._pending and not done:
            return 0
        rows, self._pending = self._pending, []
        db = self._conn()
        with db:
            db.execute("BEGIN IMMEDIATE")
            if rows:
                db.executemany(
                    "INSERT INTO quarantine_t (at, reason, stage, plugin, field, name, detail, topic, payload,"
                    " received, retain, imported) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            if done:
                delete_done(db, done)
        return len(rows)

    def close(self) -> None:
        self.commit()
        self.file.close()

    # -- operator views -----------------------------------------------------------------------
    @staticmethod
    def _where(reason: str | None, name: str | None, ids: list[int] | None = None) -> tuple[str, list]:
        clauses, args = [], []
        if reason:
            clauses.append("reason = ?")
            args.append(reason)
        if name:
            clauses.append("name = ?")
            args.append(name.lower())
        if ids:
            clauses.append(f"id IN ({','.join('?' * len(ids))})")
            args.extend(ids)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def entries(self, reason: str | None = None, name: str | None = None, limit: int | None = None,
                ids: list[int] | None = None) -> Iterator[Entry]:
        self.commit()
        where, args = self._where(reason, name, ids)
        sql = f"SELECT * FROM quarantine_t{where} ORDER BY id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        for row in self._conn().execute(sql, args):
            yield Entry(*row)

    def get(self, entry_id: int) -> Entry | None:
        return next(self.entries(ids=[entry_id]), None)

    def count(self, reason: str | None = None, name: str | None = None) -> dict[str, int]:
        self.commit()
        where, args = self._where(reason, name)
        rows = self._conn().execute(f"SELECT reason, COUNT(*) FROM quarantine_t{where} GROUP BY reason ORDER BY reason", args)
        return dict(rows.fetchall())

    def delete(self, ids: list[int]) -> int:
        db = self._conn()
        with db:
            db.execute("BEGIN")
            n = 0
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                n += db.execute(f"DELETE FROM quarantine_t WHERE id IN ({','.join('?' * len(chunk))})", chunk).rowcount
        return n

    def purge(self, reason: str | None = None, name: str | None = None) -> int:
        self.commit()
        where, args = self._where(reason, name)
        db = self._conn()
        with db:
            db.execute("BEGIN")
            return db.execute(f"DELETE FROM quarantine_t{where}", args).rowcount
