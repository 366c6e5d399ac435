"""The deployment examples are valid: their settings load, their variables name real keys."""

from __future__ import annotations

from pathlib import Path

from tessdb_core import settings as s

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_settings_example_loads_in_production():
    st = s.load(DEPLOY / "settings.toml.example", env="production", environ={})
    assert st.dbase.url == "/var/dbase/tess.db" and st.dbase.auth_filter is True
    assert st.logs.file == "/var/log/tessdb/tessdb.log"


def test_env_example_names_valid_settings():
    env = dict(line.split("=", 1) for line in (DEPLOY / "tessdb.env.example").read_text().splitlines()
               if line and not line.startswith("#"))
    assert set(env) >= {"TESSDB_MQTT__PASSWORD", "TESSDB_HTTP__TOKEN"}
    known = s.settings_schema().defaults()
    for var in env:
        section, key = var.removeprefix("TESSDB_").lower().split("__")
        assert key in known[section], f"{var} names no setting"


def test_systemd_unit_reloads_by_sighup_and_stops_by_sigterm():
    unit = (DEPLOY / "tessdb-core.service").read_text()
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit and "KillSignal=SIGTERM" in unit
    assert "Restart=on-failure" in unit and " run" in unit.split("ExecStart=")[1].splitlines()[0]
