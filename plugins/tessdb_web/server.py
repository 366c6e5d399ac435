"""The listener: uvicorn serving the application in a thread of its own.

Bounds: ``[web] max_connections`` connections and requests at once (503 beyond), a
client must send its request and an idle connection closes within ``REQUEST_TIMEOUT``
seconds, request headers are capped; a slow reader of a long answer holds one
connection, within the bound.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from loguru import logger

from .config import REQUEST_TIMEOUT, WebSettings

log = logger.bind(ns="web")


def _bounded_protocol() -> type:
    """uvicorn's h11 protocol with a deadline for each request's head: a client that connects
    and sends nothing, or trickles its headers, is disconnected after ``REQUEST_TIMEOUT``
    (uvicorn itself only times out idle kept-alive connections, and any byte resets that)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class BoundedH11(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _waiting_for: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._deadline is not None and self.cycle is not None and self.cycle is not self._waiting_for:
                self._deadline.cancel()  # the request's head is in: the application has it
                self._deadline = None

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._waiting_for = self.cycle
            self._deadline = self.loop.call_later(REQUEST_TIMEOUT, self._too_slow)

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return BoundedH11


class Listener:
    def __init__(self, app: Any, cfg: WebSettings) -> None:
        import logging

        import uvicorn

        logging.getLogger("uvicorn.access").disabled = True  # no access log: the reverse proxy keeps one

        config = uvicorn.Config(app, host=cfg.host, port=cfg.port, log_config=None, access_log=False,
                                lifespan="off", limit_concurrency=cfg.max_connections,
                                timeout_keep_alive=int(REQUEST_TIMEOUT), h11_max_incomplete_event_size=16_384,
                                server_header=False, date_header=True, timeout_graceful_shutdown=3,
                                ws="none", proxy_headers=False, http=_bounded_protocol())
        self.server = uvicorn.Server(config)
        self.cfg = cfg
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port bound (the one asked, or the one given for port 0)."""
        for server in getattr(self.server, "servers", []):
            for sock in server.sockets:
                return sock.getsockname()[1]
        return self.cfg.port

    def start(self, timeout: float = 15.0) -> None:
        self._thread = threading.Thread(target=self.server.run, name="tessdb-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError(f"the web listener could not start on {self.cfg.host}:{self.cfg.port}")
            time.sleep(0.02)
        log.info("Web: the public listener serves http://{}:{}/", self.cfg.host, self.port)

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(5)
