"""Quarantine replay: kept messages run through the pipeline again.

The typical case is a photometer registered or authorised after its readings
arrived.  Each replayed entry is deleted only after the pipeline has committed
its new outcome (stored, dropped, or quarantined again under a fresh entry), so
a crash half-way can duplicate a quarantine entry but never lose one.
"""

from __future__ import annotations

from typing import Any

from .app import App
from .pipeline import Pipeline
from .quarantine import Quarantine


def replay(app: App, reason: str | None = None, name: str | None = None, db: str | None = None) -> dict[str, Any]:
    quarantine = Quarantine(app.settings.inbox.path)
    store = app.store(db)
    store.open()
    try:
        entries = list(quarantine.entries(reason, name))
        pipeline = Pipeline(app.stages, app.settings, store, quarantine,
                            buffer_size=app.settings.dbase.ingest_buffer_size)
        for entry in entries:
            pipeline.process(entry.message())
        pipeline.flush()  # commits the store batch and the new quarantine entries
        removed = quarantine.delete([e.id for e in entries])
        stats = pipeline.stats.as_dict()
        return {"replayed": len(entries), "removed": removed,
                "quarantined_again": sum(stats["quarantined"].values()), **stats}
    finally:
        quarantine.close()
        store.close()
