"""`tessdb-core instrument ...` on a database built by init + ingest."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from .conftest import MAC10, MAC20, MAC30, NOW, READINGS20, REGISTERED

Y2999 = "2999-12-31 23:59:59.000000"


def versions(cli, mac):
    return cli.rows("SELECT * FROM tess_t WHERE mac_address = ? ORDER BY tess_id", mac)


def mappings(cli, name=None):
    if name is None:
        return cli.rows("SELECT name, mac_address, valid_since, valid_until, valid_state FROM name_to_mac_t "
                        "ORDER BY rowid")
    return cli.rows("SELECT name, mac_address, valid_since, valid_until, valid_state FROM name_to_mac_t "
                    "WHERE name = ? ORDER BY rowid", name)


def test_list_table_json_csv(cli):
    table = cli("instrument", "list").stdout.splitlines()
    assert table[0].split()[:7] == ["name", "mac", "model", "zp1", "zp2", "zp3", "zp4"]
    assert [line.split()[0] for line in table[1:]] == ["stars10", "stars20", "stars30"]
    rows = cli.json("instrument", "list")
    by_name = {r["name"]: r for r in rows}
    assert by_name["stars10"]["mac"] == MAC10 and by_name["stars10"]["zp1"] == 20.5
    assert by_name["stars10"]["zp2"] is None and by_name["stars10"]["authorised"] is False
    assert by_name["stars20"]["model"] == "TESS4C" and by_name["stars20"]["zp4"] == 20.3
    assert by_name["stars20"]["filters"] == "UV/IR-740, R, G, B"
    assert by_name["stars30"]["place"] == "Unknown" and by_name["stars30"]["since"] == REGISTERED.isoformat(" ")
    parsed = list(csv.DictReader(io.StringIO(cli("instrument", "list", "--csv").stdout)))
    assert [r["name"] for r in parsed] == ["stars10", "stars20", "stars30"] and parsed[0]["authorised"] == "0"


def test_show_by_name_and_by_mac(cli):
    shown = cli.json("instrument", "show", "STARS10")
    assert shown["instrument"]["mac"] == MAC10 and shown["instrument"]["firmware"] == "1.2"
    assert shown["location"]["place"] == "Unknown" and shown["observer"]["name"] == "Unknown"
    assert cli.json("instrument", "show", "--mac", "aa:bb:cc:dd:ee:20")["instrument"]["name"] == "stars20"
    text = cli("instrument", "show", "stars20").stdout
    assert "[instrument]" in text and "zp4" in text and "[location]" in text


def test_create_tess_w_and_tess4c(cli):
    out = cli("instrument", "create", "stars40", "a:b:c:d:e:40", "--zp", "20.4", "--since", "2026-01-02 03:04:05")
    assert "created stars40 -> 0A:0B:0C:0D:0E:40" in out.stdout
    (v,) = versions(cli, "0A:0B:0C:0D:0E:40")
    assert (v["registered"], v["authorised"], v["zp1"], v["filter1"], v["model"], v["nchannels"]) == \
        ("Manual", 0, 20.4, "UV/IR-740", "TESS-W", 1)
    assert (v["valid_since"], v["valid_until"], v["valid_state"]) == ("2026-01-02 03:04:05.000000", Y2999, "Current")
    assert (v["location_id"], v["observer_id"], v["firmware"]) == (-1, -1, "Unknown")
    assert mappings(cli, "stars40") == [{"name": "stars40", "mac_address": "0A:0B:0C:0D:0E:40",
                                         "valid_since": "2026-01-02 03:04:05.000000", "valid_until": Y2999,
                                         "valid_state": "Current"}]
    cli("instrument", "create", "stars41", "AA:00:00:00:00:41", "--model", "TESS4C", "--authorise",
        *[x for zp, f in ((20.1, "UV/IR-740"), (20.2, "R"), (20.3, "G"), (20.4, "B")) for x in
          ("--zp", str(zp), "--filter", f)])
    (c,) = versions(cli, "AA:00:00:00:00:41")
    assert (c["nchannels"], c["zp3"], c["filter4"], c["authorised"], c["registered"]) == (4, 20.3, "B", 1, "Manual")


def test_create_refuses_a_name_or_mac_in_use(cli):
    assert "already in use" in cli.refused("instrument", "create", "stars10", "AA:00:00:00:00:99", "--zp", "20")
    assert "already named stars20" in cli.refused("instrument", "create", "stars99", MAC20, "--zp", "20")
    assert "give --zp 4" in cli.refused("instrument", "create", "stars99", "AA:00:00:00:00:99", "--zp", "20",
                                        "--model", "TESS4C")
    assert "outside [10.0, 30.0]" in cli.refused("instrument", "create", "stars99", "AA:00:00:00:00:99",
                                                 "--zp", "31")


def test_update_creates_a_manual_version_that_carries_the_rest(cli):
    cli("instrument", "enable", "stars10")
    cli("location", "create", "Villaverde", "--lon", "-3.7", "--lat", "40.35")
    cli("instrument", "assign", "stars10", "--location", "Villaverde")
    day1, day2 = (REGISTERED + timedelta(days=n) for n in (1, 2))
    out = cli("instrument", "update", "stars10", "--zp", "20.61", "--offset", "0.02", "--since", day1.isoformat())
    assert "new version" in out.stdout
    old, new = versions(cli, MAC10)
    assert old["valid_state"] == "Expired" and new["valid_state"] == "Current"
    assert old["valid_until"] == new["valid_since"] and new["valid_until"] == Y2999
    assert (new["zp1"], new["offset1"], new["registered"]) == (20.61, 0.02, "Manual")
    for col in ("authorised", "location_id", "observer_id", "firmware", "model", "filter1"):
        assert new[col] == old[col], col
    assert new["authorised"] == 1 and new["location_id"] == 1
    # --since must be later than the current version
    err = cli.refused("instrument", "update", "stars10", "--zp", "20.7", "--since", REGISTERED.isoformat())
    assert "is not later than the valid_since" in err
    # a change from an explicit time
    cli("instrument", "update", "stars10", "--filter", "UV/IR-cut", "--since", f"{day2:%Y-%m-%d %H:%M:%S}.5")
    assert [v["valid_state"] for v in versions(cli, MAC10)] == ["Expired", "Expired", "Current"]
    assert new["valid_since"] == f"{day1:%Y-%m-%d %H:%M:%S}.000000"
    assert versions(cli, MAC10)[2]["valid_since"] == versions(cli, MAC10)[1]["valid_until"] == \
        f"{day2:%Y-%m-%d %H:%M:%S}.500000"
    # without --since the new version starts now
    cli("instrument", "update", "stars10", "--zp", "20.62")
    assert versions(cli, MAC10)[3]["valid_since"] > f"{NOW:%Y-%m-%d %H:%M:%S}"


def test_update_latest_edits_in_place_and_tess4c_channel(cli):
    cli("instrument", "update", "stars10", "--zp", "20.55", "--latest")
    (v,) = versions(cli, MAC10)
    assert (v["zp1"], v["registered"], v["valid_since"]) == (20.55, "Manual", REGISTERED.isoformat(" ") + ".000000")
    cli("instrument", "update", "stars20", "--zp", "19.5", "--channel", "3")
    old, new = versions(cli, MAC20)
    assert (new["zp1"], new["zp2"], new["zp3"], new["zp4"]) == (old["zp1"], old["zp2"], 19.5, old["zp4"])
    assert "nothing changed" in cli("instrument", "update", "stars20", "--zp", "19.5", "--channel", "3").stdout
    assert len(versions(cli, MAC20)) == 2
    assert "give --zp 4" in cli.refused("instrument", "update", "stars20", "--zp", "20")


def test_enable_disable_in_place(cli):
    cli("instrument", "enable", "stars30")
    assert [v["authorised"] for v in versions(cli, MAC30)] == [1]
    assert "already authorised" in cli("instrument", "enable", "stars30").stdout
    cli("instrument", "disable", "stars30")
    assert [v["authorised"] for v in versions(cli, MAC30)] == [0]


def test_assign_in_place_and_versioned(cli):
    cli("location", "create", "Observatorio UCM", "--lon", "-3.7261", "--lat", "40.4516")
    cli("observer", "create", "Jaime Zamorano", "--type", "Individual")
    cli("instrument", "assign", "stars30", "--location", "observatorio ucm", "--observer", "Jaime Zamorano")
    (v,) = versions(cli, MAC30)
    assert (v["location_id"], v["observer_id"], v["registered"]) == (1, 1, "Automatic")
    cli("instrument", "assign", "stars30", "--location", "-1", "--since", "2026-11-30 00:00:00")
    old, new = versions(cli, MAC30)
    assert old["valid_until"] == new["valid_since"] == "2026-11-30 00:00:00.000000"
    assert (new["location_id"], new["observer_id"], old["location_id"]) == (-1, 1, 1)
    assert "unknown location" in cli.refused("instrument", "assign", "stars30", "--location", "Atlantis")
    assert "unknown observer" in cli.refused("instrument", "assign", "stars30", "--observer", "Nobody")


def test_rename_free_and_taken_names(cli):
    cli("instrument", "rename", "stars10", "stars11", "--since", "2026-11-30 00:00:00")
    assert mappings(cli, "stars10")[0]["valid_until"] == "2026-11-30 00:00:00.000000"
    assert mappings(cli, "stars10")[0]["valid_state"] == "Expired"
    assert mappings(cli, "stars11") == [{"name": "stars11", "mac_address": MAC10,
                                         "valid_since": "2026-11-30 00:00:00.000000", "valid_until": Y2999,
                                         "valid_state": "Current"}]
    out = cli("instrument", "rename", "stars11", "stars30").stdout
    assert f"MAC {MAC30} (was stars30) has no name now" in out
    current = [(m["name"], m["mac_address"]) for m in mappings(cli) if m["valid_state"] == "Current"]
    assert sorted(current) == [("stars20", MAC20), ("stars30", MAC10)]
    assert [r["mac"] for r in cli.json("instrument", "anonymous")] == [MAC30]
    assert "does not match" in cli.refused("instrument", "rename", "stars30", "foo")


def test_history_shows_every_version_and_mapping(cli):
    cli("instrument", "update", "stars10", "--zp", "20.9")
    cli("instrument", "rename", "stars10", "stars12")
    hist = cli.json("instrument", "history", "stars12")
    assert [m["name"] for m in hist["mappings"]] == ["stars10", "stars12"]
    assert [(v["zp1"], v["valid_state"], v["registered"]) for v in hist["versions"]] == \
        [(20.5, "Expired", "Automatic"), (20.9, "Current", "Manual")]
    assert hist == cli.json("instrument", "history", "--mac", MAC10)
    text = cli("instrument", "history", "stars10").stdout
    assert text.startswith("Versions") and "Name mappings" in text


def test_unassigned_and_anonymous(cli):
    assert [r["name"] for r in cli.json("instrument", "unassigned")] == ["stars10", "stars20", "stars30"]
    cli("location", "create", "Somewhere", "--lon", "2", "--lat", "41")
    cli("instrument", "assign", "stars20", "--location", "Somewhere")
    assert [r["name"] for r in cli.json("instrument", "unassigned")] == ["stars10", "stars30"]
    assert cli("instrument", "anonymous").stdout.strip() == "every MAC has a current name"
    cli("instrument", "rename", "stars20", "stars10")  # takes stars10 away from MAC10
    (anon,) = cli.json("instrument", "anonymous")
    assert (anon["mac"], anon["last_name"], anon["has_current_version"]) == (MAC10, "stars10", True)
    listed = cli.json("instrument", "list", "--all")
    assert {r["mac"]: r["name"] for r in listed}[MAC10] is None
    assert MAC10 not in {r["mac"] for r in cli.json("instrument", "list")}


def test_silent(cli):
    rows = {r["name"]: r for r in cli.json("instrument", "silent", "--since", "1h")}
    assert list(rows) == ["stars20", "stars30"]
    assert rows["stars20"]["last_reading"] == max(READINGS20).isoformat(" ")
    assert rows["stars30"]["last_reading"] is None and rows["stars30"]["mac"] == MAC30
    assert [r["name"] for r in cli.json("instrument", "silent", "--since", "1w")] == ["stars30"]
    assert [r["name"] for r in cli.json("instrument", "silent", "--since", "5m")] == ["stars10", "stars20", "stars30"]
    table = cli("instrument", "silent", "--since", "3d12h").stdout
    assert "stars20" not in table and "stars30" in table

