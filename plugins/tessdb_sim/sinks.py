"""Where simulated messages go: the common interface and the JSON Lines file.

Why an interface: the runner paces, counts and reports the same way whether the
messages go to a broker or to a file that ``tessdb-core ingest`` reads later.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import BinaryIO, Protocol

import orjson

from .generator import SimEvent

__all__ = ["Sink", "JsonlSink", "jsonl_line", "iso_z"]


class Sink(Protocol):
    """Something that takes messages and can say when all of them are safely delivered."""

    #: where the messages go, for the summary
    target: str

    def send(self, event: SimEvent) -> None:
        """Hand one message over (may block to keep the amount in flight bounded)."""

    def pending(self) -> int:
        """Messages handed over but not yet acknowledged / written."""

    def close(self, progress=None) -> None:
        """Wait until every message is delivered, then release the connection or file."""


def iso_z(t: datetime) -> str:
    """Naive UTC -> ``2026-11-30T01:02:03.250Z`` (milliseconds, the capture format)."""
    return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


def jsonl_line(event: SimEvent) -> bytes:
    """One offline-ingest envelope (see ``tessdb_core.jsonl``), without the newline."""
    return orjson.dumps({"topic": event.topic, "payload": event.payload, "received": iso_z(event.received),
                         "retain": False})


class JsonlSink:
    """Writes the envelopes to a file (``-`` = standard output)."""

    def __init__(self, path: str):
        self.target = "<stdout>" if path == "-" else path
        if path == "-":
            self._fh: BinaryIO = sys.stdout.buffer
            self._own = False
        else:
            try:
                self._fh = open(path, "wb")
            except OSError as exc:
                raise OSError(f"cannot write {path}: {exc.strerror or exc}") from None
            self._own = True

    def send(self, event: SimEvent) -> None:
        self._fh.write(jsonl_line(event) + b"\n")

    def pending(self) -> int:
        return 0

    def close(self, progress=None) -> None:
        self._fh.flush()
        if self._own:
            self._fh.close()
