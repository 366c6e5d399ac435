"""Files are written where the operator said (issue 10, part 2).

Databases made by 4.x tools, by hand SQL or under a loosened name pattern can hold any
photometer name.  Every file named after data (the IDA files) takes the name's file-name
form (``common.file_stem``) and lands inside ``--out``; plots and exports write exactly
the ``--out`` file whatever the name.  The tree of ``tmp_path`` is walked after each run.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from cli_runner import Cli
from tessdb_reports.common import STEM_MAX, file_stem, file_stems, inside, quote_name, shown

from .conftest import IDA_DIR, REPO

LEGACY_SCHEMA = REPO / "tests" / "fixtures" / "reference" / "reference-schema-legacy-v04.sql"
LONG = "x" * 300


# -- the rule, on its own ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["stars1", "stars1267", "stars4c-2", "Stars_1.b", "a..b", "x."])
def test_a_plain_name_is_its_own_file_name(name):
    assert file_stem(name) == name and shown(name) == name


@pytest.mark.parametrize("name, stem", [
    ("../../p6-escaped", "%2E.%2F..%2Fp6-escaped"),
    ("/tmp/abs", "%2Ftmp%2Fabs"),
    ("..", "%2E."),
    (".", "%2E"),
    (".hidden", "%2Ehidden"),
    ("nl\nname", "nl%0Aname"),
    ("nul\x00name", "nul%00name"),
    ("back\\slash", "back%5Cslash"),
    ("50%", "50%25"),
    ("stars ٩", "stars%20%D9%A9"),
    ("C:x", "C%3Ax"),
])
def test_other_characters_are_written_as_percent_bytes(name, stem):
    assert file_stem(name) == stem
    assert shown(name) == repr(name)


def test_the_empty_name_is_refused():
    with pytest.raises(ValueError, match="empty name"):
        file_stem("")


def test_long_names_are_shortened_with_a_hash_and_stay_apart():
    a, b = LONG, "x" * 299 + "y"
    sa, sb = file_stem(a), file_stem(b)
    assert len(sa) == len(sb) == STEM_MAX and sa != sb
    assert sa[:STEM_MAX - 13] == sb[:STEM_MAX - 13] == "x" * (STEM_MAX - 13) and sa[STEM_MAX - 13] == "~"
    assert file_stem("x" * STEM_MAX) == "x" * STEM_MAX  # at the limit: untouched
    # a long name of multi-byte characters: the IDA file name stays under 255 bytes
    assert len(f"{file_stem('é' * 300)}_2026-10_9223372036854775807_4c.dat".encode()) <= 255


def test_no_two_names_share_a_file_name():
    names = ["a/b", "a%2Fb", "a_b", "a b", "a\x00b", "a\nb", ".", "%2E", "..", "%2E.", "_.", LONG, LONG + "z",
             "x" * 187 + "~", "x" * 187 + "%7E", "é", "%C3%A9"]
    stems = [file_stem(n) for n in names]
    assert len(set(stems)) == len(names)
    assert all(set(s) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-%~") for s in stems)
    assert not any(s.startswith(".") for s in stems)


def test_names_differing_only_in_case_keep_one_file_name():
    stems, refused = file_stems(["STARS1", "stars1", "Stars1", "st/ars", "ST/ARS", ""])
    assert stems == {"stars1": "stars1", "st/ars": "st%2Fars"}  # a plain name first, then lower case
    assert [n for n, _ in refused] == ["", "STARS1", "Stars1", "ST/ARS"]
    assert "would overwrite that of photometer 'stars1'" in dict(refused)["STARS1"]


def test_inside_refuses_what_leaves_the_root(tmp_path):
    root = tmp_path / "out"
    root.mkdir()
    assert inside(root, "a/a_2026-10.dat") == root / "a" / "a_2026-10.dat"
    for bad in ["../x", "/etc/x", "a/../../x", "x" * 256, "."]:
        with pytest.raises(ValueError):
            inside(root, bad)
    (tmp_path / "elsewhere").mkdir()
    (root / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="outside"):
        inside(root, "link/x.dat")
    # --out itself a symbolic link: inside is judged against where it leads
    (tmp_path / "out-link").symlink_to(root)
    assert inside(tmp_path / "out-link", "a/b.dat") == tmp_path / "out-link" / "a" / "b.dat"


def test_month_files_use_the_stem_and_quote_a_location_suffix():
    from datetime import datetime

    from tessdb_reports.common import Month
    from tessdb_reports.ida import month_files

    version = {"tess_id": 1, "mac_address": "AA", "since": datetime(2020, 1, 1), "valid_since": "x",
               "valid_until": "y", "model": "TESS-W", "firmware": "x", "nchannels": 1, "zp1": 20.1,
               "filter1": "UV/IR-740", "cover_offset": 0.0, "fov": 17.0, "azimuth": 0.0, "altitude": 90.0}

    def reading(loc, day):
        return {"utc": datetime(2026, 10, day, 21), "tess_id": 1, "mac_address": "AA", "location_id": loc,
                "observer_id": 1, "sequence_number": day, "box_temperature": 1.0, "sky_temperature": -1.0,
                "nchannels": 1, "freq": (1.0,), "mag": (20.0,)}

    files = month_files("../up", Month(2026, 10), [reading("../a", 1), reading("../b", 2)], {1: version}, {})
    assert [f.relpath for f in files] == ["%2E.%2Fup/%2E.%2Fup_2026-10_%2E.%2Fa.dat",
                                          "%2E.%2Fup/%2E.%2Fup_2026-10_%2E.%2Fb.dat"]
    assert [f.relpath for f in month_files("../up", Month(2026, 10), [reading(1, 1)], {1: version}, {},
                                           stem="given")] == ["given/given_2026-10.dat"]


# -- a 4.x-style database holding such names ----------------------------------------------------------------------
def sql_text(name: str) -> str:
    """``name`` as a SQL text expression: quotes doubled, control characters through char()."""
    parts, plain = [], ""
    for ch in name:
        if ord(ch) < 32:
            parts += [f"'{plain}'", f"char({ord(ch)})"]
            plain = ""
        else:
            plain += ch.replace("'", "''")
    return " || ".join(parts + [f"'{plain}'"])


def legacy_db(path: Path, names: list[str]) -> Path:
    """The 4.x schema with the IDA fixture rows (stars1..3), and each of ``names`` as a
    TESS-W of its own with one reading on 2026-10-12, inserted with plain SQL."""
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY_SCHEMA.read_text())
    conn.executescript((IDA_DIR / "idafix-data.sql").read_text())
    for i, name in enumerate(names):
        tess_id, mac = 100 + i, f"AA:BB:CC:00:01:{i:02X}"
        conn.executescript(f"""
            INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, firmware,
                authorised, registered, nchannels, zp1, filter1, location_id, observer_id)
                VALUES ({tess_id}, '{mac}', '2020-01-01 00:00:00+00:00', '2999-12-31 23:59:59+00:00', 'Current',
                'TESS-W', '1.0', 1, 'Manual', 1, 20.5, 'UV/IR-740', 1, 1);
            INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state)
                VALUES ({sql_text(name)}, '{mac}', '2020-01-01 00:00:00+00:00', '2999-12-31 23:59:59+00:00',
                'Current');
            INSERT INTO tess_readings_t (date_id, time_id, tess_id, location_id, observer_id, units_id,
                sequence_number, frequency, magnitude, box_temperature, sky_temperature, signal_strength)
                VALUES (20261012, 30000, {tess_id}, 1, 1, 0, 1, 10.0, 20.7, 1.0, -9.0, -60);
        """)
    stored = {row[0] for row in conn.execute("SELECT name FROM name_to_mac_t")}
    conn.close()
    assert set(names) <= stored, "the names are stored as they are (NUL and newline included)"
    return path


def tree(root: Path, skip: Path | None = None) -> list[str]:
    """Every file and directory under ``root`` (relative, sorted), the database files aside."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            if skip is None or not p.name.startswith(skip.name):
                out.append(str(p.relative_to(root)))
    return sorted(out)


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    """``tessdb-core ARGS`` in ``cwd``, as an operator runs it (cli_runner.Cli)."""
    return Cli(cwd)(*map(str, args), check=False)


def test_report_ida_all_writes_every_hostile_name_inside_out(tmp_path):
    """The findings of issue 10: `../../p6-escaped` wrote outside --out, an absolute name
    made --out ignored, a newline made a directory with a newline in its name."""
    absolute = str(tmp_path / "abs-escaped")
    hostile = ["../../p6-escaped", absolute, "nl\nname", "nul\x00name", LONG, "..", "."]
    db = legacy_db(tmp_path / "legacy.db", hostile)
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    r = cli("report", "ida", "--all", "--month", "2026-10", "--out", "out", "--db", db, cwd=work)
    assert r.returncode == 0, r.stderr
    q = quote_name(absolute)
    long_stem = file_stem(LONG)
    expected_files = sorted([
        "stars1/stars1_2026-10.dat", "stars2/stars2_2026-10.dat",  # today's names, untouched
        "stars3/stars3_2026-10_1.dat", "stars3/stars3_2026-10_2.dat",
        "%2E.%2F..%2Fp6-escaped/%2E.%2F..%2Fp6-escaped_2026-10.dat",
        f"{q}/{q}_2026-10.dat",
        "nl%0Aname/nl%0Aname_2026-10.dat",
        "nul%00name/nul%00name_2026-10.dat",
        f"{long_stem}/{long_stem}_2026-10.dat",
        "%2E./%2E._2026-10.dat",
        "%2E/%2E_2026-10.dat",
    ])
    out = work / "out"
    everything = tree(tmp_path, skip=db)
    assert everything == sorted(["a", "a/b", "a/b/out"] + [f"a/b/out/{p}" for p in expected_files]
                                + sorted({f"a/b/out/{p.split('/')[0]}" for p in expected_files}))
    assert all(len(part.encode()) <= 255 for p in expected_files for part in p.split("/"))
    # stdout: one "wrote" line a file, each under --out
    wrote = [line for line in r.stdout.splitlines() if line.startswith("wrote ")]
    assert len(wrote) == 11 and all(line.startswith("wrote out/") for line in wrote)
    assert r.stdout.splitlines()[-1] == "11 file(s) written"
    # stderr: one line per renamed photometer, the name repr-escaped
    notes = r.stderr.splitlines()
    assert len(notes) == 7 and all(n.startswith("note: photometer ") for n in notes), r.stderr
    assert "note: photometer 'nl\\nname' is written as 'nl%0Aname'" in r.stderr
    assert "note: photometer 'nul\\x00name' is written as 'nul%00name'" in r.stderr
    assert "note: photometer '../../p6-escaped' is written as '%2E.%2F..%2Fp6-escaped'" in r.stderr
    # the file is the photometer's, with the real name inside
    header = (out / f"{q}/{q}_2026-10.dat").read_text().splitlines()
    assert header[5] == f"# Instrument ID: {absolute}"


def test_names_that_share_a_file_name_are_refused_not_overwritten(tdb, tmp_path, monkeypatch):
    """STARS1 and stars1 are one directory on a case-insensitive file system: stars1 keeps
    its files, STARS1 is refused with one line, the others go on; the command then fails."""
    db = legacy_db(tmp_path / "legacy.db", ["STARS1", "Stars2", "../Stars3"])
    monkeypatch.chdir(tmp_path)
    r = tdb("report", "ida", "--all", "--month", "2026-10", "--out", "out", "--db", db)
    assert r.code == 2
    assert r.err.splitlines()[-1] == "tessdb-core: error: 2 photometer(s) refused, 5 file(s) written"
    refused = [line for line in r.err.splitlines() if line.startswith("refused:")]
    assert refused == [
        "refused: photometer 'STARS1': its file name 'STARS1' would overwrite that of photometer 'stars1' on a "
        "case-insensitive file system; no file written for it",
        "refused: photometer 'Stars2': its file name 'Stars2' would overwrite that of photometer 'stars2' on a "
        "case-insensitive file system; no file written for it",
    ]
    assert "note: photometer '../Stars3' is written as '%2E.%2FStars3'" in r.err
    assert tree(tmp_path, skip=db) == sorted([
        "out", "out/stars1", "out/stars1/stars1_2026-10.dat", "out/stars2", "out/stars2/stars2_2026-10.dat",
        "out/stars3", "out/stars3/stars3_2026-10_1.dat", "out/stars3/stars3_2026-10_2.dat",
        "out/%2E.%2FStars3", "out/%2E.%2FStars3/%2E.%2FStars3_2026-10.dat"])
    # stars1's file is stars1's (5 readings), not STARS1's (1 reading)
    assert len((tmp_path / "out/stars1/stars1_2026-10.dat").read_text().splitlines()) == 35 + 5
    assert r.out.splitlines()[-1] == "5 file(s) written"


def test_a_link_out_of_the_output_directory_is_refused(tdb, ida_db, tmp_path, monkeypatch):
    """DIR/stars1 a symbolic link to elsewhere: stars1 is refused, nothing is written
    elsewhere; the others are written and the command fails (exit 2)."""
    monkeypatch.chdir(tmp_path)
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "stars1").symlink_to(elsewhere)
    r = tdb("report", "ida", "stars1", "stars2", "--month", "2026-10", "--out", "out", "--db", ida_db)
    assert r.code == 2, r.err
    lines = r.err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("refused: photometer 'stars1': ") and "outside" in lines[0]
    assert lines[1] == "tessdb-core: error: 1 photometer(s) refused, 1 file(s) written"
    assert r.out.splitlines() == ["wrote out/stars2/stars2_2026-10.dat (1 readings)", "1 file(s) written"]
    assert list(elsewhere.iterdir()) == []
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.dat")) == ["stars2/stars2_2026-10.dat"]

    r = tdb("report", "ida", "stars1", "--month", "2026-10", "--out", "out", "--db", ida_db)
    assert r.code == 2 and list(elsewhere.iterdir()) == []
    lines = r.err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("refused: photometer 'stars1': ")
    assert lines[1] == "tessdb-core: error: 1 photometer(s) refused, no IDA file written in 2026-10"


def test_each_file_is_reported_as_it_is_written(ida_db, queries_of, tmp_path):
    """`report ida --all` keeps no file text: each file is handed over once written (issue 12)."""
    from tessdb_reports.common import Month
    from tessdb_reports.tools import ida_reports

    seen = []

    def wrote(path, f):
        assert path.is_file() and path.read_text() == f.text  # on disk before the next one is made
        seen.append(str(path.relative_to(tmp_path / "out")))

    run = ida_reports(queries_of(ida_db), None, [Month(2026, 10)], tmp_path / "out", False, wrote)
    assert run.written == len(seen) == 4 and not hasattr(run, "files")
    assert seen == ["stars1/stars1_2026-10.dat", "stars2/stars2_2026-10.dat", "stars3/stars3_2026-10_1.dat",
                    "stars3/stars3_2026-10_2.dat"]


# -- plots and exports: the operator's --out file, whatever the name ---------------------------------------------
def rename_stars10(db: Path, name: str) -> None:
    """stars10 of ``ingested_db`` renamed ``name``, by hand SQL."""
    conn = sqlite3.connect(db)
    conn.execute(f"UPDATE name_to_mac_t SET name = {sql_text(name)} WHERE name = 'stars10'")
    conn.commit()
    conn.close()


HOSTILE = ["../../p6-escaped", "/tmp/abs-escaped", "nl\nname", "nul\x00name", "x" * 300, ".."]


@pytest.mark.parametrize("name", HOSTILE, ids=["dotdot", "absolute", "newline", "nul", "long", "parent"])
def test_plots_and_exports_write_only_the_out_file(tdb, ingested_db, tmp_path, monkeypatch, name):
    plain = tdb("readings", "export", "stars10", "--db", ingested_db)
    assert plain.code == 0
    rename_stars10(ingested_db, name)
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = tree(tmp_path)
    runs = [tdb("plot", "night", name, "--date", "2026-10-14", "--out", "out/night.png", "--db", ingested_db),
            tdb("plot", "month", name, "--month", "2026-10", "--out", "out/month.png", "--db", ingested_db),
            tdb("readings", "export", name, "--out", "out/export.csv", "--db", ingested_db)]
    assert [r.code for r in runs] == [2, 2, 2]  # out/ does not exist: refused before anything is written
    assert all("directory 'out' does not exist" in r.err and r.err.count("\n") == 1 for r in runs)
    (work / "out").mkdir()
    runs = [tdb("plot", "night", name, "--date", "2026-10-14", "--out", "out/night.png", "--db", ingested_db),
            tdb("plot", "month", name, "--month", "2026-10", "--out", "out/month.png", "--db", ingested_db),
            tdb("readings", "export", name, "--out", "out/export.csv", "--db", ingested_db)]
    assert [r.code for r in runs] == [0, 0, 0], [r.err for r in runs]
    assert tree(tmp_path) == sorted(before + ["a/b/out", "a/b/out/night.png", "a/b/out/month.png",
                                              "a/b/out/export.csv"])
    # the same readings as under its plain name, the name column giving the name as it is
    got = list(csv.reader(io.StringIO((work / "out" / "export.csv").read_bytes().decode(), newline="")))
    want = list(csv.reader(io.StringIO(plain.out, newline="")))
    col = want[0].index("name")
    assert {r[col] for r in want[1:]} == {"stars10"} and {r[col] for r in got[1:]} == {name}
    assert [r[:col] + r[col + 1:] for r in got] == [r[:col] + r[col + 1:] for r in want]


@pytest.mark.parametrize("name", ["nl\nname", "nul\x00name"], ids=["newline", "nul"])
def test_a_plot_error_naming_such_a_photometer_is_one_line(tdb, ingested_db, tmp_path, name):
    rename_stars10(ingested_db, name)
    r = tdb("plot", "night", name, "--date", "2027-01-01", "--out", tmp_path / "n.png", "--db", ingested_db)
    assert r.code == 2 and r.err.count("\n") == 1 and f"no readings of {name!r} in the night" in r.err, r.err
    assert not (tmp_path / "n.png").exists()


def test_a_plot_title_shows_such_a_name_escaped(ingested_db, queries_of):
    from datetime import date

    from tessdb_reports.common import Month
    from tessdb_reports.plots import month_data, month_figure, night_data, night_figure

    rename_stars10(ingested_db, "nul\x00name")
    q = queries_of(ingested_db)
    night = night_figure(night_data(q, "nul\x00name", date(2026, 10, 14)))
    month = month_figure(month_data(q, "nul\x00name", Month(2026, 10)))
    assert night.axes[0].get_title().startswith("'nul\\x00name' — night of 2026-10-14")
    assert month.axes[0].get_title().startswith("'nul\\x00name' — 2026-10")
