"""The example third-party plugin, installed with pip, working through the pipeline."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cli_runner import Cli, envelope, write_jsonl

from .conftest import REPO

REGISTER = envelope("STARS4ALL/register", {"name": "stars1", "mac": "AA:BB:CC:DD:EE:01", "calib": 20.5},
                    received="2026-11-30T00:00:00Z")


@pytest.fixture(scope="module")
def example_path(tmp_path_factory) -> str:
    """pip-install examples/tessdb-example into its own folder (the test environment's path)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(REPO / "examples" / "tessdb-example")], check=True,
                   capture_output=True, timeout=300)
    return str(target)


def test_example_plugin_is_listed_and_decodes_its_format(tmp_path, example_path):
    cli = Cli(tmp_path, example_path)
    listing = {p["name"]: p for p in cli.json("plugins")}
    assert listing["example"]["distribution"] == "tessdb-example"
    assert listing["example"]["version"] == "1.0.0" and listing["example"]["state"] == "active"
    assert "tessdb_decode" in listing["example"]["hooks"] and "tessdb_filters" in listing["example"]["hooks"]
    cli("init")
    data = write_jsonl(tmp_path / "in.jsonl", [
        REGISTER,
        envelope("EXAMPLE/stars1/csv", "1,12.5,20.25,10.0,-5.0", "2026-11-30T01:00:00Z"),
        envelope("EXAMPLE/stars1/csv", "2,12.6,20.26,10.0,-5.0", "2026-11-30T01:01:00Z"),
        envelope("EXAMPLE/stars1/csv", "3,oops,20.26,10.0,-5.0", "2026-11-30T01:02:00Z"),
    ])
    stats = cli.json("ingest", str(data))
    assert stats["quarantined"] == {"wrong_type": 1}
    rows = cli.db().execute("SELECT sequence_number, magnitude, units_id FROM tess_readings_t "
                            "ORDER BY sequence_number").fetchall()
    assert [tuple(r) for r in rows] == [(1, 20.25, 2), (2, 20.26, 2)]
    assert cli.json("quarantine", "list")[0]["plugin"] == "example"
    assert cli.json("example", "csv-photometers") == [{"name": "stars1", "topic": "EXAMPLE/stars1/csv"}]
    assert cli("example", "csv-photometers", "--csv").stdout == "name,topic\nstars1,EXAMPLE/stars1/csv\n"


def test_example_filter_replaces_the_default_filters(tmp_path, example_path):
    cli = Cli(tmp_path, example_path)
    (tmp_path / "site.toml").write_text('[plugins]\ndisabled = ["tess_filters"]\n[filter]\nchain = ["saturation"]\n')
    listing = {p["name"]: p["state"] for p in cli.json("--settings", "site.toml", "plugins")}
    assert listing["tess_filters"] == "blocked" and listing["example"] == "active"
    cli("init")
    mags = [20.0, 20.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 19.0, 19.5]
    lines = [REGISTER] + [
        envelope("STARS4ALL/stars1/reading", {"name": "stars1", "seq": i, "freq": 10.0, "mag": m, "tamb": 1.0,
                                              "tsky": -1.0, "wdBm": -60}, f"2026-11-30T01:{i:02d}:00Z")
        for i, m in enumerate(mags)]
    stats = cli.json("--settings", "site.toml", "ingest", str(write_jsonl(tmp_path / "in.jsonl", lines)))
    # the saturation filter drops every zero at once; the default look-ahead would have kept 3 on each side
    assert stats["filter"]["dropped"] == {"saturation": 8}
    seqs = [r[0] for r in cli.db().execute("SELECT sequence_number FROM tess_readings_t ORDER BY date_id, time_id")]
    assert seqs == [0, 1, 10, 11]
