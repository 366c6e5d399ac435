"""`tessdb-core report ida`: the files of the reference tool, with the fixes of docs/reports.md."""

from __future__ import annotations

import difflib
import sqlite3
from pathlib import Path

import pytest

from .conftest import IDA_DIR, REPO

REFERENCE_FILES = sorted(str(p.relative_to(IDA_DIR)) for p in IDA_DIR.glob("stars*/*.dat"))

# -- the differences to the reference files that docs/reports.md states, written out ---------------------------
#: fix 2: the reference prints None for a one-channel photometer whose month has one tess_t version
FILTER_NONE_FIXED = {
    "stars1/stars1_2026-09.dat", "stars1/stars1_2026-11.dat",
    "stars3/stars3_2026-10_1.dat", "stars3/stars3_2026-10_2.dat",
}
#: fix 3: the reference's BETWEEN puts a reading at exactly 00:00:00 on the 1st in two months;
#: the half-open window keeps it only in the month it belongs to
ONLY_IN_NEXT_MONTH = {
    "stars1/stars1_2026-09.dat": "2026-10-01T00:00:00.000;2026-10-01T02:00:00.000;10.0;-5.3;12.3;20.46;20.5;2",
    "stars1/stars1_2026-10.dat": "2026-11-01T00:00:00.000;2026-11-01T01:00:00.000;-0.5;-20.0;12.0;17.74;20.44;7",
}

#: fix 4: stars2's readings carry units_id 1 (the photometer's own timestamp); the reference
#: always says "subscriber"
PUBLISHER_STAMPED = {"stars2/stars2_2026-10.dat"}
#: the saturated reading's MSAS stays 0.0, and comment line 27 says what it means
WITH_SATURATED = {"stars1/stars1_2026-10.dat"}


def expected_lines(relpath: str) -> list[str]:
    """The reference file with the documented fixes applied, and nothing else."""
    lines = (IDA_DIR / relpath).read_text().split("\n")
    assert lines[-1] == "", "reference files end with a newline"
    lines = lines[:-1]
    # fix 1: the reference glues the first reading onto "# END OF HEADER"; the body starts on its own line
    glued = lines[34]
    assert glued.startswith("# END OF HEADER") and len(glued) > len("# END OF HEADER")
    lines[34:35] = ["# END OF HEADER", glued[len("# END OF HEADER"):]]
    # fix 2: the real filter name
    if relpath in FILTER_NONE_FIXED:
        assert lines[14] == "# Filters per channel: None"
        lines[14] = "# Filters per channel: UV/IR-740"
    # fix 3: half-open month window
    if relpath in ONLY_IN_NEXT_MONTH:
        lines.remove(ONLY_IN_NEXT_MONTH[relpath])
    # fix 4: who stamped the readings
    assert lines[10] == "# Time Synchronization: timestamp added by MQTT subscriber"
    if relpath in PUBLISHER_STAMPED:
        lines[10] = "# Time Synchronization: timestamp added by the photometer"
    # the saturated remark
    assert lines[26] == "# Comment:"
    if relpath in WITH_SATURATED:
        assert any(";0.0;0.0;" in line for line in lines[35:])
        lines[26] = ("# Comment: MSAS 0.0 = saturated sensor (daylight or a light shone on it), "
                     "not a measurement")
    return lines


def generate(tdb, db: Path, out: Path, *args: str):
    r = tdb("report", "ida", *args, "--out", out, "--db", db)
    assert r.code == 0, r.err
    return r


def test_ida_files_equal_the_reference_except_the_documented_fixes(tdb, ida_db, tmp_path):
    out = tmp_path / "ida"
    generate(tdb, ida_db, out, "stars1", "stars2", "stars3", "--month", "2026-09", "--to", "2026-11")
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.dat"))
    assert written == REFERENCE_FILES  # stars1 x3 months, stars2 (TESS4C), stars3 x2 locations
    assert not list(out.rglob(".*"))  # no temporary file left
    for rel in REFERENCE_FILES:
        got = (out / rel).read_text()
        assert got.endswith("\n")
        want = expected_lines(rel)
        got_lines = got[:-1].split("\n")
        diff = "\n".join(difflib.unified_diff(want, got_lines, "expected", "generated", lineterm=""))
        assert got_lines == want, f"{rel}:\n{diff}"


def test_the_fixes_are_real_differences(tdb, ida_db, tmp_path):
    """Guard for the comparison above: exactly these lines differ from the raw reference files."""
    out = tmp_path / "ida"
    generate(tdb, ida_db, out, "stars1", "stars2", "stars3", "--month", "2026-09", "--to", "2026-11")
    changed = 0
    for rel in REFERENCE_FILES:
        raw = (IDA_DIR / rel).read_text().split("\n")
        got = (out / rel).read_text().split("\n")
        changed += sum(1 for line in difflib.ndiff(raw, got) if line[:1] in "+-")
    # per file: glued line -1 +2; 4 filter lines -1 +1; 2 duplicated midnight readings -1;
    # one time synchronization line -1 +1; one saturated remark -1 +1
    assert changed == 6 * 3 + 4 * 2 + 2 + 2 + 2


def test_a_midnight_reading_is_in_exactly_one_month(tdb, ida_db, tmp_path):
    out = tmp_path / "ida"
    generate(tdb, ida_db, out, "stars1", "--month", "2026-09", "--to", "2026-11")
    bodies = {p.name: p.read_text().split("# END OF HEADER\n", 1)[1] for p in (out / "stars1").glob("*.dat")}
    for stamp, month in (("2026-10-01T00:00:00.000;", "2026-10"), ("2026-11-01T00:00:00.000;", "2026-11")):
        holders = [name for name, body in bodies.items() if stamp in body]
        assert holders == [f"stars1_{month}.dat"]


def test_tess4c_file_has_17_fields_and_each_channels_zp(tdb, ida_db, tmp_path):
    out = tmp_path / "ida"
    generate(tdb, ida_db, out, "stars2", "--month", "2026-10")
    lines = (out / "stars2" / "stars2_2026-10.dat").read_text().splitlines()
    assert lines[17] == "# Number of fields per line: 17"
    assert lines[14] == "# Filters per channel: ('UV/IR-740', 'R', 'G', 'B')"
    body = lines[35].split(";")
    assert len(body) == 17 and (body[6], body[9], body[12], body[15]) == ("20.1", "19.2", "19.3", "19.4")


def check_parses(path: Path) -> None:
    """What tess-ida-tools 1.2.0 requires of a file."""
    lines = path.read_text().split("\n")
    assert lines[34] == "# END OF HEADER" and lines[2] == "# Number of header lines: 35"
    head = dict(line[2:].split(": ", 1) for line in lines[:22] if ": " in line)
    assert len(head["Data supplier"].split("/")) == 2
    assert len(head["Location name"].split("/")) == 5
    assert len([float(x) for x in head["Position"].split(",")]) == 3
    float(head["Field of view"]), float(head["TESS cover offset value"])
    fields = int(head["Number of fields per line"])
    zp = head["TESS zero point"]
    if fields == 17:
        assert len([float(x) for x in zp.strip("()").split(",")]) == 4
    else:
        assert fields == 8 and float(zp)
    assert all(float(x) is not None for x in head["Measurement direction per channel"].strip("()").split(","))
    body = [line for line in lines[35:] if line]
    assert body and all(len(line.split(";")) == fields for line in body)


def test_every_generated_file_is_what_the_parser_accepts(tdb, ida_db, tmp_path):
    out = tmp_path / "ida"
    generate(tdb, ida_db, out, "--all", "--month", "2026-09", "--to", "2026-11")
    files = sorted(out.rglob("*.dat"))
    assert len(files) == 6
    for path in files:
        check_parses(path)


def test_all_covers_photometers_registered_during_the_month_and_renames(tdb, ida_db, tmp_path):
    """stars4 is mapped from 2026-10-10 12:00 (the reference, which wants the mapping valid
    at 00:00 on the 1st, skips it); stars5's MAC is renamed stars6 on 2026-10-20: each name
    keeps the readings of its own period."""
    conn = sqlite3.connect(ida_db)
    conn.executescript("""
        INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, firmware, authorised,
            registered, nchannels, zp1, filter1, location_id, observer_id)
        VALUES (10, 'AA:BB:CC:00:00:04', '2026-10-10 12:00:00.000000', '2999-12-31 23:59:59.000000', 'Current',
            'TESS-W', '3.0', 1, 'Automatic', 1, 20.7, 'UV/IR-740', 2, 1),
               (11, 'AA:BB:CC:00:00:05', '2026-01-01 00:00:00.000000', '2999-12-31 23:59:59.000000', 'Current',
            'TESS-W', '3.0', 1, 'Automatic', 1, 20.8, 'UV/IR-740', 1, 1);
        INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) VALUES
            ('stars4', 'AA:BB:CC:00:00:04', '2026-10-10 12:00:00.000000', '2999-12-31 23:59:59.000000', 'Current'),
            ('stars5', 'AA:BB:CC:00:00:05', '2026-01-01 00:00:00.000000', '2026-10-20 00:00:00.500000', 'Expired'),
            ('stars6', 'AA:BB:CC:00:00:05', '2026-10-20 00:00:00.500000', '2999-12-31 23:59:59.000000', 'Current');
        INSERT INTO tess_readings_t (date_id, time_id, tess_id, location_id, observer_id, units_id, sequence_number,
            frequency, magnitude, box_temperature, sky_temperature, signal_strength) VALUES
            (20261012, 30000, 10, 2, 1, 0, 1, 10.0, 20.7, 1.0, -9.0, -60),
            (20261019, 235959, 11, 1, 1, 0, 1, 10.0, 20.8, 1.0, -9.0, -60),
            (20261020, 0, 11, 1, 1, 0, 2, 10.0, 20.8, 1.0, -9.0, -60),
            (20261020, 1, 11, 1, 1, 0, 3, 10.0, 20.8, 1.0, -9.0, -60);
    """)
    conn.close()
    out = tmp_path / "ida"
    r = generate(tdb, ida_db, out, "--all", "--month", "2026-10")
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.dat"))
    assert written == ["stars1/stars1_2026-10.dat", "stars2/stars2_2026-10.dat", "stars3/stars3_2026-10_1.dat",
                       "stars3/stars3_2026-10_2.dat", "stars4/stars4_2026-10.dat", "stars5/stars5_2026-10.dat",
                       "stars6/stars6_2026-10.dat"]
    assert "7 file(s) written" in r.out

    def seqs(rel):
        return [line.split(";")[-1] for line in (out / rel).read_text().splitlines()[35:]]

    # the mapping ends at 00:00:00.5: the reading at 00:00:00 is still stars5's
    assert seqs("stars5/stars5_2026-10.dat") == ["1", "2"] and seqs("stars6/stars6_2026-10.dat") == ["3"]
    stars4 = (out / "stars4" / "stars4_2026-10.dat").read_text().splitlines()
    assert stars4[8] == "# Position: 28.3, -16.5, 2390.0"  # the reading's location (Teide)
    assert stars4[35] == "2026-10-12T03:00:00.000;2026-10-12T04:00:00.000;1.0;-9.0;10.0;20.7;20.7;1"  # WEST, +1


def test_replacement_and_zp_change_remarks(tdb, ida_db, tmp_path):
    """stars1's MAC is replaced on 2026-10-20 by a new one with another ZP and filter."""
    conn = sqlite3.connect(ida_db)
    conn.executescript("""
        UPDATE name_to_mac_t SET valid_until = '2026-10-20 00:00:00.000000', valid_state = 'Expired'
            WHERE name = 'stars1';
        INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) VALUES
            ('stars1', 'AA:BB:CC:00:00:09', '2026-10-20 00:00:00.000000', '2999-12-31 23:59:59.000000', 'Current');
        INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, firmware, authorised,
            registered, nchannels, zp1, filter1, location_id, observer_id)
        VALUES (20, 'AA:BB:CC:00:00:09', '2026-10-20 00:00:00.000000', '2999-12-31 23:59:59.000000', 'Current',
            'TESS-W', '9.9', 1, 'Automatic', 1, 20.5, 'BG39', 1, 1);
        INSERT INTO tess_readings_t (date_id, time_id, tess_id, location_id, observer_id, units_id, sequence_number,
            frequency, magnitude, box_temperature, sky_temperature, signal_strength) VALUES
            (20261025, 10000, 20, 1, 1, 0, 1, 10.0, 20.5, 1.0, -9.0, -60);
    """)
    conn.close()
    out = tmp_path / "ida"
    generate(tdb, ida_db, out, "stars1", "--month", "2026-10")
    lines = (out / "stars1" / "stars1_2026-10.dat").read_text().splitlines()
    assert lines[18] == "# TESS MAC address: AA:BB:CC:00:00:09" and lines[19] == "# TESS firmware version: 9.9"
    assert lines[14] == "# Filters per channel: BG39" and lines[21] == "# TESS zero point: 20.5"
    assert lines[22] == "# Comment: This photometer may not have been calibrated (Zero Point = 20.50)"
    assert lines[23] == ("# Comment: Current MAC address valid since 2026-10-20 00:00:00.000000, Previous MAC address "
                         "(AA:BB:CC:00:00:01) only valid until 2026-10-20 00:00:00.000000")
    assert lines[24] == ("# Comment: Current Zero Point valid since 2026-10-20 00:00:00.000000, Previous Zero Point "
                         "(20.44) only valid until 2999-12-31 23:59:59.000000")
    assert lines[25] == ("# Comment: Current Filter valid since 2026-10-20 00:00:00.000000, Previous Filter "
                         "(UV/IR-740) only valid until 2999-12-31 23:59:59.000000")
    # the old MAC until 20 Oct (its 31 Oct reading is no longer stars1's), then the new one;
    # each reading with the ZP of its own version
    assert [line.split(";")[6] for line in lines[35:]] == ["20.5", "20.5", "20.5", "20.44", "20.5"]
    assert lines[-1].startswith("2026-10-25T01:00:00.000;2026-10-25T02:00:00.000;")  # CET from 01:00 UTC


def test_existing_files_are_overwritten(tdb, ida_db, tmp_path):
    out = tmp_path / "ida"
    target = out / "stars2" / "stars2_2026-10.dat"
    target.parent.mkdir(parents=True)
    target.write_text("old content\n")
    generate(tdb, ida_db, out, "stars2", "--month", "2026-10")
    assert target.read_text().startswith("# Definition of the community standard")


def test_a_location_without_coordinates_is_warned_about(tdb, ida_db, tmp_path):
    conn = sqlite3.connect(ida_db)
    conn.execute("UPDATE tess_readings4c_t SET location_id = -1")
    conn.commit()
    conn.close()
    out = tmp_path / "ida"
    r = generate(tdb, ida_db, out, "stars2", "--month", "2026-10")
    assert "location -1 has no coordinates" in r.err
    lines = (out / "stars2" / "stars2_2026-10.dat").read_text().splitlines()
    assert lines[8] == "# Position: None, None, None" and lines[9] == "# Local timezone: Etc/UTC"
    assert lines[6] == "# Data supplier: Jane Doe / UCM"  # from the observer, location -1 has no contact


# -- bad input: one line, exit 2, nothing written ------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["stars99", "--month", "2026-10"], "unknown photometer 'stars99'"),
    (["stars1", "--month", "2026-13"], "--month '2026-13' is not a month"),
    (["stars1", "--month", "10/2026"], "--month '10/2026' is not a month"),
    (["stars1", "--month", "2026-10", "--to", "2026-9"], "--to '2026-9' is not a month"),
    (["stars1", "--month", "2026-10", "--to", "2026-09"], "--to 2026-09 is before --month 2026-10"),
    (["stars1", "--month", "2027-01"], "no readings of stars1 in 2027-01"),
    (["stars2", "--month", "2026-09", "--to", "2026-09"], "no readings of stars2 in 2026-09"),
    (["--all", "--month", "2027-01"], "no readings of any photometer in 2027-01"),
    (["--month", "2026-10"], "give photometer NAME(s) or --all"),
    (["stars1", "--all", "--month", "2026-10"], "give photometer NAME(s) or --all"),
])
def test_bad_input_is_one_line_and_writes_nothing(tdb, ida_db, tmp_path, args, message):
    out = tmp_path / "ida"
    r = tdb("report", "ida", *args, "--out", out, "--db", ida_db)
    assert r.code == 2
    assert r.err.count("\n") == 1 and r.err.startswith("tessdb-core: error: ") and message in r.err, r.err
    assert not out.exists()


def test_an_output_directory_that_cannot_be_written(tdb, ida_db, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    before = sorted(tmp_path.rglob("*"))
    r = tdb("report", "ida", "stars1", "--month", "2026-10", "--out", blocker / "sub", "--db", ida_db)
    assert r.code == 2 and r.err.count("\n") == 1
    assert "output directory" in r.err and "is not a directory" in r.err
    assert blocker.read_text() == "x"
    assert [p for p in sorted(tmp_path.rglob("*")) if not p.name.startswith("ida.db")] == \
        [p for p in before if not p.name.startswith("ida.db")]


def test_a_month_without_data_among_others_is_noted_not_fatal(tdb, ida_db, tmp_path):
    out = tmp_path / "ida"
    r = generate(tdb, ida_db, out, "stars1", "stars2", "--month", "2026-09")
    assert sorted(p.name for p in out.rglob("*.dat")) == ["stars1_2026-09.dat"]
    assert "note: no readings of stars2 in 2026-09: no file" in r.err
    assert "1 file(s) written" in r.out


def test_unknown_database_is_an_error(tdb, tmp_path):
    r = tdb("report", "ida", "stars1", "--month", "2026-10", "--out", tmp_path / "o", "--db", tmp_path / "none.db")
    assert r.code == 2 and "run `tessdb-core init` first" in r.err
    assert not (tmp_path / "o").exists()


def test_a_4x_legacy_database_gives_the_same_files(tdb, tmp_path):
    """The 4.x server's schema (column order, +00:00 timestamps) through the same queries."""
    legacy = REPO / "tests" / "fixtures" / "reference" / "reference-schema-legacy-v04.sql"
    db = tmp_path / "legacy.db"
    conn = sqlite3.connect(db)
    conn.executescript(legacy.read_text())
    conn.executescript((IDA_DIR / "idafix-data.sql").read_text())
    conn.execute("UPDATE name_to_mac_t SET valid_since = '2020-01-01T00:00:00+00:00'")  # a 4.x timestamp text
    conn.commit()
    conn.close()
    out = tmp_path / "ida"
    generate(tdb, db, out, "--all", "--month", "2026-10")
    for rel in ["stars1/stars1_2026-10.dat", "stars2/stars2_2026-10.dat", "stars3/stars3_2026-10_1.dat",
                "stars3/stars3_2026-10_2.dat"]:
        assert (out / rel).read_text().split("\n")[:-1] == expected_lines(rel), rel


def test_a_5x_database_without_the_legacy_columns(tdb, tmp_path):
    """The 5.x tools' schema has no contact_name / organization / cover_offset / fov / azimuth /
    altitude: the header takes the observer and the 4.x defaults."""
    db = tmp_path / "5x.db"
    conn = sqlite3.connect(db)
    conn.executescript((REPO / "tests" / "fixtures" / "reference" / "reference-schema-5x.sql").read_text())
    conn.executescript("""
        INSERT INTO location_t (location_id, longitude, latitude, elevation, place, town, sub_region, region, country,
            timezone) VALUES (1, -3.7038, 40.4168, 657.0, 'Facultad de Fisicas', 'Madrid', 'Madrid',
            'Comunidad de Madrid', 'Spain', 'Europe/Madrid');
        INSERT INTO observer_t (observer_id, type, name, affiliation, acronym, valid_since, valid_until, valid_state)
            VALUES (1, 'Individual', 'Jane Doe', 'Universidad Complutense de Madrid', 'UCM',
            '2020-01-01 00:00:00.000000', '2999-12-31 23:59:59.000000', 'Current');
        INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, firmware, authorised,
            registered, nchannels, zp1, filter1, offset1, offset2, offset3, offset4, location_id, observer_id)
            VALUES (1, 'AA:BB:CC:00:00:01', '2020-01-01 00:00:00.000000', '2999-12-31 23:59:59.000000', 'Current',
            'TESS-W', '1.0', 1, 'Manual', 1, 20.44, 'UV/IR-740', 0, 0, 0, 0, 1, 1);
        INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) VALUES
            ('stars1', 'AA:BB:CC:00:00:01', '2020-01-01 00:00:00.000000', '2999-12-31 23:59:59.000000', 'Current');
        INSERT INTO tess_readings_t (date_id, time_id, tess_id, location_id, observer_id, units_id, sequence_number,
            frequency, magnitude, box_temperature, sky_temperature, signal_strength) VALUES
            (20261015, 120000, 1, 1, 1, 0, 5, 100.0, 15.44, 15.25, -1.0, -60);
    """)
    conn.close()
    out = tmp_path / "ida"
    generate(tdb, db, out, "stars1", "--month", "2026-10")
    path = out / "stars1" / "stars1_2026-10.dat"
    check_parses(path)
    lines = path.read_text().splitlines()
    assert lines[6] == "# Data supplier: Jane Doe / UCM"
    assert (lines[15], lines[16], lines[20]) == ("# Measurement direction per channel: (0.0, 0.0)",
                                                 "# Field of view: 17.0", "# TESS cover offset value: 0.0")
    assert lines[35] == "2026-10-15T12:00:00.000;2026-10-15T14:00:00.000;15.25;-1.0;100.0;15.44;20.44;5"


def test_month_files_split_a_tess_w_and_a_tess4c_under_one_name():
    """Pure formatting: a name whose TESS-W was replaced by a TESS4C within the month."""
    from datetime import datetime

    from tessdb_reports.common import Month
    from tessdb_reports.ida import month_files

    def version(tess_id, n, since):
        return {"tess_id": tess_id, "mac_address": f"AA:00:00:00:00:0{tess_id}", "since": since,
                "valid_since": str(since), "valid_until": "2999-12-31 23:59:59.000000", "model": "TESS4C" if n == 4
                else "TESS-W", "firmware": "x", "nchannels": n, "zp1": 20.1, "zp2": 20.2, "zp3": 20.3, "zp4": 20.4,
                "filter1": "UV/IR-740", "filter2": "R", "filter3": "G", "filter4": "B", "cover_offset": 0.0,
                "fov": 17.0, "azimuth": 0.0, "altitude": 90.0}

    def reading(tess_id, n, day):
        return {"utc": datetime(2026, 10, day, 21), "tess_id": tess_id, "mac_address": f"AA:00:00:00:00:0{tess_id}",
                "location_id": 1, "observer_id": 1, "sequence_number": day, "box_temperature": 1.0,
                "sky_temperature": -1.0, "nchannels": n, "freq": (1.0,) * n, "mag": (20.0,) * n}

    versions = {1: version(1, 1, datetime(2020, 1, 1)), 2: version(2, 4, datetime(2026, 10, 10))}
    location = {1: {"location_id": 1, "longitude": 1.0, "latitude": 2.0, "elevation": 3.0, "place": "p", "town": "t",
                    "sub_region": "s", "region": "r", "country": "c", "timezone": "UTC", "contact_name": "a",
                    "organization": "b"}}
    files = month_files("stars7", Month(2026, 10), [reading(1, 1, 5), reading(2, 4, 12)], versions, location)
    assert [(f.relpath, f.nchannels, f.readings) for f in files] == [
        ("stars7/stars7_2026-10.dat", 1, 1), ("stars7/stars7_2026-10_4c.dat", 4, 1)]
    assert files[1].text.splitlines()[35].count(";") == 16
    assert month_files("stars7", Month(2026, 10), [], versions, location) == []


def test_time_synchronization_follows_the_readings_units():
    """units_id 1/3 (Publisher): the photometer's clock; 0/2 (Subscriber): the subscriber's; a
    mixed file counts both (and stays one header line under 150 characters without ': ')."""
    from tessdb_reports.ida import time_sync

    assert time_sync([{"units_id": 0}, {"units_id": 2}]) == "timestamp added by MQTT subscriber"
    assert time_sync([{"units_id": 1}, {"units_id": 3}]) == "timestamp added by the photometer"
    mixed = time_sync([{"units_id": 1}, {"units_id": 0}, {"units_id": 1}])
    assert mixed == "timestamp added by the photometer (2 readings), else by MQTT subscriber (1 readings)"
    assert ": " not in mixed and len("# Time Synchronization: " + mixed) < 150
    assert time_sync([{}]) == "timestamp added by MQTT subscriber"  # rows of an older query: the 4.x default
