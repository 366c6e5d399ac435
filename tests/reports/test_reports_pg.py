"""The report tools give the same output on PostgreSQL as on SQLite: the same captures fed
by `tessdb-core ingest` to a SQLite file (``ingested_db``) and to a PostgreSQL database
(a real server, ``tests/pgserver.py``), then every new option of `report daily`,
`readings export`, `report geolist` and `report nights` run on both."""

from __future__ import annotations

import json

import psycopg
import pytest

from pgserver import PgServer
from report_data import MADRID


@pytest.fixture(scope="module")
def pg_server(request) -> PgServer:
    """A PostgreSQL server of this module's own (the name marks the tests `postgres`)."""
    server = PgServer().start()
    request.addfinalizer(server.stop)
    return server


@pytest.fixture
def pg_db(pg_server, ingested_db, tdb, tmp_path) -> str:
    """A PostgreSQL database fed the captures ``ingested_db`` was fed (its regs.jsonl and
    feed.jsonl), the instruments at Madrid."""
    url = pg_server.fresh_database("reports")
    assert tdb("init", "--db", url).code == 0
    assert tdb("ingest", tmp_path / "regs.jsonl", "--db", url).code == 0
    cols = ("location_id, longitude, latitude, elevation, place, town, sub_region, region, country, timezone, "
            "contact_name, contact_email, organization")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO location_t ({cols}) VALUES ({', '.join(['%s'] * 13)})", MADRID)
        conn.execute("UPDATE tess_t SET location_id = 1")
    r = tdb("ingest", tmp_path / "feed.jsonl", "--db", url)
    assert r.code == 0, r.err
    return url


@pytest.mark.parametrize("args", [
    ("report", "daily", "--from", "2026-10-01", "--to", "2026-11-30", "--json"),
    ("report", "daily", "--from", "2026-10-01", "--to", "2026-11-30", "--by", "mac", "--csv"),
    ("report", "daily", "--from", "2026-10-01", "--to", "2026-11-30", "--night"),
    ("report", "daily", "stars20", "--from", "2026-10-01", "--night", "--by", "name", "--csv"),
    ("report", "daily", "--from", "2025-10-01"),  # no readings: the same one line, exit 2
    ("report", "geolist", "--json"),
    ("readings", "export", "--all"),
    ("readings", "export", "--all", "--json"),
    ("readings", "export", "stars20", "--json", "--from", "2026-10-20"),
    ("readings", "export", "--all", "--context"),  # the sky context: computed after the query
    ("readings", "export", "stars10", "--format", "ecsv"),
    ("report", "nights", "--all", "--from", "2026-10-01", "--to", "2026-11-30", "--json"),
    ("report", "nights", "stars10", "--from", "2025-10-01", "--to", "2025-10-02"),  # an empty period: one line, exit 2
])
def test_the_same_output_on_both_stores(tdb, ingested_db, pg_db, args):
    lite, pg = tdb(*args, "--db", ingested_db), tdb(*args, "--db", pg_db)
    assert (lite.code, lite.out) == (pg.code, pg.out), args
    pg_err = "".join(line for line in pg.err.splitlines(keepends=True) if "fsync = off" not in line)
    assert lite.err == pg_err, args  # the test server's durability warning aside
    if args[1] in ("daily", "nights") and lite.code == 0:
        assert lite.out.strip()
    if "--json" in args and args[0] == "readings":
        assert all(json.loads(line)["name"] for line in pg.out.splitlines())
