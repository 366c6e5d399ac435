"""The TESS rules through the real pipeline, on both stores (SQLite file and PostgreSQL).

The registration scenario of docs/rules.md, Registrations (steps 1-7, with the tessdb-core fix of step 7)
and the resolution of readings by their own timestamp, run by ``Pipeline`` with the real
plugins; both stores must end with the very same tess_t, name_to_mac_t and fact-table rows
and the same counters.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tessdb_core.events import Message
from tessdb_core.pipeline import Pipeline
from tessdb_core.quarantine import Quarantine

AF = "AA:BB:CC:DD:EE:FF"
FA = "FF:EE:DD:CC:BB:AA"
CC = "CC:CC:CC:CC:CC:CC"
C4 = "44:44:44:44:44:44"
T0 = datetime(2026, 11, 30, 0, 0, 0)
T = [T0 + timedelta(hours=i) for i in range(10)]  # T[1] .. T[7]: the registrations of that scenario
MIN = timedelta(minutes=1)


def reg(name: str, mac: str, zp: float, at: datetime) -> Message:
    payload = {"name": name, "mac": mac, "calib": zp, "rev": 2, "firmware": "1.0"}
    return Message("STARS4ALL/register", json.dumps(payload).encode(), at)


def reg4c(name: str, mac: str, at: datetime) -> Message:
    chans = {f"F{i + 1}": {"band": b, "calib": 20.0 + i / 10} for i, b in enumerate(("UV/IR-740", "R", "G", "B"))}
    payload = {"name": name, "mac": mac, "rev": 2, "firmware": "4c", **chans}
    return Message("STARS4ALL/register", json.dumps(payload).encode(), at)


def rd(name: str, seq: int, at: datetime, tstamp: datetime | None = None) -> Message:
    payload = {"name": name, "seq": seq, "freq": 10.0 + seq, "mag": 20.0 + seq / 100, "tamb": 5.0, "tsky": -3.0,
               "wdBm": -60}
    if tstamp is not None:
        payload["tstamp"] = tstamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Message(f"STARS4ALL/{name}/reading", json.dumps(payload).encode(), at)


def rd4c(name: str, seq: int, at: datetime) -> Message:
    payload = {"name": name, "seq": seq, "rev": 2, "tamb": 4.0, "tsky": -9.0, "wdBm": -70,
               **{f"F{i}": {"freq": 10.0 * i, "mag": 17.0 + i, "zp": 20.0} for i in range(1, 5)}}
    return Message(f"STARS4ALL/{name}/reading", json.dumps(payload).encode(), at)


#: (message, expected outcome) in processing order
SCENARIO: list[tuple[Message, str]] = [
    (reg("stars8000", AF, 20.50, T[1]), "created"),                       # 1: A
    (rd("stars8000", 1, T[1] + 10 * MIN), "stored"),
    (reg("stars8000", AF, 20.503, T[2]), "rebooted"),                     # 2: D, diff < 0.005
    (reg("stars8000", AF, 20.33, T[3]), "zp_changed"),                    # 3: D, changed
    (rd("stars8000", 2, T[3] + 10 * MIN), "stored"),
    (reg("stars8001", AF, 20.33, T[4]), "renamed"),                       # 4: B
    (rd("stars8001", 3, T[4] + 10 * MIN), "stored"),
    (rd("stars8000", 4, T[4] + 20 * MIN), "unknown_photometer"),          # stars8000 has no device now
    (reg("stars8001", FA, 20.48, T[5]), "replaced"),                      # 5: C
    (rd("stars8001", 5, T[5] + 10 * MIN), "stored"),
    (reg("stars8002", CC, 20.45, T[5] + 30 * MIN), "created"),
    (reg("stars8002", FA, 20.48, T[6]), "extinct"),                       # 6: E
    (rd("stars8002", 6, T[6] + 10 * MIN), "stored"),
    (rd("stars8001", 7, T[6] + 20 * MIN), "unknown_photometer"),          # stars8001 has no device now
    (reg("stars9000", AF, 20.40, T[7]), "created"),                       # 7: A on the orphaned MAC
    (rd("stars9000", 8, T[7] + 10 * MIN), "stored"),
    (reg4c("stars701", C4, T[1]), "created"),
    (rd4c("stars701", 1, T[2]), "stored"),
    (rd4c("stars701", 1, T[2]), "duplicate"),                             # the same reading twice
    # late readings, processed last: attributed by their own timestamps
    (rd("stars8000", 9, T[7] + 20 * MIN, tstamp=T[1] + 30 * MIN), "stored"),   # stars8000 v1 (AF, ZP 20.5)
    (rd("stars8001", 10, T[7] + 20 * MIN, tstamp=T[4] + 30 * MIN), "stored"),  # AF v2 (ZP 20.33)
    (rd("stars8001", 11, T[7] + 20 * MIN, tstamp=T[5] + 20 * MIN), "stored"),  # FA
    (rd("stars9000", 12, T[7] + 20 * MIN, tstamp=T[6]), "unknown_photometer"),  # before stars9000 existed
]


def run_pipeline(app, url: str, inbox, messages: list[Message], buffer_size: int = 3):
    store = app.store(url)
    store.initialise()
    store.open()
    quarantine = Quarantine(inbox)
    try:
        pipeline = Pipeline(app.stages, app.settings, store, quarantine, buffer_size=buffer_size)
        stats = pipeline.run(messages)
        reasons = [e.reason for e in quarantine.entries()]
    finally:
        quarantine.close()
        store.close()
    return stats.as_dict(), reasons


TESS_COLS = ("tess_id", "mac_address", "valid_since", "valid_until", "valid_state", "model", "firmware",
             "authorised", "registered", "nchannels", "zp1", "filter1", "offset1", "zp2", "filter2", "offset2",
             "zp3", "filter3", "offset3", "zp4", "filter4", "offset4", "location_id", "observer_id")
MAP_COLS = ("rowid", "name", "mac_address", "valid_since", "valid_until", "valid_state")
W_COLS = ("date_id", "time_id", "tess_id", "location_id", "observer_id", "units_id", "sequence_number",
          "frequency", "magnitude", "box_temperature", "sky_temperature", "signal_strength", "hash")
C_COLS = ("date_id", "time_id", "tess_id", "units_id", "sequence_number", "freq1", "mag1", "freq4", "mag4",
          "signal_strength")


#: one snapshot of every row the scenario writes (columns both stores have)
DUMP = {
    "tess_t": f"SELECT {', '.join(TESS_COLS)} FROM tess_t ORDER BY tess_id",
    "name_to_mac_t": f"SELECT {', '.join(MAP_COLS)} FROM name_to_mac_t ORDER BY rowid",
    "tess_readings_t": f"SELECT {', '.join(W_COLS)} FROM tess_readings_t ORDER BY date_id, time_id, tess_id",
    "tess_readings4c_t": f"SELECT {', '.join(C_COLS)} FROM tess_readings4c_t ORDER BY date_id, time_id, tess_id",
}


def ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.000000")


FAR = "2999-12-31 23:59:59.000000"


def test_worked_scenario_and_reading_resolution(app, db_url, tmp_path, select_rows):
    stats, reasons = run_pipeline(app, db_url, tmp_path / "inbox.db", [m for m, _ in SCENARIO])
    outcomes = [o for _, o in SCENARIO]
    reg_cases = [o for m, o in SCENARIO if m.topic == "STARS4ALL/register"]
    assert stats["dbase_register"] == {
        "num_registered": len(reg_cases), "num_zp_changed": 1, "num_created": 4, "num_renamed": 1,
        "num_replaced": 1, "num_rebooted": 1, "num_extinct": 1}
    assert stats["stored"] == outcomes.count("stored")
    assert stats["dbase_readings"]["rej_duplicated"] == 1
    assert stats["dbase_readings"]["rej_not_registered"] == outcomes.count("unknown_photometer")
    assert sorted(reasons) == ["unknown_photometer"] * outcomes.count("unknown_photometer")

    rows = select_rows(db_url, DUMP)
    tess = {r[0]: dict(zip(TESS_COLS, r)) for r in rows["tess_t"]}
    by_mac: dict[str, list[dict]] = {}
    for v in tess.values():
        by_mac.setdefault(v["mac_address"], []).append(v)
    # AF: v1 (20.5) T1..T3, v2 (20.33) T3..T7, v3 (20.40, stars9000: the fix of step 7) since T7
    af = [(v["zp1"], v["valid_since"], v["valid_until"], v["valid_state"]) for v in by_mac[AF]]
    assert af == [(20.5, ts(T[1]), ts(T[3]), "Expired"), (20.33, ts(T[3]), ts(T[7]), "Expired"),
                  (20.4, ts(T[7]), FAR, "Current")]
    assert [(v["zp1"], v["valid_since"], v["valid_state"]) for v in by_mac[FA]] == [(20.48, ts(T[5]), "Current")]
    assert all(v["authorised"] == 0 and v["registered"] == "Automatic" for v in tess.values())
    assert [(v["nchannels"], v["filter2"], v["zp4"]) for v in by_mac[C4]] == [(4, "R", 20.3)]
    current = [(v["mac_address"]) for v in tess.values() if v["valid_state"] == "Current"]
    assert sorted(current) == sorted({AF, FA, CC, C4})  # never two Current rows for one MAC

    maps = sorted((r[1], r[2], r[3], r[4], r[5]) for r in rows["name_to_mac_t"])
    assert maps == [
        ("stars701", C4, ts(T[1]), FAR, "Current"),
        ("stars8000", AF, ts(T[1]), ts(T[4]), "Expired"),
        ("stars8001", AF, ts(T[4]), ts(T[5]), "Expired"),
        ("stars8001", FA, ts(T[5]), ts(T[6]), "Expired"),
        ("stars8002", CC, ts(T[5] + 30 * MIN), ts(T[6]), "Expired"),
        ("stars8002", FA, ts(T[6]), FAR, "Current"),
        ("stars9000", AF, ts(T[7]), FAR, "Current"),
    ]

    zp_of = {tid: v["zp1"] for tid, v in tess.items()}
    mac_of = {tid: v["mac_address"] for tid, v in tess.items()}
    stored = {r[6]: (mac_of[r[2]], zp_of[r[2]], r[5]) for r in rows["tess_readings_t"]}  # seq -> (mac, zp, units)
    assert stored == {1: (AF, 20.5, 0), 2: (AF, 20.33, 0), 3: (AF, 20.33, 0), 5: (FA, 20.48, 0),
                      6: (FA, 20.48, 0), 8: (AF, 20.4, 0), 9: (AF, 20.5, 1), 10: (AF, 20.33, 1),
                      11: (FA, 20.48, 1)}
    assert [r[1:] for r in rows["tess_readings4c_t"]] == [(T[2].hour * 10000, _tess_id(tess, C4), 0, 1, 10.0,
                                                           18.0, 40.0, 21.0, -70)]


def _tess_id(tess: dict[int, dict], mac: str) -> int:
    (tid,) = [t for t, v in tess.items() if v["mac_address"] == mac]
    return tid


def test_both_stores_end_with_identical_rows(app, pg_url, tmp_path, select_rows):
    lite = str(tmp_path / "tess.db")
    messages = [m for m, _ in SCENARIO]
    lite_stats, lite_reasons = run_pipeline(app, lite, tmp_path / "inbox-lite.db", messages)
    pg_stats, pg_reasons = run_pipeline(app, pg_url, tmp_path / "inbox-pg.db", messages)
    assert pg_stats == lite_stats
    assert pg_reasons == lite_reasons
    assert select_rows(pg_url, DUMP) == select_rows(lite, DUMP)
    # the readings again: idempotent on both, every stored one now a duplicate
    readings = [m for m in messages if m.topic != "STARS4ALL/register"]
    lite_again, _ = run_pipeline(app, lite, tmp_path / "inbox-lite2.db", readings)
    pg_again, _ = run_pipeline(app, pg_url, tmp_path / "inbox-pg2.db", readings)
    assert pg_again == lite_again and pg_again["stored"] == 0
    assert pg_again["dbase_readings"]["rej_duplicated"] == lite_stats["stored"] + 1
    assert select_rows(pg_url, DUMP) == select_rows(lite, DUMP)
    # and the whole scenario again: the registrations now meet another catalogue; same outcome on both
    assert run_pipeline(app, pg_url, tmp_path / "inbox-pg3.db", messages) == \
        run_pipeline(app, lite, tmp_path / "inbox-lite3.db", messages)
    assert select_rows(pg_url, DUMP) == select_rows(lite, DUMP)
