"""The pure rules of the maintenance commands, without a database."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from tessdb_core.catalog import FAR_FUTURE, Catalog, NameMapping, Version
from tessdb_core.durations import parse_duration
from tessdb_maint import rules
from tessdb_core import MaintenanceQueries, MaintenanceView

NOW = datetime(2026, 11, 30, 12, 0, 0)
T0 = datetime(2026, 1, 1)
LIMITS = rules.Limits()


class FakeView:
    def __init__(self, cat: Catalog, locations=(), observers=()):
        self.cat, self._locations, self._observers = cat, list(locations), list(observers)

    def catalog(self, names=None, macs=None):
        return self.cat

    def locations(self):
        return self._locations

    def observers(self, include_expired=False):
        return self._observers

    #: (mac, reading time, location_id) of the stored readings, for reading_locations
    readings: tuple = ()

    def reading_locations(self, mac, start, end):
        counts = {}
        for m, t, loc in self.readings:
            if m == mac and start <= t < end:
                counts[loc] = counts.get(loc, 0) + 1
        return counts


def version(mac="AA:00:00:00:00:01", since=T0, **kw):
    base = dict(mac=mac, since=since, until=FAR_FUTURE, current=True, model="TESS-W", firmware="1.2",
                authorised=True, registered="Automatic", zp=(20.5,), filters=("UV/IR-740",), offsets=(0.0,),
                location_id=3, observer_id=4, tess_id=7)
    base.update(kw)
    return Version(**base)


def view_with(*extra_maps, **kw):
    m = NameMapping("stars1", "AA:00:00:00:00:01", T0, FAR_FUTURE, True, key=1)
    return FakeView(Catalog(mappings=[m, *extra_maps], versions=[version(**kw)]),
                    locations=[{"location_id": -1, "place": "Unknown"}, {"location_id": 3, "place": "Here"}],
                    observers=[{"observer_id": 4, "name": "Someone"}])


def test_the_view_protocols_are_structural():
    assert isinstance(view_with(), MaintenanceView)
    from tessdb_sqlite.maintenance import SqliteMaintenance
    assert isinstance(SqliteMaintenance(store=None), MaintenanceQueries)


@pytest.mark.parametrize("text, expected", [("a:b:c:1:2:3", "0A:0B:0C:01:02:03"),
                                            (" aa:BB:cc:00:11:ff ", "AA:BB:CC:00:11:FF")])
def test_mac(text, expected):
    assert rules.normalise_mac(text) == expected


@pytest.mark.parametrize("text", ["", "a:b:c:d:e", "a:b:c:d:e:f:0", "aa:bb:cc:dd:ee:fg", "aabbccddeeff",
                                  "aa-bb-cc-dd-ee-ff", "aaa:b:c:d:e:f"])
def test_bad_mac(text):
    with pytest.raises(ValueError, match="AA:BB:CC:DD:EE:FF"):
        rules.normalise_mac(text)


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("30m", 1800), ("2h", 7200), ("3d", 259200),
                                           ("1w", 604800), ("1d12h", 129600), ("1.5h", 5400), (" 2H ", 7200)])
def test_duration(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "3", "3x", "h", "0d", "2h3", "-2h", "2 h x"])
def test_bad_duration(text):
    with pytest.raises(ValueError, match="is not valid"):
        parse_duration(text)


def test_times():
    assert rules.parse_time("2026-01-02", now=NOW) == datetime(2026, 1, 2)
    assert rules.parse_time("2026-01-02T03:04:05+01:00", now=NOW) == datetime(2026, 1, 2, 2, 4, 5)
    assert rules.parse_time("2026-01-02 03:04:05.25Z", now=NOW) == datetime(2026, 1, 2, 3, 4, 5, 250000)
    with pytest.raises(ValueError, match="in the future"):
        rules.parse_time("2026-12-01", now=NOW)
    with pytest.raises(ValueError, match="not a date or time"):
        rules.parse_time("yesterday", now=NOW)
    assert rules.fmt_time(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02 03:04:05"


def test_names():
    assert rules.check_new_name(" STARS12 ", LIMITS) == "stars12"
    # the TESS plugin's rule (tessdb_tess.photometer): a full match, ASCII digits only
    for bad in ("tess12", "stars", "stars12345678", "", "stars٩٠٢", "stars1\nstars2"):
        with pytest.raises(ValueError, match="name_pattern"):
            rules.check_new_name(bad, LIMITS)
    assert rules.check_new_name("tess12", rules.Limits(name_pattern=r"^tess\d+$")) == "tess12"
    with pytest.raises(ValueError, match="name_pattern"):
        rules.check_new_name("tess١", rules.Limits(name_pattern=r"^tess\d+$"))
    assert sorted(["stars10", "stars2", "stars1"], key=rules.natural_key) == ["stars1", "stars2", "stars10"]


def test_update_versions_and_carries():
    change = rules.plan_update(view_with(), "stars1", zps=[20.8], limits=LIMITS, now=NOW)
    (old,), (new,) = change.expire_versions, change.new_versions
    assert change.at == NOW == new.since and new.until == FAR_FUTURE and new.current and new.tess_id is None
    assert (new.zp, new.registered) == ((20.8,), "Manual")
    assert (new.authorised, new.location_id, new.observer_id, new.firmware) == (True, 3, 4, "1.2")
    latest = rules.plan_update(view_with(), "stars1", filters=["R"], latest=True, limits=LIMITS, now=NOW)
    assert latest.at is None and not latest.expire_versions
    (before, after), = latest.edit_versions
    assert after.filters == ("R",) and after.since == before.since and after.tess_id == 7
    assert not rules.plan_update(view_with(), "stars1", zps=[20.5], limits=LIMITS, now=NOW).changes_anything
    with pytest.raises(ValueError, match="not later"):
        rules.plan_update(view_with(), "stars1", zps=[20.8], since=T0, limits=LIMITS, now=NOW)
    with pytest.raises(LookupError, match="unknown photometer 'stars2'"):
        rules.plan_update(view_with(), "stars2", zps=[20.8], limits=LIMITS, now=NOW)


def test_update_tess4c_channels():
    v = view_with(model="TESS4C", zp=(20.0, 20.1, 20.2, 20.3), filters=("a", "b", "c", "d"), offsets=(0.0,) * 4)
    (new,) = rules.plan_update(v, "stars1", zps=[19.0], channel=2, limits=LIMITS, now=NOW).new_versions
    assert new.zp == (20.0, 19.0, 20.2, 20.3)
    (new,) = rules.plan_update(v, "stars1", filters=list("wxyz"), limits=LIMITS, now=NOW).new_versions
    assert new.filters == tuple("wxyz")
    with pytest.raises(ValueError, match="give --zp 4 time"):
        rules.plan_update(v, "stars1", zps=[19.0], limits=LIMITS, now=NOW)


def test_create_refusals_and_anonymous_mac():
    taken = view_with()
    with pytest.raises(ValueError, match="already in use"):
        rules.plan_create(taken, name="stars1", mac="AA:00:00:00:00:09", model="TESS-W", zps=[20.0], filters=(),
                          offsets=(), firmware="x", authorise=False, location=None, observer=None, since=None,
                          limits=LIMITS, now=NOW)
    # a MAC without a name keeps one Current version: the old one expires
    gone = NameMapping("stars1", "AA:00:00:00:00:01", T0, T0 + timedelta(days=1), False, key=1)
    anon = FakeView(Catalog(mappings=[gone], versions=[version()]))
    change = rules.plan_create(anon, name="stars5", mac="aa:0:0:0:0:1", model="TESS-W", zps=[20.0], filters=(),
                               offsets=(), firmware="x", authorise=False, location=None, observer=None,
                               since=None, limits=LIMITS, now=NOW)
    assert [v.tess_id for v in change.expire_versions] == [7]
    assert change.new_versions[0].registered == "Manual" and change.new_mappings[0].name == "stars5"


def test_rename_and_assign():
    other = NameMapping("stars2", "AA:00:00:00:00:02", T0, FAR_FUTURE, True, key=2)
    change = rules.plan_rename(view_with(other), "stars1", "stars2", since=None, limits=LIMITS, now=NOW)
    assert [m.key for m in change.expire_mappings] == [1, 2]
    assert change.new_mappings[0] == NameMapping("stars2", "AA:00:00:00:00:01", NOW, FAR_FUTURE, True)
    change = rules.plan_assign(view_with(), "stars1", location="-1", observer=None, since=None)
    (_, after), = change.edit_versions
    assert (after.location_id, after.observer_id) == (-1, 4)
    with pytest.raises(LookupError, match="unknown location 'There'"):
        rules.plan_assign(view_with(), "stars1", location="There", observer=None, since=None)


def test_close_pairs_matches_brute_force():
    rnd = random.Random(5)
    locs = [{"location_id": i, "place": f"p{i}", "longitude": -3.7 + rnd.uniform(-0.01, 0.01),
             "latitude": 40.4 + rnd.uniform(-0.01, 0.01)} for i in range(120)]
    locs.append({"location_id": 999, "place": "nowhere", "longitude": None, "latitude": None})
    got = {(p["id1"], p["id2"]) for p in rules.close_pairs(locs, 150)}
    want = {(a["location_id"], b["location_id"]) for i, a in enumerate(locs[:-1]) for b in locs[i + 1:-1]
            if rules.haversine(a["longitude"], a["latitude"], b["longitude"], b["latitude"]) < 150}
    assert got == want and got
    assert 504_000 < rules.haversine(-3.7038, 40.4168, 2.1734, 41.3851) < 506_000  # Madrid - Barcelona


def test_observer_fields():
    assert rules.observer_fields(name=" A ", affiliation="", email=None) == {"name": "A", "affiliation": None}
    for kw, msg in (({"type": "Robot"}, "not one of"), ({"email": "x@"}, "e-mail"),
                    ({"website_url": "ftp://x"}, "http"), ({"name": " "}, "non-empty")):
        with pytest.raises(ValueError, match=msg):
            rules.observer_fields(**kw)
