"""`tessdb-core location ...` and `tessdb-core observer ...`."""

from __future__ import annotations

import csv
import io

from .conftest import MAC10, MAC30

Y2999 = "2999-12-31 23:59:59.000000"


def locations(cli):
    return cli.rows("SELECT * FROM location_t ORDER BY location_id")


def observers(cli):
    return cli.rows("SELECT * FROM observer_t ORDER BY observer_id")


def test_location_create_finds_the_timezone_and_refuses_duplicates(cli):
    out = cli("location", "create", "Observatorio UCM", "--lon", "-3.7261", "--lat", "40.4516", "--elevation", "650",
              "--town", "Madrid", "--sub-region", "Madrid", "--region", "Comunidad de Madrid", "--country", "Spain")
    assert "(location_id 1)" in out.stdout
    loc = locations(cli)[1]
    assert (loc["location_id"], loc["place"], loc["longitude"], loc["latitude"], loc["elevation"]) == \
        (1, "Observatorio UCM", -3.7261, 40.4516, 650.0)
    assert (loc["town"], loc["sub_region"], loc["region"], loc["country"], loc["timezone"]) == \
        ("Madrid", "Madrid", "Comunidad de Madrid", "Spain", "Europe/Madrid")
    cli("location", "create", "Tokyo", "--lon", "139.69", "--lat", "35.68", "--timezone", "Asia/Tokyo")
    loc = locations(cli)[2]
    assert (loc["location_id"], loc["town"], loc["timezone"]) == (2, "Unknown", "Asia/Tokyo")
    assert "already at longitude" in cli.refused("location", "create", "Other", "--lon", "-3.7261",
                                                 "--lat", "40.4516")
    assert "already has the place" in cli.refused("location", "create", "tokyo", "--lon", "139", "--lat", "35")
    assert "not a known IANA" in cli.refused("location", "create", "X", "--lon", "1", "--lat", "1",
                                             "--timezone", "Mars/Olympus")
    assert "latitude 95.0 is outside" in cli.refused("location", "create", "X", "--lon", "1", "--lat", "95")


def test_location_list_show_update(cli):
    cli("location", "create", "Villaverde", "--lon", "-3.7", "--lat", "40.35")
    rows = cli.json("location", "list")
    assert [(r["location_id"], r["place"]) for r in rows] == [(-1, "Unknown"), (1, "Villaverde")]
    parsed = list(csv.DictReader(io.StringIO(cli("location", "list", "--csv").stdout)))
    assert parsed[1]["place"] == "Villaverde" and parsed[1]["timezone"] == "Europe/Madrid"
    assert "Villaverde" in cli("location", "list").stdout
    cli("instrument", "assign", "stars30", "--location", "1")
    shown = cli.json("location", "show", "villaverde")
    assert shown["location"]["location_id"] == 1 and shown["instruments"]["current"] == "stars30"
    # in place; a new position finds its time zone again
    cli("location", "update", "1", "--place", "Lisboa", "--lon", "-9.14", "--lat", "38.72", "--town", "Lisboa")
    loc = locations(cli)[1]
    assert (loc["place"], loc["town"], loc["longitude"], loc["timezone"]) == ("Lisboa", "Lisboa", -9.14,
                                                                               "Europe/Lisbon")
    cli("location", "update", "Lisboa", "--timezone", "Etc/UTC")
    assert locations(cli)[1]["timezone"] == "Etc/UTC"
    assert "nothing changed" in cli("location", "update", "Lisboa", "--town", "Lisboa").stdout
    assert "is not edited" in cli.refused("location", "update", "-1", "--town", "X")
    assert "unknown location" in cli.refused("location", "update", "Atlantis", "--town", "X")
    assert "unknown location" in cli.refused("location", "show", "42")


def test_location_unassigned_and_duplicates(cli):
    cli("location", "create", "A", "--lon", "-3.70000", "--lat", "40.40000")
    cli("location", "create", "B", "--lon", "-3.70050", "--lat", "40.40000")  # ~42 m west of A
    cli("location", "create", "C", "--lon", "-3.70000", "--lat", "40.40100")  # ~111 m north of A
    cli("instrument", "assign", "stars10", "--location", "A")
    assert [r["place"] for r in cli.json("location", "unassigned")] == ["B", "C"]
    pairs = cli.json("location", "duplicates")
    assert [(p["place1"], p["place2"]) for p in pairs] == [("A", "B")]
    assert 40 < pairs[0]["distance_m"] < 45
    pairs = cli.json("location", "duplicates", "--distance", "150")
    assert [(p["place1"], p["place2"]) for p in pairs] == [("A", "B"), ("A", "C"), ("B", "C")]
    assert "no two locations" in cli("location", "duplicates", "--distance", "10").stdout
    assert "positive" in cli.refused("location", "duplicates", "--distance", "0")


def test_observer_create_list_update_versioned(cli):
    out = cli("observer", "create", "Jaime Zamorano", "--type", "Individual", "--affiliation", "UCM",
              "--email", "jz@example.org", "--since", "2026-01-01")
    assert "(observer_id 1)" in out.stdout
    obs = observers(cli)[1]
    assert (obs["name"], obs["type"], obs["affiliation"], obs["email"], obs["valid_since"], obs["valid_until"],
            obs["valid_state"]) == ("Jaime Zamorano", "Individual", "UCM", "jz@example.org",
                                    "2026-01-01 00:00:00.000000", Y2999, "Current")
    cli("observer", "create", "STARS4ALL", "--type", "Organization", "--acronym", "S4A",
        "--website", "https://stars4all.eu")
    assert [o["name"] for o in cli.json("observer", "list")] == ["Unknown", "Jaime Zamorano", "STARS4ALL"]
    assert "already exists" in cli.refused("observer", "create", "jaime zamorano", "--type", "Individual")
    cli("instrument", "assign", "stars10", "--observer", "Jaime Zamorano")
    cli("instrument", "assign", "stars30", "--observer", "1")
    out = cli("observer", "update", "Jaime Zamorano", "--affiliation", "Universidad Complutense",
              "--since", "2026-06-01")
    assert "2 instrument(s) follow it" in out.stdout
    old, new = observers(cli)[1], observers(cli)[3]
    assert (old["valid_state"], old["valid_until"]) == ("Expired", "2026-06-01 00:00:00.000000")
    assert (new["valid_state"], new["valid_since"], new["valid_until"]) == \
        ("Current", "2026-06-01 00:00:00.000000", Y2999)
    assert (new["name"], new["affiliation"], new["email"]) == ("Jaime Zamorano", "Universidad Complutense",
                                                                 "jz@example.org")
    assert {r["observer_id"] for r in cli.rows("SELECT observer_id FROM tess_t WHERE mac_address IN (?, ?)",
                                                MAC10, MAC30)} == {new["observer_id"]}
    assert [o["observer_id"] for o in cli.json("observer", "list")] == [-1, 2, 3]
    assert len(cli.json("observer", "list", "--all")) == 4
    assert "is not later than" in cli.refused("observer", "update", "Jaime Zamorano", "--email", "x@example.org",
                                              "--since", "2026-03-01")
    assert "unknown observer" in cli.refused("observer", "update", "Nobody", "--email", "x@example.org")
    assert "not an e-mail" in cli.refused("observer", "update", "STARS4ALL", "--email", "nope")
    assert "nothing changed" in cli("observer", "update", "STARS4ALL", "--acronym", "S4A").stdout
