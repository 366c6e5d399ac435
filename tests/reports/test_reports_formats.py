"""`readings export --format csv|json|parquet` and `report geolist --geojson` on a database
filled by `tessdb-core ingest` (the ``ingested_db`` fixture of conftest.py)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys

import pytest

pq = pytest.importorskip("pyarrow.parquet")

from tessdb_reports.tools import EXPORT_COLUMNS, export_parquet  # noqa: E402


def parse(text: str, sep: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=sep))


def same_row(values: list, cells: list[str]) -> bool:
    """A typed row (Parquet, JSON) equals a CSV row: "" for null, the text, or the same number."""
    for v, cell in zip(values, cells, strict=True):
        if v is None:
            if cell != "":
                return False
        elif isinstance(v, str):
            if v != cell:
                return False
        elif float(cell) != v:
            return False
    return True


# -- export formats --------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", [["--all"], ["stars20"], ["stars10", "--from", "2026-10-20", "--to", "2026-10-31"]])
def test_parquet_round_trips_with_the_csv_rows(tdb, ingested_db, tmp_path, who):
    rows = parse(tdb("readings", "export", *who, "--db", ingested_db).out)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "export.parquet"
    r = tdb("readings", "export", *who, "--format", "parquet", "--out", out, "--db", ingested_db)
    assert r.code == 0, r.err
    assert r.err == f"wrote {len(rows) - 1} reading(s) to {out}\n"
    table = pq.read_table(out)
    assert table.column_names == rows[0] == list(EXPORT_COLUMNS)
    got = table.to_pylist()
    assert len(got) == len(rows) - 1 > 0
    for obj, row in zip(got, rows[1:]):
        assert same_row(list(obj.values()), row), (obj, row)
    schema = {f.name: str(f.type) for f in table.schema}
    assert schema["sequence_number"] == schema["location_id"] == "int64"
    assert schema["magnitude2"] == schema["julian_day"] == "double" and schema["name"] == "string"
    assert [f.name for f in out.parent.iterdir()] == ["export.parquet"]  # no temporary file left


def test_parquet_is_written_in_row_groups(ingested_db, queries_of, tmp_path):
    q = queries_of(ingested_db)
    out = tmp_path / "groups.parquet"
    n = export_parquet(q, None, None, None, out, show_progress=False, rows_per_group=50)
    meta = pq.ParquetFile(out).metadata
    assert n == meta.num_rows > 100 and meta.num_row_groups == -(-n // 50)
    assert pq.read_table(out).to_pylist() == [{c: r.get(c) for c in EXPORT_COLUMNS}
                                              for r in q.export_rows(None, None, None)]


def test_parquet_of_a_period_without_readings_has_the_columns(tdb, ingested_db, tmp_path):
    out = tmp_path / "empty.parquet"
    r = tdb("readings", "export", "stars10", "--from", "2025-01-01", "--to", "2025-01-31", "--format", "parquet",
            "--out", out, "--db", ingested_db)
    assert r.code == 0 and "wrote 0 reading(s)" in r.err
    table = pq.read_table(out)
    assert table.num_rows == 0 and table.column_names == list(EXPORT_COLUMNS)


def test_format_json_is_the_json_flag_and_csv_the_default(tdb, ingested_db):
    plain = tdb("readings", "export", "--all", "--db", ingested_db)
    assert tdb("readings", "export", "--all", "--format", "csv", "--db", ingested_db).out == plain.out
    lines = tdb("readings", "export", "--all", "--json", "--db", ingested_db).out
    assert tdb("readings", "export", "--all", "--format", "json", "--db", ingested_db).out == lines
    assert tdb("readings", "export", "--all", "--format", "JSON", "--json", "--db", ingested_db).out == lines
    objects = [json.loads(x) for x in lines.splitlines()]
    assert all(same_row(list(o.values()), row) for o, row in zip(objects, parse(plain.out)[1:], strict=True))


def test_the_export_has_the_location_columns(tdb, ingested_db):
    out = tdb("readings", "export", "--all", "--json", "--db", ingested_db).out
    objects = [json.loads(x) for x in out.splitlines()]
    assert {(o["place"], o["location_id"], o["town"], o["longitude"], o["latitude"]) for o in objects} == {
        ("Facultad de Fisicas", 1, "Madrid", -3.7038, 40.4168)}


@pytest.mark.parametrize("args, message", [
    (["--format", "xml"], "Invalid value for '--format'"),
    (["--format", "parquet"], "--format parquet needs --out FILE"),
    (["--format", "csv", "--json"], "--json is --format json: it cannot go with --format csv"),
    (["--format", "parquet", "--json", "--out", "x.parquet"], "--json is --format json"),
])
def test_export_bad_format(tdb, ingested_db, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    r = tdb("readings", "export", "stars10", *args, "--db", ingested_db)
    assert r.code == 2 and r.err.count("\n") == 1 and message in r.err and r.out == "", r.err
    assert sorted(tmp_path.rglob("*")) == before  # no file written


def test_parquet_without_pyarrow_names_the_extra(ingested_db, tmp_path):
    code = ("import sys\n"
            "sys.modules['pyarrow'] = None  # as if not installed: import raises ImportError\n"
            "from tessdb_core.cli import main\n"
            f"sys.exit(main(['readings', 'export', 'stars10', '--format', 'parquet', '--out', 'x.parquet', "
            f"'--db', {str(ingested_db)!r}]))\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.strip().endswith("pip install 'tessdb-core[parquet]'")
    assert "readings export --format parquet needs the optional dependency 'pyarrow'" in out.stderr
    assert not (tmp_path / "x.parquet").exists()
    # the other formats need nothing extra
    code = code.replace("'--format', 'parquet', '--out', 'x.parquet'", "'--format', 'json'")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and len(out.stdout.splitlines()) > 100, out.stderr


# -- geolist --geojson -------------------------------------------------------------------------------------
def check_feature_collection(doc: dict) -> list[dict]:
    """The structure of a GeoJSON FeatureCollection of points (RFC 7946); returns its features."""
    assert doc["type"] == "FeatureCollection" and isinstance(doc["features"], list)
    for f in doc["features"]:
        assert f["type"] == "Feature" and set(f) == {"type", "geometry", "properties"}
        geom = f["geometry"]
        assert geom["type"] == "Point" and len(geom["coordinates"]) == 2
        lon, lat = geom["coordinates"]
        assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lon, lat))
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        assert isinstance(f["properties"], dict)
    return doc["features"]


def test_geolist_geojson_is_a_feature_collection(tdb, ingested_db):
    r = tdb("report", "geolist", "--geojson", "--db", ingested_db)
    assert r.code == 0 and r.err == "", r.err
    features = check_feature_collection(json.loads(r.out))
    assert [f["geometry"]["coordinates"] for f in features] == [[-3.7038, 40.4168]] * 2
    assert [f["properties"] for f in features] == [
        {"name": "stars10", "mac_address": "AA:BB:CC:DD:EE:10", "model": "TESS-W", "location_id": 1,
         "place": "Facultad de Fisicas", "town": "Madrid"},
        {"name": "stars20", "mac_address": "AA:BB:CC:DD:EE:20", "model": "TESS4C", "location_id": 1,
         "place": "Facultad de Fisicas", "town": "Madrid"}]


def test_geolist_geojson_leaves_out_instruments_without_coordinates(tdb, ingested_db):
    conn = sqlite3.connect(ingested_db)
    conn.execute("UPDATE tess_t SET location_id = -1 WHERE mac_address = 'AA:BB:CC:DD:EE:20'")
    conn.commit()
    conn.close()
    r = tdb("report", "geolist", "--geojson", "--db", ingested_db)
    assert r.code == 0
    features = check_feature_collection(json.loads(r.out))
    assert [f["properties"]["name"] for f in features] == ["stars10"]
    assert r.err == "note: 1 instrument(s) without coordinates left out: stars20\n"
    conn = sqlite3.connect(ingested_db)
    conn.execute("UPDATE tess_t SET location_id = -1")
    conn.commit()
    conn.close()
    r = tdb("report", "geolist", "--geojson", "--db", ingested_db)
    assert r.code == 0 and json.loads(r.out) == {"type": "FeatureCollection", "features": []}
    assert r.err.count("\n") == 1 and "2 instrument(s) without coordinates" in r.err


def test_geolist_json_and_geojson_together(tdb, ingested_db):
    r = tdb("report", "geolist", "--json", "--geojson", "--db", ingested_db)
    assert r.code == 2 and r.err.count("\n") == 1 and "choose one of --json and --geojson" in r.err
