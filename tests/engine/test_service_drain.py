"""The service keeps pace with a burst: one turn feeds the inbox's backlog to the pipeline
chunk after chunk within its slice (``DRAIN_SLICE``), and says it is busy while a backlog
is left, so that the next poll does not wait for a message.

Before this, a turn handed one chunk (2,000 entries) on and the next poll waited up to
0.2 s: a burst of 60,000 readings took ~5 s more to store after its last arrival."""

from __future__ import annotations

import time
from types import SimpleNamespace

from tessdb_core.outage import Outage
from tessdb_core.service import DRAIN_SLICE, Service
from tessdb_core.settings import Settings


def _service(entries: int, chunk: int, process) -> tuple[Service, list]:
    svc = Service.__new__(Service)  # only what _drain and _busy touch
    inbox = [SimpleNamespace(inbox_id=i) for i in range(1, entries + 1)]
    processed: list = []

    def run(m):
        process(m)
        processed.append(m.inbox_id)

    writes: list[int] = []
    svc.inbox = SimpleNamespace(after=lambda cursor, n: inbox[cursor:cursor + n])
    svc.pipeline = SimpleNamespace(process=run, stalled=None, batch=[], done=[],
                                   write=lambda: writes.append(len(processed)))
    svc.settings = Settings.from_dict({"inbox": {"chunk": chunk, "flush_interval": 0.1}})
    svc.store_outage = Outage("Database d", "dbase")
    svc.inbox_outage = Outage("Inbox i", "server")
    svc.cursor, svc.backlog, svc.paused, svc.held = 0, False, False, []
    svc._last_write = time.monotonic()
    svc.inbox_guard = SimpleNamespace(lost=None)
    svc._report_set_aside = lambda: None
    svc.telemetry = SimpleNamespace(write_latency=[])
    return svc, processed


def test_one_turn_catches_up_a_backlog_of_many_chunks():
    svc, processed = _service(10_000, 100, lambda m: None)
    svc._drain()
    assert processed == list(range(1, 10_001)) and svc.cursor == 10_000
    assert svc.backlog is False


def test_a_slow_pipeline_stops_at_the_slice_and_the_service_stays_busy():
    per_chunk = DRAIN_SLICE * 1.2  # each chunk alone outlasts the slice
    svc, processed = _service(100, 10, lambda m: time.sleep(per_chunk / 10))
    svc._drain()
    assert 10 <= len(processed) < 100  # at least one chunk, never the whole backlog
    assert svc.backlog is True and svc._busy() is True  # the next poll must not wait
    while svc.backlog:
        svc._drain()
    assert processed == list(range(1, 101)) and svc._busy() is False


def test_the_last_partial_chunk_ends_the_backlog():
    svc, processed = _service(250, 100, lambda m: None)
    svc._drain()
    assert len(processed) == 250 and svc.backlog is False and svc._busy() is False
