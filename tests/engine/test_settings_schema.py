"""The settings schema: each key declared once, by its owner; the reference generated from it.

The engine declares its sections in tessdb_core/engine_settings.py, each plugin through the
``tessdb_settings_schema`` hook.  docs/settings.md and settings/settings.toml are written from
the declarations and must be what the generator writes today.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tessdb_core import app as app_mod
from tessdb_core import settings as s
from tessdb_core.plugins import build
from tessdb_core.schema import Schema, Setting, SettingsSection
from tessdb_core.settings_reference import DOC, TOML, generated, shipped_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schema() -> Schema:
    return shipped_schema()


def test_the_reference_is_what_the_schema_writes(schema):
    for rel, text in generated(schema).items():
        assert (ROOT / rel).read_text() == text, (
            f"{rel} is not what the settings schema writes: run `python -m tessdb_core.settings_reference --write`")


def test_the_reference_shows_every_key_once(schema):
    doc = (ROOT / DOC).read_text()
    defaults = tomllib.loads((ROOT / TOML).read_text())
    for d in schema:
        section, _, name = d.key.partition(".")
        assert f"| `{name}` |" in doc.split(f"## [{section}]")[1].split("\n## ")[0], d.key
        node = defaults["default"][section]
        for part in name.split("."):
            node = node[part]
        assert node == d.setting.default, d.key
    assert defaults["production"]["dbase"]["url"] == "/var/dbase/tess.db"


def test_every_declaration_is_complete_and_its_default_passes_its_own_check(schema):
    assert len(list(schema)) > 80
    for d in schema:
        assert d.setting.description.endswith((".", ")")), d.key
        assert d.setting.check(d.setting.default), f"{d.key}: the default fails its own check"
        for value in d.setting.env_defaults.values():
            assert d.setting.check(value), d.key


def test_the_shipped_plugins_declare_their_sections_through_the_hook(schema):
    assert schema.owners["rules"] == "plugin tess_rules" and schema.owners["alarms"] == "plugin alarms"
    assert schema.owners["mqtt"] == "engine"
    pm = build(s.Settings({"plugins": {"disabled": [], "required": []}}))
    declared = [section.name for group in pm.hook.tessdb_settings_schema() for section in group]
    assert {"alarms", "rules"} <= set(declared) and set(declared) <= set(schema.sections)


def test_a_section_declared_twice_is_refused_naming_both_owners():
    mine = SettingsSection("mqtt", "Mine.", (Setting("x", 1, "X.", "an integer"),))
    with pytest.raises(ValueError, match=r"\[mqtt\] is declared by both engine and plugin toy"):
        s.settings_schema([("plugin toy", mine)])
    with pytest.raises(ValueError, match="declares x twice"):
        SettingsSection("toy", "Toy.", (Setting("x", 1, "X.", "an integer"), Setting("x", 2, "X.", "an integer")))


def test_secret_must_agree_with_the_name():
    with pytest.raises(ValueError, match="toy.api_token"):
        Schema([("plugin toy", SettingsSection("toy", "Toy.", (Setting("api_token", "", "T.", "a string"),)))])
    with pytest.raises(ValueError, match="toy.name"):
        Schema([("plugin toy", SettingsSection("toy", "Toy.", (Setting("name", "", "T.", "a string",
                                                                         secret=True),)))])


def test_changes_name_each_key_with_whether_a_reload_applies_it(schema):
    old = s.Settings.from_dict({})
    new = s.Settings.from_dict({"mqtt": {"password": "new", "max_payload": 2048}, "logs": {"level": "debug",
                                "photometers": {"stars1": "debug"}}, "dbase": {"url": "other.db"}})
    assert schema.changes(old.to_dict(), new.to_dict()) == [
        ("dbase.url", False), ("logs.level", True), ("logs.photometers.stars1", True),
        ("mqtt.max_payload", True), ("mqtt.password", True)]
    assert schema.changes(old.to_dict(), old.to_dict()) == []


def test_the_app_knows_its_schema(tmp_path):
    app = app_mod.create(configure_logs=False)
    assert app.schema is not None and "rules" in app.schema.sections
    new = s.Settings.from_dict({**app.settings.to_dict(), "stats": {"interval": 60}})
    assert app.settings_changes(app.settings, new) == [("stats.interval", True)]
