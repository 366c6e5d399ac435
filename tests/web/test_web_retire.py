"""``tessdb-core instrument retire NAME``: the name's mapping ends (readings and versions kept),
the public API and page show it as retired (not silent), bad uses are one-line errors."""

from __future__ import annotations

import json

from .conftest import Page, make_fleet, serve


def test_retire_shows_retired_on_the_api_and_the_page(tmp_path, browser):
    db = make_fleet(tmp_path)
    before = db.sql("SELECT COUNT(*) FROM tess_readings_t")[0][0]
    out = db.cli("instrument", "retire", "stars3")
    assert out.stdout.startswith("retired stars3 (MAC AA:BB:CC:00:00:03) from ")
    assert db.sql("SELECT valid_state FROM name_to_mac_t WHERE name = 'stars3'") == [("Expired",)]
    assert db.sql("SELECT COUNT(*) FROM tess_readings_t")[0][0] == before  # readings kept
    s = serve(db)
    page = Page(browser)
    try:
        rows = {r["name"]: r for r in s.client.json("/api/v1/photometers")["photometers"]}
        assert rows["stars3"]["status"] == "retired" and rows["stars3"]["silent_since"] is None
        assert rows["stars3"]["place"] is not None  # still on the map, where it stood
        assert [r["name"] for r in s.client.json("/api/v1/photometers?status=retired")["photometers"]] == ["stars3"]
        assert "stars3" not in [r["name"] for r in s.client.json("/api/v1/photometers?silent=1h")["photometers"]]
        assert s.client.json("/api/v1/photometers/stars3")["status"] == "retired"
        p = page.open(s.client.base + "/")
        assert p.inner_text("#count-retired") == "1" and p.inner_text("#count-silent") == "0"
        assert p.get_attribute("#fleet tbody tr[data-name='stars3']", "data-status") == "retired"
        assert not page.errors, page.errors
    finally:
        page.close()
        s.runtime.stop()
    again = db.cli("instrument", "retire", "stars3", check=False)
    assert again.returncode == 2 and "retired or was renamed already" in again.stderr
    unknown = db.cli("instrument", "retire", "nobody9", check=False)
    assert unknown.returncode == 2 and "unknown photometer" in unknown.stderr
    future = db.cli("instrument", "retire", "stars1", "--since", "2999-01-01", check=False)
    assert future.returncode == 2 and "2999" in future.stderr and len(future.stderr.strip().splitlines()) == 1
