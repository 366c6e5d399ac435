"""A maintenance change and a registration decided on the catalogue before it, on both stores.

The live service looks for changes made elsewhere once a second, so a registration can be
decided on a catalogue up to a second old.  Whatever the store, the write of that stale
plan must be refused (``StoreConflict``, nothing written), and the pipeline, which then
reloads its catalogue and decides again, must end with exactly one Current row per MAC and
per name.  Each scenario below once made a second Current row on SQLite.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from tessdb_core.catalog import FAR_FUTURE, NameMapping
from tessdb_core.contracts import StoreConflict
from tessdb_core.events import Message
from tessdb_core.pipeline import Pipeline
from tessdb_core.quarantine import Quarantine
from tessdb_core import Change, MaintenanceQueries

A = "AA:00:00:00:00:0A"
B = "BB:00:00:00:00:0B"
T0 = datetime(2026, 11, 30, 20, 0, 0)
T1 = T0 + timedelta(hours=1)   # the maintenance change
T2 = T0 + timedelta(hours=2)   # the registration decided on the catalogue of before T1


def reg(name: str, mac: str, zp: float, at: datetime) -> Message:
    payload = {"name": name, "mac": mac, "calib": zp, "rev": 2, "firmware": "1.0"}
    return Message("STARS4ALL/register", json.dumps(payload).encode(), at)


# -- the maintenance changes (as `tessdb-core instrument update / rename` make them) -------------------
def new_zp(view) -> Change:
    """stars1 gets a new version with ZP 21.0 from T1: its version of T0 is expired."""
    cat = view.catalog(names=["stars1"])
    v = cat.current_version(cat.current_mapping_of_name("stars1").mac)
    new = replace(v, zp=(21.0,), since=T1, until=FAR_FUTURE, current=True, registered="Manual", tess_id=None)
    return Change("stars1: ZP 21.0", at=T1, expire_versions=(v,), new_versions=(new,))


def rename(view) -> Change:
    """stars1 is renamed stars2 from T1: the mapping stars1 -> A is expired."""
    m = view.catalog(names=["stars1"]).current_mapping_of_name("stars1")
    return Change("stars1 -> stars2", at=T1, expire_mappings=(m,),
                  new_mappings=(NameMapping("stars2", m.mac, T1, FAR_FUTURE, True),))


#: name -> (maintenance change, the registration that follows it, its case on the stale catalogue,
#: its case once decided again, the Current (name, MAC) pairs at the end)
SCENARIOS = {
    # the stale plan expires the version the command already expired
    "update then zp change": (new_zp, reg("stars1", A, 20.8, T2), "zp_changed", "zp_changed", {("stars1", A)}),
    # the stale plan expires the mapping the command already expired: two names for MAC A
    "rename then rename": (rename, reg("stars3", A, 20.5, T2), "renamed", "renamed", {("stars3", A)}),
    # the stale plan maps a name the command just gave out: two MACs for stars2
    "rename then new device": (rename, reg("stars2", B, 20.6, T2), "created", "replaced", {("stars2", B)}),
}


#: the Current rows of name_to_mac_t (name, MAC) and tess_t (MAC, ZP)
CURRENT_ROWS = {"mappings": "SELECT name, mac_address FROM name_to_mac_t WHERE valid_state = 'Current' ORDER BY rowid",
                "versions": "SELECT mac_address, zp1 FROM tess_t WHERE valid_state = 'Current' ORDER BY tess_id"}


def one_current_each(rows: dict[str, list[tuple]]) -> None:
    names = [name for name, _ in rows["mappings"]]
    macs = [mac for _, mac in rows["mappings"]]
    versions = [mac for mac, _ in rows["versions"]]
    assert len(names) == len(set(names)), rows
    assert len(macs) == len(set(macs)), rows
    assert len(versions) == len(set(versions)), rows


@pytest.fixture
def stores(app, db_url, open_store):
    """``stores()``: another open store on the test's initialised database (each program has its own)."""
    app.store(db_url).initialise()
    return lambda: open_store(db_url)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_plan_decided_before_a_maintenance_change_is_refused(app, db_url, stores, select_rows, scenario):
    change, message, stale_case, _, _ = SCENARIOS[scenario]
    collector, tool = stores(), stores()
    settings = app.settings
    first = app.stages.register(app.stages.decode(reg("stars1", A, 20.5, T0), settings), collector.load_catalog(),
                                settings)
    collector.apply_registration(first)
    stale = collector.load_catalog()
    app.queries(MaintenanceQueries, tool).change("maintenance", change)  # within the same second
    before = select_rows(db_url, CURRENT_ROWS)

    plan = app.stages.register(app.stages.decode(message, settings), stale, settings)
    assert plan.case == stale_case
    with pytest.raises(StoreConflict, match="Current"):
        collector.apply_registration(plan)
    assert select_rows(db_url, CURRENT_ROWS) == before  # nothing written
    one_current_each(before)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_pipeline_decides_again_with_one_current_row(app, db_url, stores, select_rows, tmp_path, scenario):
    change, message, _, fresh_case, pairs = SCENARIOS[scenario]
    store, tool = stores(), stores()
    quarantine = Quarantine(tmp_path / "inbox.db")
    try:
        pipeline = Pipeline(app.stages, app.settings, store, quarantine)
        pipeline.run([reg("stars1", A, 20.5, T0)])
        app.queries(MaintenanceQueries, tool).change("maintenance", change)  # the pipeline has not looked yet
        stats = pipeline.run([message])
        assert list(quarantine.entries()) == []
    finally:
        quarantine.close()
    assert stats.register["num_registered"] == 2 and stats.register[f"num_{fresh_case}"] == 1
    rows = select_rows(db_url, CURRENT_ROWS)
    one_current_each(rows)
    assert set(rows["mappings"]) == pairs
    # the pipeline's catalogue is the database's
    fresh = store.load_catalog()
    assert sorted((m.name, m.mac) for m in pipeline.catalog.mappings if m.current) == \
        sorted((m.name, m.mac) for m in fresh.mappings if m.current)
    assert sorted((v.mac, v.zp) for v in pipeline.catalog.versions if v.current) == \
        sorted((v.mac, v.zp) for v in fresh.versions if v.current)
