"""``tessdb-core simulate``: the JSON Lines output stored by ``ingest``, bad arguments, bench/fleet.py."""

from __future__ import annotations

import json
import socket
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tessdb_core.jsonl import envelope

from .sim_helpers import run_cli

REPO = Path(__file__).resolve().parents[2]
NIGHT = ("--start", "2026-11-30T12:00:00Z")


def test_out_file_is_offline_ingest_format(tmp_path):
    out = run_cli("simulate", "--photometers", "5", "--readings", "50", "--out", "f.jsonl", "--seed", "3", *NIGHT,
                  cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "wrote 55 messages to f.jsonl" in out.stdout
    lines = (tmp_path / "f.jsonl").read_bytes().splitlines()
    assert len(lines) == 55
    for line in lines:
        d = json.loads(line)
        assert set(d) == {"topic", "payload", "received", "retain"} and d["retain"] is False
        assert isinstance(d["payload"], str) and d["received"].endswith("Z")
        msg = envelope(line, datetime(2000, 1, 1))
        assert msg.received.year == 2026
    again = run_cli("simulate", "--photometers", "5", "--readings", "50", "--out", "g.jsonl", "--seed", "3", *NIGHT,
                    cwd=tmp_path)
    assert (tmp_path / "g.jsonl").read_bytes() == (tmp_path / "f.jsonl").read_bytes(), again.stderr


def test_out_then_init_and_ingest_stores_readings(tmp_path):
    out = run_cli("simulate", "--photometers", "20", "--duration", "24h", "--out", "fleet.jsonl",
                  "--tess4c-share", "0.2", "--malformed-rate", "0.01", "--json", *NIGHT, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["readings"] + summary["malformed"] == 20 * 1440
    assert run_cli("init", cwd=tmp_path).returncode == 0
    ingest = run_cli("ingest", "fleet.jsonl", "--json", "--no-progress", cwd=tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    stats = json.loads(ingest.stdout)
    assert stats["mqtt"]["num_published"] == summary["messages"]
    assert stats["dbase_register"]["num_created"] == 20
    assert stats["dbase_readings"]["rej_not_registered"] == 0
    assert stats["quarantined"] == {k: v for k, v in summary["by_kind"].items()
                                    if k in ("bad_json", "missing_field", "wrong_type", "bad_mac") and v}
    with sqlite3.connect(tmp_path / "tess.db") as db:
        w = db.execute("SELECT COUNT(*), MAX(magnitude) FROM tess_readings_t").fetchone()
        c = db.execute("SELECT COUNT(*), MAX(mag4) FROM tess_readings4c_t").fetchone()
        units = {r[0] for r in db.execute("SELECT DISTINCT units_id FROM tess_readings_t")}
        instruments = db.execute("SELECT model, COUNT(*) FROM tess_t WHERE valid_state = 'Current' "
                                 "AND tess_id > 0 GROUP BY model").fetchall()
    assert w[0] > 16 * 600 and 17 <= w[1] <= 21.5
    assert c[0] > 4 * 600 and c[1] > 17
    assert w[0] + c[0] == stats["stored"]
    assert units == {3}  # Publisher timestamps, Imported
    assert dict(instruments)["TESS4C"] == 4


@pytest.mark.parametrize("args, message", [
    (("--photometers", "0", "--readings", "5"), "--photometers must be between 1"),
    (("--readings", "5"), "--photometers is required"),
    (("--photometers", "2", "--readings", "0", "--out", "x.jsonl"), "--readings must be at least 1"),
    (("--photometers", "2", "--duration", "soon", "--out", "x.jsonl"), "--duration must be a positive number"),
    (("--photometers", "2", "--duration", "1h", "--readings", "3", "--out", "x.jsonl"), "not both"),
    (("--photometers", "2", "--out", "x.jsonl"), "--out needs --duration or --readings"),
    (("--photometers", "2", "--readings", "3", "--tess4c-share", "1.5", "--out", "x.jsonl"), "--tess4c-share"),
    (("--photometers", "2", "--readings", "3", "--malformed-rate", "-1", "--out", "x.jsonl"), "--malformed-rate"),
    (("--photometers", "2", "--readings", "3", "--rate", "0"), "--rate must be a positive"),
    (("--photometers", "2", "--readings", "3", "--speed", "-2"), "--speed must be a positive"),
    (("--photometers", "2", "--readings", "3", "--qos", "3"), "--qos must be 0, 1 or 2"),
    (("--photometers", "2", "--readings", "3", "--start", "yesterday", "--out", "x.jsonl"), "--start must be"),
    (("--photometers", "2", "--readings", "3", "--broker", "localhost"), "--broker must be HOST:PORT"),
    (("--photometers", "2", "--readings", "3", "--broker", "127.0.0.1:70000"), "--broker must be HOST:PORT"),
    (("--photometers", "2", "--readings", "3", "--username", "u", "--password-env", "TESSDB_SIM_NO_SUCH_VAR",
      "--broker", "127.0.0.1:1883"), "TESSDB_SIM_NO_SUCH_VAR is not set"),
    (("--photometers", "2", "--readings", "3", "--out", "no/such/dir/x.jsonl"), "cannot write no/such/dir/x.jsonl"),
    (("--photometers", "2", "--readings", "3", "--out", "x.jsonl", "--broker", "127.0.0.1:1883"), "--out writes"),
])
def test_bad_arguments_one_line_error(tmp_path, args, message):
    out = run_cli("simulate", *args, cwd=tmp_path)
    assert out.returncode == 2, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tessdb-core: error: "), out.stderr
    assert message in lines[0]
    assert not (tmp_path / "x.jsonl").exists()


def test_a_broker_that_refuses_the_connection(tmp_path):
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = run_cli("simulate", "--photometers", "2", "--readings", "3", "--broker", f"127.0.0.1:{port}",
                  cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == f"tessdb-core: error: cannot connect to the MQTT broker 127.0.0.1:{port}: " \
                                 "Connection refused"


def test_help_lists_the_command(tmp_path):
    out = run_cli("--help", cwd=tmp_path)
    assert "simulate" in out.stdout
    out = run_cli("simulate", "--help", cwd=tmp_path)
    assert out.returncode == 0 and "--tess4c-share" in out.stdout and "--password-env" in out.stdout


def test_bench_fleet_wrapper_keeps_its_interface(tmp_path):
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from fleet import START, generate
    finally:
        sys.path.remove(str(REPO / "bench"))
    lines = list(generate(300, 10, START, 1))
    readings = [json.loads(line) for line in lines if json.loads(line)["topic"].endswith("/reading")]
    assert len(readings) == 300
    assert lines == list(generate(300, 10, START, 1))
    assert all(isinstance(json.loads(line)["payload"], str) for line in lines)
    import subprocess

    out = subprocess.run([sys.executable, str(REPO / "bench" / "fleet.py"), "--readings", "20", "--photometers", "4",
                          "--out", str(tmp_path / "b.jsonl")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert len((tmp_path / "b.jsonl").read_text().splitlines()) == 24
