"""Property test (issue 10 part 1): random payloads through the real stages into a real SQLite file.

Every message handed to the pipeline (the TESS decode, validate, register, filter and resolve
stages and the SQLite store, as the service composes them) must end in exactly one known way:
stored, counted as a duplicate, registered, discarded, or quarantined with a reason the TESS
rules give (never ``plugin_error``: a plugin that raises is a bug, never ``store_error``: the
database refusing a value means a rule let it through).  After each example no stored value lies
outside the ranges of ``[rules]``.  Bounded and deterministic (``derandomize``), so it runs in CI.
"""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import tessdb_sqlite
from tessdb_core.events import Message, Reason
from tessdb_core.pipeline import Pipeline
from tessdb_core.plugins import build
from tessdb_core.quarantine import Quarantine
from tessdb_core.settings import Settings
from tessdb_core.stages import Stages
from tessdb_tess import stage_decode, stage_filters, stage_rules
from tessdb_tess.photometer import (LENGTH_LIMITS, NAME_PATTERN, READING_RANGES, REGISTRATION_RANGES,
                                    is_photometer_name)

READING_TOPIC = "STARS4ALL/{}/reading"
REGISTER_TOPIC = "STARS4ALL/register"
T0 = datetime(2026, 11, 30, 1, 0, 0)
#: what a message of random content may legitimately be quarantined for
EXPECTED_REASONS = {Reason.BAD_ENCODING, Reason.BAD_JSON, Reason.NOT_OBJECT, Reason.MISSING_FIELD,
                    Reason.WRONG_TYPE, Reason.OUT_OF_RANGE, Reason.BAD_TIMESTAMP, Reason.BAD_MAC, Reason.BAD_NAME,
                    Reason.UNKNOWN_PHOTOMETER, Reason.HASH_MISMATCH, Reason.NOT_AUTHORISED}
RANGES = {r.key: (r.low, r.high) for r in READING_RANGES + REGISTRATION_RANGES}


class World:
    """One pipeline over one SQLite file for the whole test (examples add to it)."""

    def __init__(self, tmp):
        url = str(tmp / "tess.db")
        self.settings = Settings.from_dict({"dbase": {"url": url, "buffer_size": 1},
                                            "filter": {"enable": {"daylight": False}}})
        pm = build(self.settings, extra=[("tess_decode", stage_decode), ("tess_rules", stage_rules),
                                         ("tess_filters", stage_filters), ("sqlite", tessdb_sqlite)],
                   entrypoints=False)
        stages = Stages(pm)
        self.store = stages.store(url, self.settings)
        self.store.initialise()
        self.store.open()
        self.quarantine = Quarantine(tmp / "inbox.db")
        self.pipeline = Pipeline(stages, self.settings, self.store, self.quarantine)
        self.db = sqlite3.connect(url)
        #: table -> highest rowid already checked: each message's check sees only its own rows
        self.checked: dict[str, int] = {}
        self.clock = T0
        # known photometers, so that many random readings are stored
        for payload in ({"name": "stars1", "mac": "AA:BB:CC:DD:EE:01", "calib": 20.5,
                         "tstamp": "2000-01-01T00:00:00Z"},
                        {"name": "stars701", "mac": "AA:BB:CC:DD:EE:02", "tstamp": "2000-01-01T00:00:00Z",
                         **{f"F{i}": {"band": b, "calib": 20.0} for i, b in enumerate("CRGB", 1)}}):
            self.outcome(Message(REGISTER_TOPIC, json.dumps(payload).encode(), T0))

    def counters(self) -> dict[str, int]:
        s = self.pipeline.stats
        return {"quarantined": sum(s.quarantined.values()), "discarded": sum(s.discarded.values()),
                "stored": s.stored, "duplicate": s.readings["rej_duplicated"],
                "registered": s.register["num_registered"], "filtered": sum(s.filtered.values())}

    def outcome(self, message: Message) -> tuple[str, str | None]:
        before = self.counters()
        reasons_before = dict(self.pipeline.stats.quarantined)
        self.pipeline.process(message)
        self.pipeline.flush()
        after = self.counters()
        moved = {k: after[k] - before[k] for k in after if after[k] != before[k]}
        assert list(moved.values()) == [1], (moved, message)
        (kind,) = moved
        reason = None
        if kind == "quarantined":
            (reason,) = [r for n, r in ((self.pipeline.stats.quarantined[r] - reasons_before.get(r, 0), r)
                                        for r in self.pipeline.stats.quarantined) if n]
        return kind, reason

    def next_received(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("hostile"))
    yield w
    w.db.close()
    w.store.close()
    w.quarantine.close()


# -- strategies ----------------------------------------------------------------------------------------
def _in(key: str, margin: float = 0.0) -> st.SearchStrategy:
    lo, hi = RANGES[key]
    return st.floats(min_value=lo - margin, max_value=hi + margin, allow_nan=False)


HOSTILE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-2 ** 70, max_value=2 ** 70),
    st.sampled_from([1.7e308, -1.7e308, 1e300, 1e18, 2 ** 63, -(2 ** 63) - 1, 2 ** 64, "1e18", "-9223372036854775809",
                     "12.5", "١٢", "1_000", " 7", "nan", "-inf", True, None, [], {}]),
    st.text(max_size=6),
)


def value(key: str, integer: bool = False) -> st.SearchStrategy:
    """A value for a ``[rules]`` range: inside it (most often, bounds included), near it, or hostile."""
    lo, hi = RANGES[key]
    if integer:
        good = st.integers(min_value=int(lo), max_value=int(hi))
        near = st.integers(min_value=int(lo) - 10, max_value=int(hi) + 10)
    else:
        good = _in(key)
        near = _in(key, margin=abs(hi - lo))
    return st.one_of(good, good, st.sampled_from([lo, hi]), near, HOSTILE)


def good(key: str, integer: bool = False) -> st.SearchStrategy:
    lo, hi = RANGES[key]
    return st.integers(min_value=int(lo), max_value=int(hi)) if integer else _in(key)


NAMES = st.one_of(st.sampled_from(["stars901\n", "stars٩٠٢", "stars12345678", "", "stars1 ", "../x", "STARS1"]),
                  st.text(max_size=10), HOSTILE)
GOOD_TSTAMPS = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2049, 1, 1)).map(
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))
TSTAMPS = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda d: d.replace(microsecond=0).isoformat()),
    st.tuples(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
              st.sampled_from(["Z", "+01:00", "-0130", "+23:59", "-23:59", "+24:00", ""])).map(
        lambda t: t[0].replace(microsecond=0).isoformat() + t[1]),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "2999-12-31T23:59:59Z"]),
    st.text(max_size=25), HOSTILE,
)
MACS = st.one_of(st.sampled_from(["aa:bb:cc:dd:ee:1", "AA:BB:CC:DD:EE:03", "a:b:c:1:2:3", "AA:BB:CC:DD:EE"]),
                 st.text(max_size=20), HOSTILE)
TEXTS = st.one_of(st.text(max_size=10), st.text(min_size=60, max_size=70),
                  st.sampled_from(["x" * 300, "é" * 256, "R" * 65]), HOSTILE)
#: a field of a payload: its hostile values (``...`` removes the field)
READING_MUTATIONS = {
    "name": NAMES, "seq": value("seq", integer=True), "freq": value("freq"), "mag": value("mag"),
    "tamb": value("temperature"), "tsky": value("temperature"), "wdBm": value("wdbm", integer=True),
    "az": value("az"), "alt": value("alt"), "lat": value("lat"), "long": value("long"), "height": value("height"),
    "tstamp": TSTAMPS, "hash": st.one_of(st.sampled_from(["E02", "XYZ", "E0"]), HOSTILE),
    **{f"F{i}": st.one_of(st.fixed_dictionaries({"freq": value("freq"), "mag": value("mag")}), HOSTILE)
       for i in range(1, 5)},
}
REGISTRATION_MUTATIONS = {
    "name": NAMES, "mac": MACS, "firmware": TEXTS, "date": TEXTS, "tstamp": TSTAMPS,
    "calib": value("zp"), "offsethz": value("offset"),
    **{f"F{i}": st.one_of(st.fixed_dictionaries({"band": TEXTS, "calib": value("zp"), "offsethz": value("offset")}),
                          HOSTILE) for i in range(1, 5)},
}


def mutated(draw, d: dict, mutations: dict) -> dict:
    """``d`` with up to three fields given a hostile value or removed."""
    for key in draw(st.lists(st.sampled_from(sorted(mutations)), max_size=3, unique=True)):
        v = draw(st.one_of(st.just(...), mutations[key]))
        if v is ...:
            d.pop(key, None)
        else:
            d[key] = v
    return d


@st.composite
def real_reading(draw) -> dict:
    """A real-looking reading of a registered photometer (TESS-W or TESS4C)."""
    four = draw(st.booleans())
    d = {"name": "stars701" if four else "stars1", "seq": draw(good("seq", integer=True)),
         "tamb": draw(good("temperature")), "tsky": draw(good("temperature")), "wdBm": draw(good("wdbm", True))}
    if draw(st.integers(0, 3)) == 0:  # mostly the arrival time: fewer duplicates
        d["tstamp"] = draw(GOOD_TSTAMPS)
    if draw(st.booleans()):
        d["hash"] = "E02" if four else "E01"
    if draw(st.booleans()):
        d.update({k: draw(good(k)) for k in ("az", "alt", "lat", "long", "height")})
    if four:
        d.update({f"F{i}": {"freq": draw(good("freq")), "mag": draw(good("mag"))} for i in range(1, 5)})
    else:
        d.update(freq=draw(good("freq")), mag=draw(good("mag")))
    return d


#: the numbers of a reading and their ranges (TESS4C channels included)
NUMBERS = {"seq": ("seq", True), "tamb": ("temperature", False), "tsky": ("temperature", False),
           "wdBm": ("wdbm", True), "az": ("az", False), "alt": ("alt", False), "lat": ("lat", False),
           "long": ("long", False), "height": ("height", False), "freq": ("freq", False), "mag": ("mag", False)}


@st.composite
def reading_payload(draw) -> dict:
    """A real reading with up to three fields given a hostile value or removed."""
    return mutated(draw, draw(real_reading()), READING_MUTATIONS)


@st.composite
def reading_with_one_number(draw) -> dict:
    """A real reading with one number anywhere around (or far outside) its range: the
    payloads that reach the store when a range is missing."""
    d = draw(real_reading())
    field = draw(st.sampled_from(sorted(NUMBERS)))
    key, integer = NUMBERS[field]
    lo, hi = RANGES[key]
    number = draw(st.one_of(
        st.sampled_from([lo, hi, 1.7e308, -1.7e308, 1e300, -1e300, 1e18, -1e18, 2 ** 63 - 1, 2 ** 63, -(2 ** 63) - 1]),
        st.integers(min_value=-2 ** 64, max_value=2 ** 64) if integer
        else st.floats(allow_nan=False, allow_infinity=False),
        st.integers(min_value=int(lo) - 1000, max_value=int(hi) + 1000) if integer else _in(key, margin=abs(hi - lo))))
    if field in ("freq", "mag") and "F4" in d:
        d[f"F{draw(st.integers(1, 4))}"][field] = number
    else:
        d[field] = number
    return d


@st.composite
def registration_payload(draw) -> dict:
    """A real-looking registration (TESS-W or TESS4C), then mutated."""
    four = draw(st.booleans())
    name, mac = draw(st.sampled_from([("stars1", "AA:BB:CC:DD:EE:01"), ("stars701", "AA:BB:CC:DD:EE:02"),
                                      ("STARS3", "aa:bb:cc:dd:ee:3")]))
    d = {"name": name, "mac": mac, "firmware": "1.3.0", "date": "Nov 27 2023", "tstamp": draw(GOOD_TSTAMPS)}
    if four:
        d.update({f"F{i}": {"band": b, "calib": draw(good("zp")), "offsethz": draw(good("offset"))}
                  for i, b in enumerate(("UV/IR-740", "R", "G", "B"), 1)})
    else:
        d.update(calib=draw(good("zp")), offsethz=draw(good("offset")))
    return mutated(draw, d, REGISTRATION_MUTATIONS)


def encode(payload) -> bytes:
    """JSON as a hostile sender writes it: NaN, Infinity and integers beyond 64 bits included."""
    return json.dumps(payload, allow_nan=True, ensure_ascii=False).encode()


MESSAGES = st.lists(st.one_of(
    reading_payload().map(lambda p: ("reading", encode(p))),
    reading_payload().map(lambda p: ("reading", encode(p))),
    reading_with_one_number().map(lambda p: ("reading", encode(p))),
    reading_with_one_number().map(lambda p: ("reading", encode(p))),
    registration_payload().map(lambda p: ("register", encode(p))),
    st.tuples(st.sampled_from(["reading", "register"]), st.binary(max_size=40)),
    st.sampled_from([b"[]", b"1", b'"x"', b"null", b'{"name": "stars1"}', b"\xff\xfe"]).map(lambda b: ("reading", b)),
), min_size=1, max_size=8)


# -- the property -----------------------------------------------------------------------------------------
@hsettings(derandomize=True, max_examples=300, deadline=None, database=None,
           suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                                  HealthCheck.function_scoped_fixture])
@given(MESSAGES)
def test_random_payloads_end_stored_discarded_or_quarantined_and_nothing_odd_is_stored(world, messages):
    for kind, payload in messages:
        topic = REGISTER_TOPIC if kind == "register" else READING_TOPIC.format("stars1")
        how, reason = world.outcome(Message(topic, payload, world.next_received()))
        if how == "quarantined":
            assert reason in EXPECTED_REASONS, (reason, payload)
        assert how != "discarded"  # no retained flag and no lists in these settings
        if how in ("stored", "registered"):  # checked at once, so that a failure names its message
            assert_nothing_out_of_range(world, payload)


def _outside(value, key: str) -> bool:
    lo, hi = RANGES[key]
    return not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi)


def _new_rows(world: World, table: str, cols: list[str]) -> list[dict]:
    """The rows of ``table`` written since the last check (and marks them checked)."""
    since = world.checked.get(table, 0)
    rows = world.db.execute(f"SELECT rowid, {', '.join(cols)} FROM {table} WHERE rowid > ? ORDER BY rowid",
                            (since,)).fetchall()
    if rows:
        world.checked[table] = rows[-1][0]
    return [dict(zip(cols, row[1:])) for row in rows]


def assert_nothing_out_of_range(world: World, payload: bytes) -> None:
    bad = []
    for table, freqs, mags in (("tess_readings_t", ["frequency"], ["magnitude"]),
                               ("tess_readings4c_t", [f"freq{i}" for i in range(1, 5)],
                                [f"mag{i}" for i in range(1, 5)])):
        cols = ["sequence_number", "box_temperature", "sky_temperature", "signal_strength", "azimuth", "altitude",
                "latitude", "longitude", "elevation", *freqs, *mags]
        for r in _new_rows(world, table, cols):
            if type(r["sequence_number"]) is not int or _outside(r["sequence_number"], "seq"):
                bad.append((table, "seq", r["sequence_number"]))
            for c in ("box_temperature", "sky_temperature"):
                if r[c] != -273.15 and _outside(r[c], "temperature"):
                    bad.append((table, c, r[c]))
            if r["signal_strength"] != 99 and (type(r["signal_strength"]) is not int
                                               or _outside(r["signal_strength"], "wdbm")):
                bad.append((table, "signal_strength", r["signal_strength"]))
            for c, key in (("azimuth", "az"), ("altitude", "alt"), ("latitude", "lat"), ("longitude", "long"),
                           ("elevation", "height")):
                if r[c] is not None and _outside(r[c], key):
                    bad.append((table, c, r[c]))
            bad += [(table, c, r[c]) for c in freqs if _outside(r[c], "freq")]
            bad += [(table, c, r[c]) for c in mags if _outside(r[c], "mag")]
    for r in _new_rows(world, "name_to_mac_t", ["name"]):
        if not is_photometer_name(r["name"], NAME_PATTERN):
            bad.append(("name_to_mac_t", "name", r["name"]))
    cols = ["model", "firmware", *(f"{c}{i}" for c in ("filter", "zp", "offset") for i in range(1, 5))]
    for r in _new_rows(world, "tess_t", cols):
        if len(r["model"]) > LENGTH_LIMITS["model_max_length"]:
            bad.append(("tess_t", "model", r["model"]))
        if len(r["firmware"]) > LENGTH_LIMITS["firmware_max_length"]:
            bad.append(("tess_t", "firmware", r["firmware"][:40]))
        for i in range(1, 5):
            f, z, o = r[f"filter{i}"], r[f"zp{i}"], r[f"offset{i}"]
            if f is not None and len(f) > LENGTH_LIMITS["filter_max_length"]:
                bad.append(("tess_t", f"filter{i}", f[:40]))
            if z is not None and _outside(z, "zp"):
                bad.append(("tess_t", f"zp{i}", z))
            if o is not None and _outside(o, "offset"):
                bad.append(("tess_t", f"offset{i}", o))
    assert bad == [], payload


def test_the_world_stores_something(world):
    """A positive control: the property is not vacuous (valid readings do reach the tables)."""
    good = {"seq": 1, "name": "stars1", "freq": 12.3, "mag": 20.4, "tamb": 10.0, "tsky": -5.0, "wdBm": -60}
    assert world.outcome(Message(READING_TOPIC.format("stars1"), encode(good), world.next_received())) \
        == ("stored", None)
    bad = dict(good, freq=1.7e308)
    assert world.outcome(Message(READING_TOPIC.format("stars1"), encode(bad), world.next_received())) \
        == ("quarantined", Reason.OUT_OF_RANGE)
    (n,) = world.db.execute("SELECT count(*) FROM tess_readings_t").fetchone()
    assert n >= 1
