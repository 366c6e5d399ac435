"""One photometer told four ways agrees: its row in ``/api/v1/photometers``, its GeoJSON
feature, its panel on the page (in a real browser) and the maintenance commands
``instrument show`` and ``readings list`` on the same database."""

from __future__ import annotations

import json


def test_row_feature_and_panel_agree_with_instrument_show_and_readings_list(served, page):
    cli = served.db.cli
    show = json.loads(cli("instrument", "show", "stars2", "--json").stdout)
    latest = json.loads(cli("readings", "list", "stars2", "--count", "1", "--json").stdout)[0]
    inst, loc = show["instrument"], show["location"]

    row = next(r for r in served.client.json("/api/v1/photometers")["photometers"] if r["name"] == "stars2")
    feature = next(f for f in served.client.json("/api/v1/photometers.geojson")["features"] if f["id"] == "stars2")
    detail = served.client.json("/api/v1/photometers/stars2")

    assert row["mac"] == inst["mac"] == detail["mac"]
    assert row["model"] == inst["model"]
    assert (row["place"], row["town"], row["country"]) == (loc["place"], loc["town"], loc["country"])
    assert (row["longitude"], row["latitude"]) == (loc["longitude"], loc["latitude"])
    assert feature["geometry"]["coordinates"] == [loc["longitude"], loc["latitude"]]
    assert {k: feature["properties"][k] for k in ("mac", "model", "place", "newest", "magnitudes", "status")} == \
        {k: row[k] for k in ("mac", "model", "place", "newest", "magnitudes", "status")}
    newest = latest["tstamp"].replace(" ", "T")[:19] + "Z"
    assert row["newest"] == newest
    assert row["magnitudes"] == [latest["mag1"]]
    assert detail["versions"][-1]["zp"][0] == inst["zp1"]

    p = page.open(served.client.base + "/")
    p.locator("#fleet tbody tr[data-name='stars2']").click()
    p.wait_for_selector("#detail[data-loaded='1'][data-name='stars2']")
    facts = dict(zip(p.locator("#detail-facts dt").all_inner_texts(), p.locator("#detail-facts dd").all_inner_texts()))
    assert facts["MAC"] == inst["mac"] and facts["model"] == inst["model"]
    assert facts["place"] == loc["place"] and facts["country"] == loc["country"]
    assert facts["newest"] == newest.replace("T", " ")[:16] + " UTC"
    assert facts["magnitudes"] == f"{latest['mag1']:.2f}"
    assert p.locator("#detail-versions tr").first.locator("td").nth(2).inner_text() == f"{inst['zp1']:.2f}"
    cells = p.locator("#fleet tbody tr[data-name='stars2'] td").all_inner_texts()
    assert cells[1:4] == [loc["place"], loc["country"], newest.replace("T", " ")[5:16]]
    # the night's chart: every reading plotted, with its twilight, Moon and cloud marks
    readings = served.client.json("/api/v1/photometers/stars2/readings?from=" +
                                  p.locator("#detail-csv").get_attribute("href").split("from=")[1].split("&")[0]
                                  .replace("%3A", ":"))
    assert int(p.get_attribute("#night-chart", "data-points")) == len(readings["rows"]) > 50
    clouds = readings["columns"].index("clouds")
    assert int(p.get_attribute("#night-chart", "data-cloudy")) == sum(r[clouds] == "cloudy" for r in readings["rows"]
                                                                       if r[3] and r[3] > 0)
    page.screenshot("web-night.png")
    assert not page.errors, page.errors
