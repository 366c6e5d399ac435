"""Settings layers, validators naming key/value/expectation, secrets never shown."""

from __future__ import annotations

import pytest

from tessdb_core import settings as s
from tessdb_core.settings import SettingsError


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
    ("[mqtt\nport = 1\n", "is not valid TOML"),
])
def test_bad_settings_name_the_key_value_and_expectation(tmp_path, text, message):
    from tessdb_core import app

    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(SettingsError) as err:
        app.create(str(path), configure_logs=False)
    assert message in str(err.value)
    if "unknown" in message or "TOML" in message:
        assert str(path) in str(err.value)


def test_bad_environment_variable_is_named():
    with pytest.raises(SettingsError, match="TESSDB_NOSUCH__X: unknown section"):
        s.load(environ={"TESSDB_NOSUCH__X": "1"})
    with pytest.raises(SettingsError, match="unknown settings environment 'staging'"):
        s.load(env="staging", environ={})


def test_secrets_file_and_redaction(tmp_path):
    cfg = write(tmp_path / "site.toml", "[mqtt]\nusername = 'tess'\n")
    write(tmp_path / ".secrets.toml", "[mqtt]\npassword = 's3cret'\n")
    st = s.load(cfg, environ={})
    assert st.mqtt.password == "s3cret"
    shown = st.redacted()
    assert shown["mqtt"]["password"] == s.REDACTED and "s3cret" not in repr(shown)


def test_every_key_is_documented_with_reloadability():
    """settings.toml: each key is preceded by a comment that says whether a reload applies it."""
    lines = s.bundled_path().read_text().splitlines()
    comment: list[str] = []
    undocumented = []
    section = ""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped)
        elif stripped.startswith("["):
            section = stripped
            if "production" in section:
                break
        elif "=" in stripped:
            key = stripped.split("=")[0].strip()
            if not any("Reloadable:" in c for c in comment):
                undocumented.append(f"{section} {key}")
            comment = []
        else:
            comment = [] if not stripped else comment
    assert undocumented == []
