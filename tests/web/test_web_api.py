"""The public JSON API over a real SQLite fleet, served by the listener on 127.0.0.1: the fleet
view, GeoJSON, one photometer, its readings (JSON and CSV, streamed), ETag and gzip, and the
OpenAPI document that lists exactly the routes served."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import timedelta

from .conftest import EMAIL, HTML_NAME


def test_fleet_rows_have_the_public_fields_and_statuses(served):
    data = served.client.json("/api/v1/photometers")
    rows = {r["name"]: r for r in data["photometers"]}
    assert set(rows) == {"stars1", "stars2", "stars3", "stars4"}
    assert [rows[n]["status"] for n in ("stars1", "stars2", "stars3", "stars4")] == ["live", "live", "silent", "never"]
    assert data["counts"] == {"live": 2, "silent": 1, "never": 1, "retired": 0} and data["total"] == 4
    one = rows["stars1"]
    assert (one["place"], one["town"], one["country"]) == ("Observatorio del Teide", "La Laguna", "Spain")
    assert abs(one["longitude"] - -16.51) < 1e-9 and abs(one["latitude"] - 28.30) < 1e-9
    assert one["model"] == "TESS-W" and one["nchannels"] == 1 and len(one["magnitudes"]) == 1
    assert 19.0 <= one["magnitudes"][0] <= 21.5
    silent = rows["stars3"]
    assert silent["silent_since"] == silent["newest"] and silent["newest"] is not None
    assert rows["stars4"]["newest"] is None and rows["stars4"]["magnitudes"] == []
    assert rows["stars3"]["place"] == HTML_NAME  # data as it is; the page shows it as text


def test_fleet_filters(served):
    get = lambda q: sorted(r["name"] for r in served.client.json("/api/v1/photometers" + q)["photometers"])  # noqa: E731
    assert get("?status=silent") == ["stars3"]
    assert get("?status=live,never") == ["stars1", "stars2", "stars4"]
    assert get("?silent=3h") == ["stars3", "stars4"]
    assert get("?silent=6h") == ["stars4"]
    assert get("?country=portugal") == ["stars3"]
    assert get("?country=Spain&status=live") == ["stars1", "stars2"]


def test_geojson_features_match_the_rows(served):
    rows = {r["name"]: r for r in served.client.json("/api/v1/photometers")["photometers"]}
    status, headers, body = served.client.request("/api/v1/photometers.geojson")
    assert status == 200 and headers["content-type"].startswith("application/geo+json")
    geo = json.loads(body)
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 4
    for f in geo["features"]:
        row = rows[f["id"]]
        assert f["geometry"] == {"type": "Point", "coordinates": [row["longitude"], row["latitude"]]}
        assert f["properties"] == {k: v for k, v in row.items() if k not in ("longitude", "latitude")}


def test_one_photometer_has_its_site_and_history(served):
    d = served.client.json("/api/v1/photometers/stars2")
    assert d["name"] == "stars2" and d["status"] == "live"
    assert d["site"] == {"place": "Facultad de Fisicas", "town": "Madrid", "country": "Spain",
                         "longitude": d["longitude"], "latitude": d["latitude"]}
    assert d["versions"] and d["versions"][-1]["zp"] == [20.51] and d["versions"][-1]["until"] is None
    assert d["versions"][-1]["mac_address"] == "AA:BB:CC:00:00:02"
    assert d["mappings"][-1]["mac_address"] == "AA:BB:CC:00:00:02"


def test_readings_json_and_csv_agree_and_respect_the_window(served):
    now = served.db.now
    since, until = now - timedelta(hours=3), now
    q = f"from={since:%Y-%m-%dT%H:%M:%S}Z&to={until:%Y-%m-%dT%H:%M:%S}Z"
    data = served.client.json(f"/api/v1/photometers/stars1/readings?{q}")
    assert data["columns"][:4] == ["timestamp", "sequence_number", "frequency", "magnitude"]
    rows = data["rows"]
    assert 30 <= len(rows) <= 40  # every 5 minutes for 3 hours, up to 2 minutes ago
    stamps = [r[0] for r in rows]
    assert stamps == sorted(stamps) and stamps[0] >= f"{since:%Y-%m-%dT%H:%M:%S}Z"
    # each reading with its sky context, as the sky library computes it for that site and time
    from tessdb_sky.api import CLOUD_STATES, CONTEXT_COLUMNS, SKY_STATES, sky_context
    import numpy as np

    assert data["columns"][-len(CONTEXT_COLUMNS):] == list(CONTEXT_COLUMNS)
    col = {c: i for i, c in enumerate(data["columns"])}
    first = rows[0]
    ctx = sky_context(np.array([first[0][:-1]], dtype="datetime64[ns]"), -16.51, 28.30)
    assert abs(first[col["sun_alt"]] - float(ctx.sun_alt[0])) < 0.01
    assert abs(first[col["moon_alt"]] - float(ctx.moon_alt[0])) < 0.01
    assert all(r[col["sky_state"]] in SKY_STATES and r[col["clouds"]] in CLOUD_STATES for r in rows)
    status, headers, body = served.client.request(f"/api/v1/photometers/stars1/readings?{q}&format=csv")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(body.decode())))
    assert table[0] == data["columns"] and len(table) - 1 == len(rows)
    assert [float(x) for x in table[1][2:4]] == rows[0][2:4]


def test_etag_and_gzip(served):
    status, headers, body = served.client.request("/api/v1/photometers", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip"
    assert json.loads(gzip.decompress(body))["total"] == 4
    tag = headers["etag"]
    status, _h, body = served.client.request("/api/v1/photometers", headers={"If-None-Match": tag})
    assert status == 304 and body == b""
    status, _h, _b = served.client.request("/api/v1/photometers", headers={"If-None-Match": '"other"'})
    assert status == 200


def test_the_openapi_document_lists_every_route(served):
    from starlette.routing import Route

    doc = served.client.json("/api/v1/openapi.json")
    assert doc["openapi"].startswith("3.")
    app = served.runtime.app.app  # inside the read-only guard
    served_paths = {r.path for r in app.routes if isinstance(r, Route) and r.path.startswith("/api/")}
    assert served_paths == set(doc["paths"])
    for path, item in doc["paths"].items():
        assert set(item) == {"get"} and item["get"]["responses"]["200"]


def test_the_page_and_its_files_come_from_the_package(served):
    status, headers, body = served.client.request("/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    page = body.decode()
    for src in ("/static/vendor/leaflet/leaflet.js", "/static/vendor/markercluster/leaflet.markercluster.js",
                "/static/app.js", "/static/app.css"):
        assert src in page
        assert served.client.request(src)[0] == 200
    assert "http://" not in page and "https://" not in page  # nothing from elsewhere
    status, _h, body = served.client.request("/static/vendor/world-atlas/countries.geojson")
    assert status == 200 and len(json.loads(body)["features"]) > 200
    assert EMAIL not in page
