"""The fleet kept in memory, so that no request of the fleet view queries the database.

A background thread reads the catalogue and the sites every ``CATALOGUE_EVERY`` seconds
and the newest readings: in the running service from the service itself (``Controls``,
in memory) every ``NEWEST_EVERY`` seconds, over the newest readings found in the
database at start (those stored before this start); standalone from the database at
every catalogue round.  Requests only read the snapshot, swapped whole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from loguru import logger

from .config import CATALOGUE_EVERY, NEWEST_EVERY
from .fleet import Instrument, Newest
from .reader import WebReader

log = logger.bind(ns="web")


@dataclass(frozen=True)
class Snapshot:
    instruments: dict[str, Instrument] = field(default_factory=dict)
    newest: dict[str, Newest] = field(default_factory=dict)
    #: when the catalogue was last read (epoch), 0 before the first reading
    read_at: float = 0.0


LiveNewest = Callable[[], dict[str, tuple[float, tuple[float, ...]]]]


class FleetCache:
    """The snapshot and the thread that keeps it fresh."""

    def __init__(self, reader: WebReader, live: LiveNewest | None = None,
                 catalogue_every: float = CATALOGUE_EVERY, newest_every: float = NEWEST_EVERY) -> None:
        self.reader = reader
        self.live = live
        self.catalogue_every = catalogue_every
        self.newest_every = newest_every
        #: called in the thread after each refresh (the listener makes its answers ahead)
        self.listeners: list[Callable[[], None]] = []
        self.snapshot = Snapshot()
        self._stored: dict[str, Newest] = {}  # newest readings found in the database
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def refresh_catalogue(self) -> None:
        instruments = self.reader.instruments()
        # with the service, the database's newest readings are read once: what is stored
        # later the service itself reports
        stored = self.reader.newest() if self.live is None or self.snapshot.read_at == 0.0 else self._stored
        with self._lock:
            self._stored = stored
            self.snapshot = Snapshot(instruments, self._merge(stored), time.time())

    def refresh_newest(self) -> None:
        if self.live is None:
            return
        with self._lock:
            self.snapshot = Snapshot(self.snapshot.instruments, self._merge(self._stored), self.snapshot.read_at)

    def _merge(self, stored: dict[str, Newest]) -> dict[str, Newest]:
        newest = dict(stored)
        if self.live is not None:
            for name, (epoch, mags) in self.live().items():
                old = newest.get(name)
                if old is None or old.epoch <= epoch:
                    newest[name] = Newest(epoch, tuple(mags))
        return newest

    def start(self) -> None:
        """Read the fleet, then keep it fresh.  With the service, the first reading is the
        thread's too: this is called from the service's thread, which answers ``live()``."""
        if self.live is None:
            self.refresh_catalogue()
        self._thread = threading.Thread(target=self._run, name="tessdb-web-fleet", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        next_catalogue = time.monotonic() + self.catalogue_every
        if self.snapshot.read_at == 0.0:
            try:
                self.refresh_catalogue()
                for listener in self.listeners:
                    listener()
            except Exception as exc:
                log.warning("Web: the fleet was not read: {}: {}", type(exc).__name__, exc)
                next_catalogue = 0.0
        while not self._stop.wait(self.newest_every):
            try:
                if time.monotonic() >= next_catalogue:
                    next_catalogue = time.monotonic() + self.catalogue_every
                    self.refresh_catalogue()
                else:
                    self.refresh_newest()
                for listener in self.listeners:  # (standalone: the statuses move on with the clock)
                    listener()
            except Exception as exc:  # the page keeps the last snapshot; the next round tries again
                log.warning("Web: the fleet was not refreshed: {}: {}", type(exc).__name__, exc)
