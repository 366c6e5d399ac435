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


def test_user_errors_are_one_line_exit_2_and_bugs_are_internal_exit_3(capsys):
    from tessdb_core.cli import cli, main
    from tessdb_core import NotFound, pass_app

    @cli.command("t-missing")
    @pass_app
    def missing(app):
        raise NotFound("no photometer stars9 in " + str(app.settings.dbase.url))

    @cli.command("t-bug")
    def bug():
        {}["oops"]  # a KeyError is a bug, not the user's to fix

    try:
        assert main(["t-missing"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == ["tessdb-core: error: no photometer stars9 in tess.db"]
        assert main(["t-bug"]) == 3
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("tessdb-core: internal error: KeyError") and "--debug" in err[0]
        assert main(["quarantine", "show"]) == 2  # click's own usage error, in the same one-line form
        err = capsys.readouterr().err.strip().splitlines()
        assert err == ["tessdb-core: error: Missing argument 'ENTRY_ID'. (see `tessdb-core quarantine show --help`)"]
    finally:
        for name in ("t-missing", "t-bug"):
            cli.commands.pop(name, None)


def test_version_lists_every_plugin(capsys):
    from tessdb_core.cli import main

    assert main(["version"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("tessdb-core ")
    listed = {line.split(":")[0].strip() for line in out[1:]}
    assert {"sqlite", "tess_decode", "reports", "maintenance", "alarms"} <= listed
