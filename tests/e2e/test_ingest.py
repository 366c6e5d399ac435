"""`tessdb-core ingest`: JSON Lines in, star-schema rows and quarantine entries out."""

from __future__ import annotations

import json

from cli_runner import envelope, write_jsonl

from .conftest import REPO

REG_TOPIC = "STARS4ALL/register"


def reg(name, mac, calib=20.5, at="2026-11-30T00:00:00Z", **extra):
    return envelope(REG_TOPIC, {"name": name, "mac": mac, "calib": calib, "rev": 2, **extra}, received=at)


def reg4c(name, mac, at="2026-11-30T00:00:00Z", bands=("UV/IR-740", "R", "G", "B")):
    chans = {f"F{i + 1}": {"band": b, "calib": 20.0 + i / 10} for i, b in enumerate(bands)}
    return envelope(REG_TOPIC, {"name": name, "mac": mac, "rev": 2, "firmware": "4c", **chans}, received=at)


def rd(name, seq, mag=20.0, at=None, **extra):
    at = at or f"2026-11-30T01:{seq // 60:02d}:{seq % 60:02d}Z"
    payload = {"name": name, "seq": seq, "freq": 10.0, "mag": mag, "tamb": 5.0, "tsky": -3.0, "wdBm": -60, **extra}
    return envelope(f"STARS4ALL/{name}/reading", payload, received=at)


def rd4c(name, seq, mag4=18.0, at=None):
    at = at or f"2026-11-30T01:{seq // 60:02d}:{seq % 60:02d}Z"
    payload = {"name": name, "seq": seq, "rev": 2, "tamb": 4.0, "tsky": -9.0, "wdBm": -70,
               **{f"F{i}": {"freq": 10.0 * i, "mag": 17.0 + i if i < 4 else mag4, "zp": 20.0} for i in range(1, 5)}}
    return envelope(f"STARS4ALL/{name}/reading", payload, received=at)


def test_registrations_and_readings_land_in_every_table(cli, tmp_path):
    cli("init")
    lines = [reg("STARS10", "aa:bb:cc:dd:ee:1", firmware="1.2", date="Nov 25 2017"),
             reg4c("stars20", "AA:BB:CC:DD:EE:02")]
    lines += [rd("stars10", i) for i in range(1, 6)] + [rd4c("stars20", i) for i in range(1, 4)]
    stats = cli.json("ingest", str(write_jsonl(tmp_path / "in.jsonl", lines)))
    assert stats["mqtt"] == {"num_published": 10, "num_readings": 8, "num_register": 2, "num_filtered": 0}
    assert stats["dbase_register"]["num_created"] == 2 and stats["stored"] == 8
    db = cli.db()
    tess = [dict(r) for r in db.execute("SELECT * FROM tess_t ORDER BY tess_id")]
    assert [(t["mac_address"], t["model"], t["nchannels"], t["registered"], t["valid_state"]) for t in tess] == [
        ("AA:BB:CC:DD:EE:01", "TESS-W", 1, "Automatic", "Current"),
        ("AA:BB:CC:DD:EE:02", "TESS4C", 4, "Automatic", "Current")]
    assert tess[0]["firmware"] == "1.2 (Nov 25 2017)" and tess[0]["zp1"] == 20.5
    assert tess[0]["valid_since"] == "2026-11-30 00:00:00.000000"
    assert tess[0]["valid_until"] == "2999-12-31 23:59:59.000000"
    assert (tess[1]["filter2"], tess[1]["zp4"]) == ("R", 20.3)
    maps = [tuple(r) for r in db.execute("SELECT name, mac_address, valid_state FROM name_to_mac_t ORDER BY name")]
    assert maps == [("stars10", "AA:BB:CC:DD:EE:01", "Current"), ("stars20", "AA:BB:CC:DD:EE:02", "Current")]
    w = [dict(r) for r in db.execute("SELECT * FROM tess_readings_t ORDER BY time_id")]
    assert [r["sequence_number"] for r in w] == [1, 2, 3, 4, 5]
    assert (w[0]["date_id"], w[0]["time_id"], w[0]["units_id"], w[0]["signal_strength"]) == (20261130, 10001, 2, -60)
    c = [dict(r) for r in db.execute("SELECT * FROM tess_readings4c_t ORDER BY time_id")]
    assert [(r["mag1"], r["mag4"], r["freq3"]) for r in c] == [(18.0, 18.0, 30.0)] * 3
    assert c[0]["units_id"] == 2 and c[0]["tess_id"] == tess[1]["tess_id"]


def test_publisher_timestamps_give_units_3_and_the_capture_is_handled(cli):
    """The captured payloads of a real publisher: full ones stored, the partial one quarantined."""
    cli("init")
    stats = cli.json("ingest", str(REPO / "examples" / "publisher-capture.jsonl"))
    assert stats["dbase_register"]["num_created"] == 1 and stats["dbase_register"]["num_rebooted"] == 1
    row = cli.db().execute("SELECT date_id, time_id, units_id, frequency, magnitude FROM tess_readings_t").fetchall()
    assert [tuple(r) for r in row] == [(20261130, 4948, 3, 12.351, 20.45)]
    (entry,) = cli.json("quarantine", "list")
    assert entry["reason"] == "missing_field" and "mag" in entry["detail"] and entry["name"] == "stars1"


def test_every_bad_input_is_quarantined_and_the_rest_stored(cli, tmp_path):
    cli("init")
    bad = {
        "bad_encoding": json.dumps({"topic": "STARS4ALL/stars10/reading", "payload": "\udcff"}),
        "bad_json": envelope("STARS4ALL/stars10/reading", "{not json"),
        "not_object": envelope("STARS4ALL/stars10/reading", "[1, 2]"),
        "missing_field": envelope("STARS4ALL/stars10/reading", {"name": "stars10", "seq": 9}),
        "wrong_type": rd("stars10", 9, mag="bright"),
        "out_of_range": reg("stars11", "AA:BB:CC:DD:EE:03", calib=35.0),
        "bad_timestamp": rd("stars10", 9, tstamp="30/11/2026 01:00"),
        "bad_mac": reg("stars12", "AA:BB:CC:DD:EE"),
        "bad_name": rd("tess10", 9),
        "unknown_photometer": rd("stars99", 9),
        "hash_mismatch": rd("stars10", 9, hash="XYZ"),
        "unknown_topic": envelope("OTHER/topic", "{}"),
    }
    lines = [reg("stars10", "AA:BB:CC:DD:EE:01"), rd("stars10", 1)]
    for i, line in enumerate(bad.values()):
        lines += [line, rd("stars10", 10 + i)]
    lines.append("this line is not an envelope")
    stats = cli.json("ingest", str(write_jsonl(tmp_path / "in.jsonl", lines)))
    expected = {k: 1 for k in bad}
    expected["bad_json"] = 2  # the unreadable line too
    assert stats["quarantined"] == expected
    stored = [r[0] for r in cli.db().execute("SELECT sequence_number FROM tess_readings_t ORDER BY time_id")]
    assert stored == [1] + [10 + i for i in range(len(bad))]
    assert cli.json("quarantine", "count") == expected
    shown = cli.json("quarantine", "list", "--reason", "bad_json")
    assert any("line " in e["detail"] and e["payload"] == "this line is not an envelope" for e in shown)


def test_retained_and_listed_names_are_discarded_not_quarantined(cli, tmp_path):
    cli("init")
    (tmp_path / "s.toml").write_text('[mqtt]\ntess_blacklist = ["stars13"]\n')
    lines = [reg("stars10", "AA:BB:CC:DD:EE:01"), rd("stars10", 1),
             json.dumps({"topic": "STARS4ALL/stars10/reading", "payload": json.dumps(
                 {"name": "stars10", "seq": 2, "freq": 1.0, "mag": 20.0, "tamb": 1.0, "tsky": 1.0}), "retain": True}),
             rd("stars13", 3)]
    stats = cli.json("--settings", "s.toml", "ingest", str(write_jsonl(tmp_path / "in.jsonl", lines)))
    assert stats["mqtt"]["num_filtered"] == 2 and stats["discarded"] == {"blacklist": 1, "retained": 1}
    assert stats["quarantined"] == {}
    assert cli.json("quarantine", "count") == {}


def test_replay_stores_readings_of_a_photometer_registered_later(cli, tmp_path):
    cli("init")
    early = write_jsonl(tmp_path / "a.jsonl", [rd("stars10", i, at=f"2026-11-30T01:00:0{i}Z") for i in range(1, 4)])
    stats = cli.json("ingest", str(early))
    assert stats["quarantined"] == {"unknown_photometer": 3}
    late = write_jsonl(tmp_path / "b.jsonl", [reg("stars10", "AA:BB:CC:DD:EE:01", at="2026-11-30T00:00:00Z")])
    cli.json("ingest", str(late))
    result = cli.json("quarantine", "replay", "--reason", "unknown_photometer")
    assert result["replayed"] == 3 and result["removed"] == 3 and result["quarantined_again"] == 0
    assert cli.db().execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0] == 3
    assert cli.json("quarantine", "count") == {}


def test_quarantine_show_purge_and_stdin(cli, tmp_path):
    cli("init")
    cli("ingest", "-", stdin="\n".join([rd("stars10", 1), rd("stars11", 2)]) + "\n")
    entries = cli.json("quarantine", "list")
    assert [e["name"] for e in entries] == ["stars10", "stars11"]
    shown = json.loads(cli("quarantine", "show", str(entries[0]["id"])).stdout)
    assert json.loads(shown["payload"])["seq"] == 1
    assert "purged 1" in cli("quarantine", "purge", "--name", "stars10", "--yes").stdout
    assert cli.json("quarantine", "count") == {"unknown_photometer": 1}
    missing = cli("quarantine", "show", "999", check=False)
    assert missing.returncode == 2 and "no quarantine entry with id 999" in missing.stderr


def test_duplicates_are_counted_and_idempotent(cli, tmp_path):
    cli("init")
    data = write_jsonl(tmp_path / "in.jsonl", [reg("stars10", "AA:BB:CC:DD:EE:01")] +
                       [rd("stars10", i, tstamp=f"2026-11-30T01:00:{i:02d}") for i in range(1, 21)])
    first = cli.json("ingest", str(data))
    second = cli.json("ingest", str(data))
    assert first["stored"] == 20 and second["stored"] == 0
    assert second["dbase_readings"]["rej_duplicated"] == 20 and second["dbase_register"]["num_rebooted"] == 1
    assert cli.db().execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0] == 20


def test_missing_file_is_a_clear_error(cli):
    cli("init")
    out = cli("ingest", "nosuch.jsonl", check=False)
    assert out.returncode == 2 and "nosuch.jsonl" in out.stderr and "Traceback" not in out.stderr
