"""Settings layers, validators naming key/value/expectation, secrets never shown."""

from __future__ import annotations

import os

import pytest

from tessdb_core import settings as s
from tessdb_core.settings import Setting, SettingsError, SettingsSection


def write(path, text):
    path.write_text(text)
    return path


def test_defaults_and_environments():
    st = s.load(environ={})
    assert st.mqtt.port == 1883 and st.dbase.url == "tess.db" and st.filter.depth == 7
    prod = s.load(env="production", environ={})
    assert prod.dbase.url == "/var/dbase/tess.db" and prod.mqtt.port == 1883
    assert s.load(environ={"TESSDB_ENV": "production"}).dbase.url == "/var/dbase/tess.db"


def test_snapshot_is_immutable():
    st = s.load(environ={})
    with pytest.raises(TypeError):
        st.mqtt.port = 1
    with pytest.raises(TypeError):
        st.mqtt["port"] = 1


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("TESSDB_MQTT__PORT", "1999")
    monkeypatch.setenv("TESSDB_FILTER__DISABLED_FOR", '["stars1"]')
    st = s.load()
    assert st.mqtt.port == 1999 and st.filter.disabled_for == ("stars1",)


def test_settings_file_flat_and_by_environment(tmp_path, monkeypatch):
    flat = write(tmp_path / "a.toml", "[mqtt]\nhost = 'broker.local'\n[filter.divisor]\nstars1 = 2\n")
    st = s.load(flat, environ={})
    assert st.mqtt.host == "broker.local" and st.get("filter.divisor.stars1") == 2
    assert st.mqtt.port == 1883  # untouched keys keep their defaults
    envs = write(tmp_path / "b.toml", "[default.mqtt]\nport = 1900\n[production.mqtt]\nport = 1901\n")
    assert s.load(envs, environ={}).mqtt.port == 1900
    assert s.load(envs, env="production", environ={}).mqtt.port == 1901
    monkeypatch.setenv("TESSDB_MQTT__PORT", "1902")  # environment beats the file
    assert s.load(envs).mqtt.port == 1902


@pytest.mark.parametrize("text, message", [
    ("[mqtt]\nport = 'abc'\n", "setting mqtt.port = 'abc' is not valid: expected an integer port 1..65535"),
    ("[mqtt]\nport = 70000\n", "setting mqtt.port = 70000 is not valid: expected an integer port 1..65535"),
    ("[dbase]\nbuffer_size = 0\n", "setting dbase.buffer_size = 0 is not valid"),
    ("[logs]\nlevel = 'loud'\n", "setting logs.level = 'loud' is not valid: expected one of"),
    ("[filter]\ndepth = 8\n", "setting filter.depth = 8 is not valid"),
    ("[nosuch]\nx = 1\n", "unknown section [nosuch]"),
    ("[mqtt]\nprot = 1\n", "unknown key mqtt.prot"),
    ("[mqtt.tls]\nenabledd = true\n", "unknown key mqtt.tls.enabledd (known: ca, certfile, enabled, keyfile)"),
    ("[mqtt.port]\nx = 1\n", "unknown key mqtt.port.x (mqtt.port takes a value, not a table)"),
    ("[mqtt.password]\nx = 'hunter2-in-a-table'\n", "unknown key mqtt.password.x"),
    ("[mqtt\nport = 1\n", "is not valid TOML"),
])
def test_bad_settings_name_the_key_value_and_expectation(tmp_path, text, message):
    from tessdb_core import app

    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(SettingsError) as err:
        app.create(str(path), configure_logs=False)
    assert message in str(err.value) and "hunter2" not in str(err.value)
    if "unknown" in message or "TOML" in message:
        assert str(path) in str(err.value)


def test_bad_environment_variable_is_named():
    with pytest.raises(SettingsError, match="TESSDB_NOSUCH__X: unknown section"):
        s.load(environ={"TESSDB_NOSUCH__X": "1"})
    with pytest.raises(SettingsError, match="unknown settings environment 'staging'"):
        s.load(env="staging", environ={})


@pytest.mark.parametrize("var, message", [
    ("TESSDB_MQTT__PROT", "environment variable TESSDB_MQTT__PROT: unknown setting mqtt.prot (known: client_id, "),
    ("TESSDB_MQTT__TLS__ENABLEDD", "TESSDB_MQTT__TLS__ENABLEDD: unknown setting mqtt.tls.enabledd "
                                   "(known: ca, certfile, enabled, keyfile)"),
    ("TESSDB_MQTT__PORT__X", "TESSDB_MQTT__PORT__X: unknown setting mqtt.port.x (mqtt.port takes a value"),
    ("TESSDB_MQTT__PASSWORD__X", "TESSDB_MQTT__PASSWORD__X: unknown setting mqtt.password.x"),
    ("TESSDB_MQTT__", "TESSDB_MQTT__: unknown setting mqtt."),
    ("TESSDB_MQTT_PORT", "TESSDB_MQTT_PORT: not a setting; did you mean TESSDB_MQTT__PORT?"),
    ("TESSDB_MQTT", "TESSDB_MQTT: a section is set key by key, as TESSDB_MQTT__<KEY>"),
])
def test_unknown_keys_in_the_environment_are_refused_naming_the_variable(var, message):
    with pytest.raises(SettingsError) as err:
        s.load(environ={var: "1"})
    assert message in str(err.value) and len(str(err.value).splitlines()) == 1


TOY = SettingsSection("toy", "A plugin's section.", (
    Setting("level", 1, "A level.", "an integer", s.is_int(), reloadable=True),
    Setting("nested.depth", 2, "A depth.", "an integer", s.is_int()),
))


def test_open_tables_plugin_keys_and_other_variables_are_let_through(tmp_path):
    ok = write(tmp_path / "ok.toml", "[filter.divisor]\nstars2 = 2\n[logs.photometers]\nstars1 = 'debug'\n")
    assert s.load(ok, environ={}).get("filter.divisor.stars2") == 2
    st = s.load(sections=[TOY], environ={
        "TESSDB_FILTER__DIVISOR__STARS1": "3", "TESSDB_LOGS__NAMESPACES__MQTT": "debug",  # open tables
        "TESSDB_TOY__LEVEL": "5", "TESSDB_TOY__NESTED__DEPTH": "4",  # a plugin's keys
        "TESSDB_ENV": "production", "TESSDB_SETTINGS": "/nowhere.toml", "TESSDB_PG_BIN": "/usr/bin",  # not settings
    })
    assert st.get("filter.divisor.stars1") == 3 and st.get("logs.namespaces.mqtt") == "debug"
    assert st.toy.level == 5 and st.get("toy.nested.depth") == 4 and st.dbase.url == "/var/dbase/tess.db"
    with pytest.raises(SettingsError, match="TESSDB_TOY__LEVELL: unknown setting toy.levell"):
        s.load(sections=[TOY], environ={"TESSDB_TOY__LEVELL": "5"})
    with pytest.raises(SettingsError, match="setting toy.level = 'x' is not valid: expected an integer"):
        s.load(sections=[TOY], environ={"TESSDB_TOY__LEVEL": "x"})


def test_development_environment(tmp_path):
    envs = write(tmp_path / "e.toml", "[default.mqtt]\nport = 1900\n[development.mqtt]\nport = 1902\n")
    assert s.load(envs, env="development", environ={}).mqtt.port == 1902
    assert s.load(envs, environ={"TESSDB_ENV": "development"}).dbase.url == "tess.db"


def test_secrets_file_and_redaction(tmp_path):
    cfg = write(tmp_path / "site.toml", "[mqtt]\nusername = 'tess'\n")
    write(tmp_path / ".secrets.toml", "[mqtt]\npassword = 's3cret'\n")
    st = s.load(cfg, environ={})
    assert st.mqtt.password == "s3cret"
    shown = st.redacted()
    assert shown["mqtt"]["password"] == s.REDACTED and "s3cret" not in repr(shown)


def test_dynaconf_tokens_are_read_and_its_merge_markers_refused_naming_the_place(tmp_path):
    # the values are parsed by dynaconf as its loaders would, though the layers are merged here
    path = write(tmp_path / "tokens.toml", "[mqtt]\nport = '@int 1902'\nhost = '@format {env[HOME]}-broker'\n")
    st = s.load(path, environ={"TESSDB_MQTT__KEEPALIVE": "@int 30", "TESSDB_FILTER__DISABLED_FOR": "['stars1']"})
    assert st.mqtt.port == 1902 and st.mqtt.host == f"{os.environ['HOME']}-broker" and st.mqtt.keepalive == 30
    assert st.filter.disabled_for == ("stars1",)  # a list given replaces the default
    with pytest.raises(SettingsError) as err:
        s.load(environ={"TESSDB_FILTER__DISABLED_FOR": '@merge ["stars2"]'})
    assert str(err.value).startswith("environment variable TESSDB_FILTER__DISABLED_FOR: dynaconf's @merge")
    assert len(str(err.value).splitlines()) == 1
    bad = write(tmp_path / "merge.toml", "[filter]\ndisabled_for = '@merge stars2'\n")
    with pytest.raises(SettingsError) as err:
        s.load(bad, environ={})
    assert str(err.value).startswith(f"settings file {bad}: setting filter.disabled_for: dynaconf's @merge")


def test_a_full_load_runs_every_validator_and_names_every_bad_key_in_order(tmp_path):
    path = write(tmp_path / "bad.toml", "[mqtt]\nport = 'abc'\n[filter]\ndepth = 8\n[logs]\nlevel = 'loud'\n")
    with pytest.raises(SettingsError) as err:
        s.load(path, environ={"TESSDB_MQTT__PASSWORD": "hunter2-secret"})
    keys = [part.split(" ")[1] for part in str(err.value).split("; ")]
    assert keys == ["mqtt.port", "filter.depth", "logs.level"] and "hunter2" not in str(err.value)
