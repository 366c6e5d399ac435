"""`tessdb-core readings list | count`."""

from __future__ import annotations

import csv
import io

from .conftest import MAC10, MAC20, READINGS10, READINGS20


def test_latest_readings_of_all_and_of_one(cli):
    rows = cli.json("readings", "list", "--count", "3")
    assert [r["name"] for r in rows] == ["stars10"] * 3
    assert [r["tstamp"] for r in rows] == [t.isoformat(" ") for t in sorted(READINGS10, reverse=True)[:3]]
    assert rows[0]["seq"] == len(READINGS10) and rows[0]["mac"] == MAC10 and rows[0]["freq1"] == 10.0
    assert rows[0]["model"] == "TESS-W" and rows[0]["mag2"] is None
    rows = cli.json("readings", "list", "stars20", "--count", "10")
    assert len(rows) == len(READINGS20) and {r["model"] for r in rows} == {"TESS4C"}
    assert (rows[0]["mac"], rows[0]["freq3"], rows[0]["mag4"], rows[0]["box_temperature"]) == (MAC20, 30.0, 21.0, 4.0)
    assert len(cli.json("readings", "list", "--count", "100")) == len(READINGS10) + len(READINGS20)
    assert cli.json("readings", "list", "stars30") == []
    table = cli("readings", "list", "stars10").stdout.splitlines()
    assert table[0].split()[:6] == ["name", "tstamp", "model", "seq", "freq1", "mag1"] and "freq4" not in table[0]
    assert len(table) == 1 + len(READINGS10)
    parsed = list(csv.DictReader(io.StringIO(cli("readings", "list", "stars20", "--csv").stdout)))
    assert parsed[0]["mag1"] == "18.0" and parsed[0]["name"] == "stars20"


def test_readings_follow_the_name_across_a_rename(cli):
    cli("instrument", "rename", "stars10", "stars11")
    assert cli.json("readings", "list", "stars11") == []  # renamed just now: its readings stay with stars10
    assert len(cli.json("readings", "list", "stars10", "--count", "50")) == len(READINGS10)
    assert {r["name"] for r in cli.json("readings", "list", "--count", "50")} == {"stars10", "stars20"}


def test_count(cli):
    assert cli.json("readings", "count", "stars10") == {"name": "stars10", "from": None, "to": None,
                                                          "count": len(READINGS10)}
    assert cli("readings", "count", "STARS20").stdout.strip() == f"stars20: {len(READINGS20)} reading(s)"
    day = min(READINGS20).date()
    assert cli.json("readings", "count", "stars20", "--from", str(day), "--to", str(day))["count"] == \
        sum(1 for t in READINGS20 if t.date() == day)
    assert cli.json("readings", "count", "stars20", "--to", "2000-01-01")["count"] == 0
    assert cli.json("readings", "count", "stars30")["count"] == 0
    assert "after --to" in cli.refused("readings", "count", "stars10", "--from", "2026-02-01", "--to", "2026-01-01")
    assert "is not a date" in cli.refused("readings", "count", "stars10", "--from", "yesterday")
    assert "unknown photometer" in cli.refused("readings", "count", "stars99")
    assert "unknown photometer" in cli.refused("readings", "list", "stars99")
