"""The command line: help everywhere, one-line errors, secrets hidden, plugins listed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tessdb_core.cli import main


def run(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "tessdb_core.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


@pytest.mark.parametrize("cmd", [[], ["init"], ["plugins"], ["settings", "show"], ["version"], ["ingest"],
                                 ["quarantine", "list"], ["quarantine", "replay"]])
def test_every_command_has_help(cmd, capsys):
    assert main([*cmd, "--help"]) == 0
    assert "Usage:" in capsys.readouterr().out


def test_version(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("tessdb-core ")


def test_plugins_listing_json(capsys):
    assert main(["plugins", "--json"]) == 0
    listing = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert listing["sqlite"]["state"] == "active" and "tessdb_store" in listing["sqlite"]["hooks"]


def test_settings_show_hides_secrets(tmp_path, monkeypatch):
    import os

    env = dict(os.environ, TESSDB_MQTT__PASSWORD="top-secret-pw")
    out = run("settings", "show", env=env, cwd=tmp_path)
    assert out.returncode == 0
    assert "top-secret-pw" not in out.stdout + out.stderr and 'password = "********"' in out.stdout


def test_errors_are_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[mqtt]\nport = 'abc'\n")
    out = run("--settings", str(bad), "settings", "show")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "tessdb-core: error: setting mqtt.port = 'abc' is not valid: expected an integer port 1..65535"]
    debug = run("--settings", str(bad), "--debug", "settings", "show")
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_init_refuses_a_file_that_is_not_a_database(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("hello, this is not sqlite" * 100)
    out = run("init", "--db", str(junk))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert str(junk) in out.stderr and "Traceback" not in out.stderr
