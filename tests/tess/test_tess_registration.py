"""decide(): the decision table A-E, change detection and new-version contents (docs/rules.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from tessdb_core.catalog import FAR_FUTURE, Catalog
from tessdb_tess.registration import decide, managed_change

from .tess_helpers import commit, current_mappings, current_versions, registration

AF = "AA:BB:CC:DD:EE:FF"
FA = "FF:EE:DD:CC:BB:AA"
CC = "CC:CC:CC:CC:CC:CC"
T = [datetime(2026, 1, 1) + timedelta(days=i) for i in range(10)]


def run(catalog, reg):
    plan = decide(reg, catalog)
    return commit(catalog, plan)


def with_location(catalog: Catalog, mac: str, loc: int, obs: int, authorised: bool = True) -> Catalog:
    """What an operator does by hand (tess instrument assign / enable)."""
    versions = [replace(v, location_id=loc, observer_id=obs, authorised=authorised) if v.mac == mac and v.current
                else v for v in catalog.versions]
    return Catalog(list(catalog.mappings), versions)


def test_worked_scenario_3_8():
    cat = Catalog()
    # 1: A brand new
    p = run(cat, registration("stars8000", AF, 20.50, T[1], firmware="1.0"))
    assert p.case == "created"
    assert p.message == f"Brand new photometer registered: stars8000 (MAC = {AF})"
    assert current_mappings(cat) == {("stars8000", AF)}
    (v1,) = cat.versions_of(AF)
    assert (v1.zp, v1.since, v1.until, v1.current, v1.location_id, v1.observer_id, v1.authorised, v1.registered,
            v1.firmware) == ((20.50,), T[1], FAR_FUTURE, True, -1, -1, False, "Automatic", "1.0")
    cat = with_location(cat, AF, 42, 7)

    # 2: D, diff < 0.005 -> reboot, nothing changes
    p = run(cat, registration("stars8000", AF, 20.503, T[2]))
    assert p.case == "rebooted" and not p.changes_anything
    assert p.message == f"Detected reboot for photometer stars8000 (MAC = {AF})"
    assert len(cat.versions_of(AF)) == 1

    # 3: D, changed -> new version, carried columns
    p = run(cat, registration("stars8000", AF, 20.33, T[3], firmware="2.0"))
    assert p.case == "zp_changed"
    assert p.message.startswith(f"TESS-W stars8000 ({AF}) changing ZP(s)/Hz Offset/Filters from ZP=20.5")
    old, v2 = cat.versions_of(AF)
    assert (old.current, old.until) == (False, T[3])
    assert old.until == v2.since == T[3]
    assert (v2.zp, v2.current, v2.until, v2.location_id, v2.observer_id, v2.authorised, v2.firmware,
            v2.registered) == ((20.33,), True, FAR_FUTURE, 42, 7, True, "1.0", "Automatic")

    # 4: B rename, tess_t untouched
    p = run(cat, registration("stars8001", AF, 20.33, T[4]))
    assert p.case == "renamed"
    assert p.message == f"Renamed photometer stars8000 (MAC = {AF}) with brand new name stars8001"
    assert p.new_version is None and p.expire_versions == ()
    assert current_mappings(cat) == {("stars8001", AF)}
    (m0,) = [m for m in cat.mappings if m.name == "stars8000"]
    assert (m0.until, m0.current) == (T[4], False)
    assert len(cat.versions_of(AF)) == 2

    # 5: C replace with a new device: loc/obs copied from the old MAC, AA..FF stays Current (orphan)
    p = run(cat, registration("stars8001", FA, 20.48, T[5], firmware="3.0"))
    assert p.case == "replaced"
    assert p.message == f"Replaced photometer tagged stars8001 (old MAC = {AF}) with new one with MAC {FA}"
    assert current_mappings(cat) == {("stars8001", FA)}
    (fa,) = cat.versions_of(FA)
    assert (fa.zp, fa.since, fa.location_id, fa.observer_id, fa.authorised, fa.registered, fa.firmware) == (
        (20.48,), T[5], 42, 7, False, "Automatic", "3.0")
    assert [v.zp for v in current_versions(cat, AF)] == [(20.33,)]

    # 6: E override: (stars8001 -> FA) and (stars8002 -> CC) expire, (stars8002 -> FA) is born
    run(cat, registration("stars8002", CC, 20.1, T[5] + timedelta(hours=1)))
    p = run(cat, registration("stars8002", FA, 20.48, T[6]))
    assert p.case == "extinct"
    assert p.message == (f"Overridden associations (stars8001 -> {FA}) and (stars8002 -> {CC}) with new "
                         f"(stars8002 -> {FA}) association data. Label stars8001 has no associated photometer now!")
    assert current_mappings(cat) == {("stars8002", FA)}
    assert {(m.name, m.mac) for m in p.expire_mappings} == {("stars8001", FA), ("stars8002", CC)}
    assert all(m.until == T[6] and not m.current for m in p.expire_mappings)
    assert p.new_version is None and len(cat.versions_of(FA)) == 1

    # 7: A for the orphaned MAC: no second Current row; the ZP changed so v2 is expired for v3
    p = run(cat, registration("stars9000", AF, 20.40, T[7]))
    assert p.case == "created"
    assert current_mappings(cat) == {("stars9000", AF), ("stars8002", FA)}
    cur = current_versions(cat, AF)
    assert len(cur) == 1
    assert (cur[0].zp, cur[0].since, cur[0].location_id, cur[0].observer_id, cur[0].authorised) == (
        (20.40,), T[7], 42, 7, True)
    v2_now = [v for v in cat.versions_of(AF) if v.zp == (20.33,)][0]
    assert v2_now.until == T[7] and not v2_now.current


def test_case_a_orphan_mac_unchanged_reuses_row():
    cat = Catalog()
    run(cat, registration("stars1", AF, 20.5, T[1]))
    run(cat, registration("stars1", FA, 20.5, T[2]))  # C: AF orphaned
    p = run(cat, registration("stars2", AF, 20.503, T[3]))
    assert p.case == "created"
    assert p.new_version is None and p.expire_versions == ()
    assert p.new_mapping.name == "stars2" and p.new_mapping.mac == AF
    assert len(current_versions(cat, AF)) == 1 and len(cat.versions_of(AF)) == 1


@pytest.mark.parametrize("old,new,changed", [
    (20.50, 20.505, True), (20.50, 20.5049, False), (20.50, 20.495, True), (20.50, 20.4951, False),
    (20.1, 20.105, True), (20.0, 20.0, False)])
def test_zp_threshold(old, new, changed):
    cat = Catalog()
    run(cat, registration("stars1", AF, old, T[1]))
    p = decide(registration("stars1", AF, new, T[2]), cat)
    assert p.case == ("zp_changed" if changed else "rebooted")


@pytest.mark.parametrize("old,new,changed", [
    (0.0, 0.001, True), (0.0, 0.0009, False), (0.1, 0.101, True), (0.5, 0.4991, False), (0.5, 0.499, True)])
def test_offset_threshold(old, new, changed):
    cat = Catalog()
    run(cat, registration("stars1", AF, 20.5, T[1], offsets=(old,)))
    p = decide(registration("stars1", AF, 20.5, T[2], offsets=(new,)), cat)
    assert p.case == ("zp_changed" if changed else "rebooted")
    if changed:
        assert p.new_version.offsets == (new,)


def test_firmware_alone_is_a_reboot_and_tessw_filter_not_compared():
    cat = Catalog()
    run(cat, registration("stars1", AF, 20.5, T[1], firmware="1.0"))
    assert decide(registration("stars1", AF, 20.5, T[2], firmware="9.9"), cat).case == "rebooted"
    assert decide(registration("stars1", AF, 20.5, T[2], filters=("Other",)), cat).case == "rebooted"


ZP4 = (20.1, 20.2, 20.3, 20.4)
BANDS = ("R", "G", "B", "Clear")


@pytest.mark.parametrize("zp,filters,offsets,case", [
    (ZP4, BANDS, (0.0,) * 4, "rebooted"),
    ((20.1, 20.2, 20.3, 20.404), BANDS, (0.0,) * 4, "rebooted"),
    ((20.1, 20.2, 20.3, 20.405), BANDS, (0.0,) * 4, "zp_changed"),
    (ZP4, ("R", "G", "B", "UV"), (0.0,) * 4, "zp_changed"),
    (ZP4, BANDS, (0.0, 0.0, 0.001, 0.0), "zp_changed"),
    (ZP4, BANDS, (0.0, 0.0, 0.0009, 0.0), "rebooted"),
])
def test_tess4c_changes(zp, filters, offsets, case):
    cat = Catalog()
    run(cat, registration("stars701", AF, ZP4, T[1], filters=BANDS))
    p = run(cat, registration("stars701", AF, zp, T[2], filters=filters, offsets=offsets))
    assert p.case == case
    if case == "zp_changed":
        assert p.message.startswith(f"TESS4C stars701 ({AF}) changing ZP(s)/Hz Offset/Filters from ZP=(20.1")
        (cur,) = current_versions(cat, AF)
        assert (cur.zp, cur.filters, cur.offsets, cur.model) == (zp, filters, offsets, "TESS4C")


def test_model_change_is_a_change():
    cat = Catalog()
    run(cat, registration("stars1", AF, 20.5, T[1]))
    assert decide(registration("stars1", AF, (20.5, 20.5, 20.5, 20.5), T[2]), cat).case == "zp_changed"


def test_replace_without_old_version_uses_unknown_location():
    cat = Catalog()
    run(cat, registration("stars1", AF, 20.5, T[1]))
    cat = Catalog(list(cat.mappings), [])  # old MAC lost its rows
    p = run(cat, registration("stars1", FA, 20.5, T[2]))
    assert p.case == "replaced"
    assert (p.new_version.location_id, p.new_version.observer_id, p.new_version.mac) == (-1, -1, FA)


def test_replace_back_with_change_counts_replaced():
    cat = Catalog()
    run(cat, registration("stars1", AF, 20.5, T[1]))
    cat = with_location(cat, AF, 5, 6, authorised=True)
    run(cat, registration("stars1", FA, 20.6, T[2]))  # C: FA takes the name, AF orphaned
    p = run(cat, registration("stars1", AF, 20.7, T[4]))  # C again: AF "replacing back"
    assert p.case == "replaced"
    assert p.message.startswith(f"Replaced photometer tagged stars1 (old MAC = {FA}) with new one with MAC {AF}")
    (cur,) = current_versions(cat, AF)
    assert (cur.zp, cur.location_id, cur.observer_id, cur.authorised, cur.since) == ((20.7,), 5, 6, True, T[4])
    assert [v.until for v in cat.versions_of(AF)] == [T[4], FAR_FUTURE]


def test_replace_back_without_change_touches_no_version():
    cat = Catalog()
    run(cat, registration("stars1", AF, 20.5, T[1]))
    run(cat, registration("stars1", FA, 20.6, T[2]))
    p = run(cat, registration("stars1", AF, 20.5, T[4]))
    assert p.case == "replaced" and p.new_version is None and p.expire_versions == ()
    assert len(cat.versions_of(AF)) == 1
    assert current_mappings(cat) == {("stars1", AF)}


def test_same_pair_without_version_gets_one():
    cat = Catalog()
    run(cat, registration("stars1", AF, 20.5, T[1]))
    cat = Catalog(list(cat.mappings), [])
    p = run(cat, registration("stars1", AF, 20.5, T[2]))
    assert p.case == "created" and p.new_version.since == T[2] and p.new_mapping is None
    assert len(current_versions(cat, AF)) == 1


def test_plan_is_pure():
    cat = Catalog()
    run(cat, registration("stars1", AF, 20.5, T[1]))
    before = (list(cat.mappings), list(cat.versions))
    decide(registration("stars1", AF, 21.5, T[2]), cat)
    decide(registration("stars2", FA, 21.5, T[2]), cat)
    assert (cat.mappings, cat.versions) == before


def test_managed_change_direct():
    cat = Catalog()
    run(cat, registration("stars1", AF, 20.5, T[1]))
    (v,) = cat.versions_of(AF)
    assert not managed_change(registration("stars1", AF, 20.504, T[2]), v)
    assert managed_change(registration("stars1", AF, 20.505, T[2]), v)


def test_a_registration_older_than_the_row_it_would_expire_is_refused():
    """A replay of old registrations (after a switch back from tessdb-server) must not end a
    version before it began; the same change sent later is applied (the positive control)."""
    cat = Catalog()
    run(cat, registration("stars1", AF, 20.50, T[1]))
    run(cat, registration("stars1", AF, 20.80, T[5]))  # a ZP change at T5: new Current version
    late = decide(registration("stars1", AF, 20.50, T[3]), cat)
    assert late.reason == "bad_timestamp" and late.field == "tstamp" and "older than the row" in late.detail
    assert [v.zp[0] for v in cat.versions_of(AF) if v.current] == [20.80]
    later = decide(registration("stars1", AF, 20.50, T[7]), cat)
    assert later.case == "zp_changed"
