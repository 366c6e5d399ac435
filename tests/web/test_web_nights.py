"""The night summaries on the public listener (``tessdb_reports.nights``, with the sky library):
one photometer's nights and every photometer's summary of one night agree with the function
itself on the same database, bad dates are 400, and the page lists them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

pytest.importorskip("tessdb_reports.nights", reason="the night summaries (tessdb_reports.nights) are not installed")


def test_nights_agree_with_night_summaries(served, page):
    from tessdb_reports.nights import NIGHT_COLUMNS, night_summaries

    q = served.runtime.reader.q
    today = served.db.now.date()
    first = today - timedelta(days=3)
    expected = list(night_summaries(q, ["stars1"], first, today))
    assert expected  # the positive control: the fleet has nights with readings
    got = served.client.json(f"/api/v1/photometers/stars1/nights?from={first}&to={today}")
    assert got["columns"] == list(NIGHT_COLUMNS) and got["nights"] == expected
    night = expected[-1]["night"]
    every = served.client.json(f"/api/v1/nights/{night}")
    assert {r["name"] for r in every["nights"]} >= {"stars1", "stars2"}
    assert [r for r in every["nights"] if r["name"] == "stars1"] == [r for r in expected if r["night"] == night]
    for path, fragment in ((f"/api/v1/photometers/stars1/nights?from={today}&to={first}", "from must not be after to"),
                           (f"/api/v1/photometers/stars1/nights?from={today - timedelta(days=400)}&to={today}",
                            "at most 366"),
                           ("/api/v1/nights/2026-02-30", "the night must be a date"),
                           ("/api/v1/photometers/stars1/nights?from=yesterday", "from must be a date")):
        status, _h, body = served.client.request(path)
        assert status == 400 and fragment in body.decode(), (path, body)
    p = page.open(served.client.base + "/")
    p.locator("#fleet tbody tr[data-name='stars1']").click()
    p.wait_for_selector("#detail[data-nights]")
    assert int(p.get_attribute("#detail", "data-nights")) == len(served.client.json(
        "/api/v1/photometers/stars1/nights")["nights"]) == p.locator("#detail-nights tr").count() > 0
    p.evaluate("() => document.getElementById('detail').scrollTop = 1000")
    page.screenshot("web-nights.png")
    assert not page.errors, page.errors
