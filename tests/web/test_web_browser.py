"""The status page in a real browser (Debian's headless Chromium, driven by Playwright).

* A 200-photometer fleet from the database (``tessdb-core web`` as run in-process): the counts,
  the markers' colours by status, names and places with HTML shown as text, the table's filter
  and sort, and a screenshot (tests/artifacts/web-fleet-200.png).
* The live service with ``[web] enabled``: readings arriving over MQTT make three markers live;
  one photometer stops and turns silent after ``silent_after``; a click opens its night.
No console error in either."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest

from .conftest import HTML_NAME, Page, big_fleet, fresh_db, serve

RGB = {"live": "rgb(47, 191, 113)", "silent": "rgb(229, 72, 77)", "never": "rgb(139, 147, 167)"}


def colours(page) -> dict[str, str]:
    """title -> computed background colour of every single marker on the map."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.tess-marker')]
        .map(m => [m.title, getComputedStyle(m).backgroundColor]))""")


@pytest.fixture(scope="module")
def fleet200(tmp_path_factory):
    db = big_fleet(tmp_path_factory.mktemp("fleet200"), 200)
    s = serve(db)
    yield s
    s.runtime.stop()


def test_a_fleet_of_200_on_the_map_and_in_the_table(fleet200, page):
    api = fleet200.client.json("/api/v1/photometers")
    p = page.open(fleet200.client.base + "/")
    counts = api["counts"]
    assert counts["live"] > 100 and counts["silent"] > 20 and counts["never"] > 10
    for status in ("live", "silent", "never"):
        assert p.inner_text(f"#count-{status}") == str(counts[status])
    assert p.inner_text("#count-all") == "200"
    assert p.locator("#fleet tbody tr").count() == 200
    # zoom in until single markers show; each has the colour of its status
    p.evaluate("() => 0")
    p.wait_for_function("() => document.querySelectorAll('.tess-marker, .tess-cluster').length > 0")
    status_of = {r["name"]: r["status"] for r in api["photometers"]}
    p.locator("#fleet tbody tr[data-name='stars7']").click()  # a silent one: the map keeps the clusters
    p.wait_for_selector("#detail[data-loaded='1']")
    seen = colours(p)
    for name, colour in seen.items():
        assert colour == RGB[status_of[name]], (name, colour)
    page.screenshot("web-fleet-200.png")
    assert not page.errors, page.errors


def test_html_in_names_and_places_shows_as_text(fleet200, page):
    p = page.open(fleet200.client.base + "/")
    row = p.locator("#fleet tbody tr[data-name='stars5']")
    assert row.locator("td").nth(1).inner_text() == HTML_NAME
    p.fill("#filter", "Evil & Co")
    assert p.locator("#fleet tbody tr").count() == 1
    row.click()
    p.wait_for_selector("#detail[data-loaded='1']")
    assert HTML_NAME in p.inner_text("#detail-site")
    p.locator("#fleet tbody tr[data-name='stars5']").hover()
    p.fill("#filter", "")
    p.locator("#fleet tbody tr[data-name='stars6']").click()
    p.wait_for_selector("#detail[data-loaded='1'][data-name='stars6']")
    assert "<script>window.hacked=2</script>" in p.inner_text("#detail-site")
    assert p.evaluate("() => [window.hacked, document.querySelectorAll('#fleet img, #detail img').length]") == [None, 0]
    assert not page.errors, page.errors


def test_the_table_filters_by_country_and_status_and_sorts(fleet200, page):
    p = page.open(fleet200.client.base + "/")
    p.fill("#filter", "portugal")
    portugal = {r["name"] for r in fleet200.client.json("/api/v1/photometers?country=Portugal")["photometers"]}
    assert {t for t in p.locator("#fleet tbody tr").evaluate_all("rs => rs.map(r => r.dataset.name)")} == portugal
    p.fill("#filter", "")
    p.click("#counts .chip[data-status='silent']")
    assert set(p.locator("#fleet tbody tr").evaluate_all("rs => rs.map(r => r.dataset.status)")) == {"silent"}
    p.click("#counts .chip[data-status='']")
    p.click("#fleet th[data-key='newest']")
    p.click("#fleet th[data-key='newest']")  # newest first
    first = p.locator("#fleet tbody tr").first.get_attribute("data-status")
    assert first == "live"
    assert not page.errors, page.errors


# -- the live service ---------------------------------------------------------------------------------
def test_live_fleet_markers_turn_silent_and_a_click_opens_the_night(tmp_path, broker, browser):
    import json
    import sqlite3

    from broker import free_port
    from live_service import Publisher, Service

    web_port = free_port()
    svc = Service(tmp_path, broker, {"TESSDB_WEB__ENABLED": "true", "TESSDB_WEB__PORT": str(web_port),
                                     "TESSDB_WEB__SILENT_AFTER": '"4s"', "TESSDB_FILTER__ENABLE__DAYLIGHT": "false"})
    fresh_db(tmp_path)
    with sqlite3.connect(tmp_path / "tess.db") as conn:
        for i, (lon, lat) in enumerate(((-3.7, 40.4), (2.17, 41.39), (-8.61, 41.15)), 1):
            mac = f"AA:BB:CC:00:00:{i:02X}"
            conn.execute("INSERT INTO location_t (location_id, longitude, latitude, elevation, place, town, sub_region, "
                         "region, country, timezone) VALUES (?,?,?,?,?,?,?,?,?,?)",
                         (100 + i, lon, lat, 600.0, f"Site {i}", f"Town {i}", "", "", "Spain", "Europe/Madrid"))
            conn.execute("INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, "
                         "nchannels, zp1, filter1, location_id, authorised) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                         (100 + i, mac, "2026-01-01 00:00:00.000000", "2999-12-31 23:59:59.000000", "Current",
                          "TESS-W", 1, 20.5, "UV/IR-740", 100 + i, 1))
            conn.execute("INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) "
                         "VALUES (?,?,?,?,?)", (f"stars{i}", mac, "2026-01-01 00:00:00.000000",
                                                "2999-12-31 23:59:59.000000", "Current"))
    svc.start()
    publisher = Publisher(broker.port)
    sending = {"stars1", "stars2", "stars3"}
    stop = threading.Event()

    def send() -> None:
        seq = 0
        while not stop.is_set():
            now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            publisher.publish([(f"STARS4ALL/{n}/reading", json.dumps(
                {"name": n, "seq": seq, "freq": 10.0, "mag": 20.1, "tamb": 5.0, "tsky": -3.0, "wdBm": -60,
                 "tstamp": now})) for n in sorted(sending)])
            seq += 1
            stop.wait(1.0)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    page = Page(browser)
    try:
        url = f"http://127.0.0.1:{web_port}/"
        p = page.open(url)
        p.wait_for_function("() => document.getElementById('count-live').textContent === '3'", timeout=30_000)
        p.wait_for_selector(".tess-marker[title='stars3']")
        assert set(colours(p).values()) == {RGB["live"]}
        sending.discard("stars3")  # stars3 stops sending
        t0 = time.monotonic()
        p.wait_for_function("() => document.querySelector(\".tess-marker[title='stars3']\")"
                            ".classList.contains('status-silent')", timeout=30_000)
        assert time.monotonic() - t0 >= 2.0  # not before silent_after (4 s) less a reading's second
        assert colours(p)["stars3"] == RGB["silent"] and colours(p)["stars1"] == RGB["live"]
        p.click(".tess-marker[title='stars1']")
        p.wait_for_selector("#detail[data-loaded='1'][data-name='stars1']")
        assert int(p.get_attribute("#night-chart", "data-points")) >= 3
        assert p.locator("#night-chart canvas").count() >= 1
        page.screenshot("web-live.png")
        assert not page.errors, page.errors
    finally:
        stop.set()
        sender.join(5)
        publisher.close()
        page.close()
        svc.stop()
