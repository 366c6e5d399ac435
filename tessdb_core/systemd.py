"""Readiness and watchdog notifications to systemd (``Type=notify``, ``WatchdogSec=``).

Why our own few lines: the protocol is one datagram to the socket named in
``$NOTIFY_SOCKET`` (sd_notify(3)); the Python bindings need libsystemd headers to
build, and the small PyPI clients are unmaintained.  Outside systemd (no
``$NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
import time


class Notifier:
    """READY=1 once, WATCHDOG=1 at half the watchdog period while the loop turns, STOPPING=1."""

    def __init__(self, environ: dict[str, str] | None = None):
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # an abstract socket
            address = "\0" + address[1:]
        self.address = address or None
        usec = env.get("WATCHDOG_USEC", "")
        #: seconds between two WATCHDOG=1 (half of systemd's period); None without a watchdog
        self.every = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None
        self._last = 0.0

    def send(self, state: str) -> bool:
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                s.sendto(state.encode(), self.address)
            return True
        except OSError:
            return False

    def ready(self, status: str = "") -> None:
        self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def alive(self) -> None:
        """Called every turn of the loop: a WATCHDOG=1 when half the period has passed."""
        if self.every is None:
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self.send("WATCHDOG=1")

    def stopping(self) -> None:
        self.send("STOPPING=1")
