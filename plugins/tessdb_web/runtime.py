"""The listener's life: made from the settings, started with the service (its newest
readings in memory) or by ``tessdb-core web`` (from the database), stopped at the end."""

from __future__ import annotations

import threading
from typing import Any

from loguru import logger

from .config import WebSettings
from .reader import WebReader, open_store
from .source import FleetCache

log = logger.bind(ns="web")


class WebRuntime:
    """A read-only store, the fleet cache, the application and its listener."""

    def __init__(self, settings: Any, url: str, live: Any | None = None, pm: Any | None = None,
                 cfg: WebSettings | None = None) -> None:
        from .api import build
        from .server import Listener

        self.cfg = cfg or WebSettings.from_settings(settings)
        self.store, queries = open_store(settings, url, pm)
        try:
            self.reader = WebReader(queries, settings)
            self.cache = FleetCache(self.reader, live)
            self.cache.start()
            self.app = build(self.cfg, self.cache, self.reader)
            self.listener = Listener(self.app, self.cfg)
        except BaseException:
            self.store.close()
            raise

    def start(self) -> None:
        self.listener.start()

    def stop(self) -> None:
        self.listener.stop()
        self.cache.stop()
        self.store.close()


_lock = threading.Lock()
_current: WebRuntime | None = None


def start_with_service(controls: Any, settings: Any) -> WebRuntime | None:
    """Serve the public listener from the running service when ``[web] enabled``."""
    global _current
    stop()
    cfg = WebSettings.from_settings(settings)
    if not cfg.enabled:
        return None
    try:
        runtime = WebRuntime(settings, settings.dbase.url, live=controls.newest_readings, cfg=cfg)
        runtime.start()
    except Exception as exc:  # the collector goes on without its public page
        log.error("Web: the public listener did not start: {}: {}", type(exc).__name__, exc)
        return None
    with _lock:
        _current = runtime
    return runtime


def stop() -> None:
    global _current
    with _lock:
        runtime, _current = _current, None
    if runtime is not None:
        runtime.stop()
