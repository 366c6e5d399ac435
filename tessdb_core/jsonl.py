"""The offline-ingest source: JSON Lines files, one captured message per line.

Each line is ``{"topic": ..., "payload": "<raw payload text>", "received":
"2026-11-30T01:02:03.250Z", "retain": false}`` (``received`` and ``retain``
optional).  Payload bytes that are not UTF-8 are carried as the escapes
``\udc80``..``\udcff`` (Python's surrogateescape), so captures keep them exactly.  A line that is not such an object still becomes a message (topic
empty, the line as payload) with a note of the file and line, so that the
pipeline quarantines it instead of losing it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import orjson
from tqdm import tqdm

from .events import Message, utc_now

#: files larger than this show a progress bar on a terminal
PROGRESS_BYTES = 4 * 1024 * 1024


class LineError(ValueError):
    """A line of an ingest file that is not a message envelope."""


@dataclass(slots=True)
class BadLine:
    """A line that could not be read as an envelope: where it is, why, and its bytes."""

    where: str
    detail: str
    raw: bytes


def parse_received(text: str) -> datetime:
    """ISO 8601 with Z or an offset -> naive UTC; a naive value is taken as UTC."""
    if text[-1:] in ("Z", "z"):  # the common case, and the cheap one
        return datetime.fromisoformat(text[:-1])
    t = datetime.fromisoformat(text)
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc).replace(tzinfo=None)
    return t


def envelope(line: bytes, now: datetime) -> Message:
    """One line -> Message; raise LineError naming the bad key."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        try:  # the slow parser accepts lone surrogates: raw non-UTF-8 bytes escaped as \udcXX
            obj = json.loads(line)
        except ValueError:
            raise LineError(f"not JSON ({exc})") from None
    if type(obj) is not dict:
        raise LineError("not a JSON object")
    topic = obj.get("topic")
    if type(topic) is not str or not topic:
        raise LineError("key 'topic' missing or not a non-empty string")
    payload = obj.get("payload")
    if type(payload) is not str:
        raise LineError("key 'payload' missing or not a string (the raw payload text)")
    received = obj.get("received")
    if received is None:
        when = now
    else:
        try:
            when = parse_received(received)
        except (TypeError, ValueError):
            raise LineError(f"key 'received' = {received!r} is not an ISO 8601 timestamp") from None
    retain = obj.get("retain", False)
    if type(retain) is not bool:
        raise LineError(f"key 'retain' = {retain!r} is not true or false")
    return Message(topic, payload.encode("utf-8", "surrogateescape"), when, retain, True)


def read(paths: list[str], progress: bool | None = None) -> Iterator[Message | BadLine]:
    """Messages of every file in order; ``-`` is standard input."""
    for path in paths:
        if path == "-":
            yield from _lines(sys.stdin.buffer, "<stdin>", 0, progress)
            continue
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            yield from _lines(fh, path, size, progress)


def _lines(fh, label: str, size: int, progress: bool | None) -> Iterator[Message | BadLine]:
    show = (size >= PROGRESS_BYTES and sys.stderr.isatty()) if progress is None else progress
    bar = tqdm(total=size or None, unit="B", unit_scale=True, desc=os.path.basename(label),
               disable=not show, file=sys.stderr, mininterval=0.5)
    now = utc_now()
    try:
        for number, line in enumerate(fh, 1):
            if show:
                bar.update(len(line))
            stripped = line.strip()
            if not stripped:
                continue
            try:
                yield envelope(stripped, now)
            except LineError as exc:
                yield BadLine(f"{label} line {number}", str(exc), stripped)
    finally:
        bar.close()
