"""The core loop with test-only plugins: outcomes counted, failures contained, order kept."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tessdb_core.events import Message
from tessdb_core.pipeline import Pipeline
from tessdb_core.plugins import build
from tessdb_core.quarantine import Quarantine
from tessdb_core.settings import Settings
from tessdb_core.stages import Stages

from .toy_plugins import Exploding, MemoryStore, MemoryStorePlugin, ToyFilters, ToyFormat

T = datetime(2026, 3, 1, 22, 0, 0)


def make(tmp_path, chain=("dropzeros", "tagger"), buffer_size=4, store=None, extra=()):
    settings = Settings.from_dict({"filter": {"chain": list(chain)}, "dbase": {"buffer_size": buffer_size,
                                                                               "url": "memory://"}})
    store = store or MemoryStore()
    filters = ToyFilters()
    pm = build(settings, extra=[("toy", ToyFormat()), ("toyfilters", filters),
                                ("memstore", MemoryStorePlugin(store)), *extra], entrypoints=False)
    stages = Stages(pm)
    q = Quarantine(tmp_path / "inbox.db")
    return Pipeline(stages, settings, stages.store("memory://", settings), q), store, q, filters


def reading(seq, mag=20.0, name="stars1", offset=None):
    return Message("toy/reading", f"{name}:{seq}:{mag}".encode(), T + timedelta(seconds=offset if offset is not None else seq))


def register(name="stars1"):
    return Message("toy/register", name.encode(), T)


def test_readings_flow_through_filters_batches_and_flush(tmp_path):
    p, store, q, filters = make(tmp_path)
    msgs = [register()] + [reading(i, 0.0 if i in (4, 5) else 20.0) for i in range(1, 11)]
    stats = p.run(msgs)
    # 10 readings: seq 4, 5 dropped (zeros); 3, 6, 9 held until flush; all others stored
    assert sorted(r.reading.seq for r in store.rows.values()) == [1, 2, 3, 6, 7, 8, 9, 10]
    assert stats.mqtt == {"num_published": 11, "num_readings": 10, "num_register": 1, "num_filtered": 0}
    assert stats.register["num_registered"] == 1 and stats.register["num_created"] == 1
    assert stats.filtered == {"dropzeros": 2}
    assert stats.stored == 8
    assert stats.readings["num_readings"] == 8
    # chain order from settings: tagger sees what dropzeros released, held ones at flush time
    assert filters.made[0][1].seen == [1, 2, 7, 8, 10, 3, 6, 9]
    # batches of 4, then the flush writes the rest
    assert store.batches == 2


def test_chain_order_comes_from_settings(tmp_path):
    p, store, q, filters = make(tmp_path, chain=("tagger", "dropzeros"))
    p.run([register()] + [reading(i) for i in (1, 2, 3)])
    assert [f.name for f in p.filters] == ["tagger", "dropzeros"]
    assert filters.made[0][1].seen == [1, 2, 3]  # the tagger now sees everything first


def test_unknown_filter_in_chain_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="filter.chain names unknown filter.*nosuch"):
        make(tmp_path, chain=("nosuch",))


def test_a_plugin_that_raises_quarantines_only_that_message(tmp_path):
    p, store, q, _ = make(tmp_path, extra=[("exploding", Exploding())])
    p.run([register(), reading(1), Message("toy/reading", b"boom:2:20", T), reading(4)])
    assert sorted(r.reading.seq for r in store.rows.values()) == [1, 4]
    entries = list(q.entries())
    assert len(entries) == 1
    e = entries[0]
    assert (e.reason, e.plugin, e.stage) == ("plugin_error", "exploding", "decode")
    assert "kaboom" in e.detail and bytes(e.payload) == b"boom:2:20"
    assert p.stats.quarantined == {"plugin_error": 1}


def test_rejections_are_quarantined_with_reason_and_discards_only_counted(tmp_path):
    p, store, q, _ = make(tmp_path)
    p.run([
        register(),
        reading(1),
        Message("toy/reading", b"garbage", T),           # decode rejection
        reading(2, name="badname"),                       # validation rejection
        reading(4, name="banned"),                        # discard: counted, not kept
        reading(5, name="stars9"),                        # not registered
        Message("other/topic", b"x", T),                 # no decoder
    ])
    counts = q.count()
    assert counts == {"bad_name": 1, "missing_field": 1, "unknown_photometer": 1, "unknown_topic": 1}
    assert p.stats.mqtt["num_filtered"] == 1 and p.stats.discarded == {"blacklist": 1}
    assert p.stats.readings["rej_not_registered"] == 1
    e = next(q.entries(reason="missing_field"))
    assert (e.plugin, e.stage, e.field) == ("toy", "decode", "payload")
    assert [r.reading.seq for r in store.rows.values()] == [1]


def test_duplicates_counted_and_failed_rows_quarantined_batch_goes_on(tmp_path):
    store = MemoryStore(fail_on_seq=7)
    p, store, q, _ = make(tmp_path, store=store, buffer_size=100)
    p.run([register(), reading(1), reading(2), reading(2, offset=2), reading(7), reading(8)])
    assert sorted(r.reading.seq for r in store.rows.values()) == [1, 2, 8]
    assert p.stats.readings["rej_duplicated"] == 1
    assert q.count() == {"store_error": 1}
    assert "disk on fire" in next(q.entries()).detail


@pytest.mark.parametrize("fault", ["unavailable", "contract broken"])
def test_a_store_that_cannot_write_keeps_the_batch_and_quarantines_nothing(tmp_path, fault):
    """A full disk / lost connection (StoreUnavailable), or any exception a store raises
    instead of reporting rows in WriteReport.failed, is the database's fault: the batch is
    kept, ``stalled`` says why, and the next write after recovery stores all of it."""
    from tessdb_core.contracts import StoreUnavailable

    class Flaky(MemoryStore):
        broken = True

        def write_readings(self, batch):
            if self.broken:
                raise StoreUnavailable("database or disk is full") if fault == "unavailable" else OSError("boom")
            return super().write_readings(batch)

    store = Flaky()
    p, _, q, _ = make(tmp_path, store=store, buffer_size=2)
    for i, m in enumerate([register(), reading(1), reading(2), reading(3)], start=1):
        m.inbox_id = i
        p.process(m)
    assert isinstance(p.stalled, StoreUnavailable) and not store.rows
    with pytest.raises(StoreUnavailable):
        p.flush()
    assert q.count() == {} and len(p.batch) == 3 and not store.rows
    assert p.done == []  # the registration's outcome was recorded anyway
    store.broken = False
    p.write()
    assert p.stalled is None and sorted(r.reading.seq for r in store.rows.values()) == [1, 2, 3]
    assert q.count() == {} and p.stats.stored == 3


def test_a_row_refused_for_its_own_content_is_quarantined(tmp_path):
    class Picky(MemoryStore):
        def write_readings(self, batch):
            good = [r for r in batch if r.reading.seq != 2]
            report = super().write_readings(good)
            report.failed.extend((r, "CHECK constraint failed: mag") for r in batch if r.reading.seq == 2)
            return report

    p, store, q, _ = make(tmp_path, store=Picky(), buffer_size=100)
    p.run([register(), reading(1), reading(2), reading(3)])
    assert q.count() == {"store_error": 1} and sorted(r.reading.seq for r in store.rows.values()) == [1, 3]


def test_readings_of_a_name_never_registered_get_no_filter_state(tmp_path):
    p, store, q, filters = make(tmp_path)
    p.run([register()] + [reading(1, name=f"stars{100 + i}") for i in range(50)] + [reading(1)])
    assert q.count() == {"unknown_photometer": 50}
    assert filters.made[0][1].seen == [1]  # only the registered photometer went through the filters


def test_a_too_large_message_is_quarantined_before_decoding(tmp_path):
    p, store, q, _ = make(tmp_path)
    big = reading(1)
    big.payload, big.size = big.payload[:5], 100_000
    p.run([register(), big, reading(2)])
    (entry,) = q.entries()
    assert entry.reason == "too_large" and "100000 bytes" in entry.detail and len(entry.payload) == 5
    assert [r.reading.seq for r in store.rows.values()] == [2]


def test_a_registration_conflict_is_decided_again_on_a_fresh_catalogue(tmp_path):
    from tessdb_core.contracts import StoreConflict

    class Racing(MemoryStore):
        """The first apply loses a race: another writer registered the same name meanwhile."""

        def __init__(self):
            super().__init__()
            self.raced = False

        def apply_registration(self, plan):
            if not self.raced:
                self.raced = True
                super().apply_registration(plan)  # the other collector's row
                raise StoreConflict("stars1 was registered by another collector")
            return super().apply_registration(plan)

    p, store, q, _ = make(tmp_path, store=Racing())
    p.run([register(), reading(1)])
    assert p.stats.register["num_rebooted"] == 1 and p.stats.register["num_created"] == 0
    assert len(store.catalog.mappings) == 1  # never two Current rows
    assert [r.reading.seq for r in store.rows.values()] == [1]


class SyncingStore(MemoryStore):
    """A store whose registration commits are durable only once synced (a SQLite file in
    WAL mode); ``fail`` makes its sync fail like a disk with an I/O error."""

    def __init__(self):
        super().__init__()
        self.syncs = 0
        self.fail = False

    def sync(self):
        from tessdb_core.contracts import StoreUnavailable

        if self.fail:
            raise StoreUnavailable("I/O error")
        self.syncs += 1


def test_a_registration_leaves_the_inbox_only_after_the_store_synced_it(tmp_path):
    from tessdb_core.contracts import StoreUnavailable

    store = SyncingStore()
    p, _, q, _ = make(tmp_path, store=store)
    recorded: list[list[int]] = []
    commit = q.commit
    q.commit = lambda done=(): (recorded.append(list(done)), commit(done))[1]
    first, second = register("stars1"), register("stars2")
    first.inbox_id, second.inbox_id = 7, 8
    p.process(first)
    p.process(second)
    assert p.registered == [7, 8] and p.done == []  # committed by the store, not yet durable
    store.fail = True
    with pytest.raises(StoreUnavailable):
        p.write()
    assert p.registered == [7, 8] and recorded == [[]]  # a failed sync records neither
    store.fail = False
    p.write()
    assert store.syncs == 1  # one sync for the burst
    assert recorded[-1] == [7, 8] and p.registered == []
    p.write()
    assert store.syncs == 1  # nothing new to make durable: no sync


def test_a_batch_of_readings_makes_the_registrations_before_it_durable(tmp_path):
    store = SyncingStore()
    p, _, q, _ = make(tmp_path, store=store, buffer_size=100)
    msg = register()
    msg.inbox_id = 1
    p.process(msg)
    p.process(reading(1))
    p.write()
    assert store.syncs == 0 and store.batches == 1  # the batch's commit covered the registration
    assert p.registered == [] and p.done == []
