"""The quarantine: every message that was not stored, kept with its reason and raw bytes.

It lives in the local inbox file (SQLite WAL, separate from the star schema) so
that a photometer registered or authorised later can have its readings replayed
through the pipeline.  Additions are buffered and committed with the readings'
batches, so a burst of bad input costs one transaction per batch, not per message;
the same transaction deletes the inbox entries whose outcome is now recorded.

It is bounded by configuration, not by the senders: ``[quarantine] max_mb`` (the
oldest entries go first) and ``keep_days``.  Payloads are already cut to
``[mqtt] max_payload`` on arrival, so one entry cannot exceed the bound by much.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .events import Message, Rejection, utc_now
from .localfile import LocalFile


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
        #: bytes of payload and detail kept (None: not known yet, counted at the next trim)
        self._kept_bytes: int | None = None
        #: entries dropped by :meth:`trim` since this object was made
        self.dropped = 0

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
        delete the inbox entries ``done`` (whose outcome is now recorded).  On failure
        (LocalFileUnavailable) nothing is written and the added rows are kept for the
        next commit."""
        if not self._pending and not done:
            return 0
        rows = self._pending
        self.file.record_outcomes(rows, done)
        self._pending = []
        if rows and self._kept_bytes is not None:
            self._kept_bytes += sum(len(r[6]) + len(r[8]) for r in rows)
        return len(rows)

    def over_bounds(self, max_bytes: int) -> bool:
        """True when the kept entries may exceed ``max_bytes`` (cheap: a running count)."""
        return self._kept_bytes is None or self._kept_bytes > max_bytes

    def trim(self, max_bytes: int, keep_days: float) -> int:
        """Drop the entries older than ``keep_days`` (0: no age limit), then the oldest
        until payloads and details fit in ``max_bytes``; return how many went."""
        db = self._conn()
        cutoff = (utc_now() - timedelta(days=keep_days)).strftime(TS) if keep_days else None
        try:
            if self._kept_bytes is None:
                self._kept_bytes = db.execute(
                    "SELECT COALESCE(SUM(length(payload) + length(detail)), 0) FROM quarantine_t").fetchone()[0]
            excess = self._kept_bytes - max_bytes
            last, freed = None, 0
            if excess > 0 or cutoff is not None:
                for entry_id, at, size in db.execute(
                        "SELECT id, at, length(payload) + length(detail) FROM quarantine_t ORDER BY id"):
                    if freed >= excess and (cutoff is None or at >= cutoff):
                        break
                    last, freed = entry_id, freed + size
            if last is None:
                return 0
            with db:
                db.execute("BEGIN IMMEDIATE")
                n = db.execute("DELETE FROM quarantine_t WHERE id <= ?", (last,)).rowcount
        except sqlite3.Error as exc:
            raise self.file.unavailable(exc) from None
        self._kept_bytes -= freed
        self.dropped += n
        return n

    def close(self) -> None:
        try:
            self.commit()
        finally:
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
        self._kept_bytes = None
        return n

    def purge(self, reason: str | None = None, name: str | None = None) -> int:
        self.commit()
        where, args = self._where(reason, name)
        db = self._conn()
        self._kept_bytes = None
        with db:
            db.execute("BEGIN")
            return db.execute(f"DELETE FROM quarantine_t{where}", args).rowcount
