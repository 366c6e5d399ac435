"""Offline ingest: JSON Lines through the very same pipeline as the live service."""

from __future__ import annotations

from collections.abc import Iterable

from .app import App, tune_gc_for_throughput
from .events import Message, Reason, Rejection, utc_now
from .jsonl import BadLine, read
from .pipeline import Pipeline
from .quarantine import Quarantine
from .stats import Stats


def feed(pipeline: Pipeline, items: Iterable[Message | BadLine]) -> Stats:
    """Process every item, quarantining unreadable lines, then flush the filters and buffers."""
    process = pipeline.process
    for item in items:
        if type(item) is BadLine:
            pipeline.stats.mqtt["num_published"] += 1
            pipeline.reject(Message("", item.raw, utc_now(), False, True),
                            Rejection(Reason.BAD_JSON, f"{item.where}: {item.detail}", stage="ingest",
                                      plugin="tessdb-core", field="line"))
        else:
            process(item)
    pipeline.flush()
    return pipeline.stats


def ingest(app: App, paths: list[str], db: str | None = None, progress: bool | None = None) -> Stats:
    store = app.store(db)
    store.open()
    quarantine = Quarantine(app.settings.inbox.path)
    try:
        pipeline = Pipeline(app.stages, app.settings, store, quarantine,
                            buffer_size=app.settings.dbase.ingest_buffer_size)
        app.pm.hook.tessdb_startup(settings=app.settings)
        tune_gc_for_throughput()
        stats = feed(pipeline, read(paths, progress))
        app.pm.hook.tessdb_shutdown(settings=app.settings)
        return stats
    finally:
        quarantine.close()
        store.close()
