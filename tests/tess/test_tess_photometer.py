"""tessdb_tess.photometer: the one home of what a TESS photometer is (issue 13 part 4).

Names, MACs, constants, ranges; the ``[rules]`` defaults contributed by the plugin and the
documentation of each in settings.toml (commented out there) kept equal to them.
"""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest

from tessdb_core.settings import load
from tessdb_tess import normalise, photometer, stage_rules
from tessdb_tess.photometer import (NAME_PATTERN, RULES_DEFAULTS, check_photometer_name, is_mac,
                                    is_photometer_name, normalise_mac)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name,ok", [("stars1", True), ("stars1234567", True), ("stars12345678", False),
                                     ("stars901\n", False), ("stars٩٠٢", False), ("stars１", False),
                                     ("xstars1", False), ("stars", False), ("STARS1", False)])
def test_names_match_in_full_and_ascii(name, ok):
    assert is_photometer_name(name) is ok
    assert is_photometer_name(name, r"^stars\d{1,7}$") is ok  # an old-style site pattern too


def test_check_photometer_name_normalises_or_names_the_setting():
    assert check_photometer_name(" STARS12 ") == "stars12"
    with pytest.raises(ValueError, match="rules.name_pattern"):
        check_photometer_name("stars901\n\n1")
    assert check_photometer_name("tess12", r"tess\d+") == "tess12"


@pytest.mark.parametrize("text,expected", [("a:b:c:1:2:3", "0A:0B:0C:01:02:03"),
                                           ("aa:BB:cc:00:11:ff", "AA:BB:CC:00:11:FF")])
def test_mac(text, expected):
    assert normalise_mac(text) == expected
    assert is_mac(expected) and not is_mac(text)


@pytest.mark.parametrize("text", ["", " aa:bb:cc:dd:ee:ff", "a:b:c:d:e", "aa:bb:cc:dd:ee:fg", "aa-bb-cc-dd-ee-ff",
                                  "aa:bb:cc:dd:ee:٣", "aaa:b:c:d:e:f"])
def test_bad_mac(text):
    with pytest.raises(ValueError, match="AA:BB:CC:DD:EE:FF"):
        normalise_mac(text)


def test_the_stages_use_the_one_home():
    # the package exports functions named like these modules: take the modules themselves
    decode = importlib.import_module("tessdb_tess.decode")
    validate = importlib.import_module("tessdb_tess.validate")
    assert normalise.normalise_mac is photometer.normalise_mac
    assert decode.TESSW_FILTER == photometer.TESSW_FILTER == "UV/IR-740"
    assert decode.NO_SIGNAL is photometer.NO_SIGNAL and validate.NO_TEMPERATURE is photometer.NO_TEMPERATURE


def test_maintenance_uses_the_one_home():
    from tessdb_maint import rules

    assert rules.MODELS is photometer.MODEL_CHANNELS
    assert rules.TESSW_FILTER is photometer.TESSW_FILTER
    assert rules.normalise_name is photometer.normalise_name
    assert rules.Limits().name_pattern == NAME_PATTERN
    assert rules.normalise_mac(" a:b:c:1:2:3 ") == "0A:0B:0C:01:02:03"  # an operator's blanks are forgiven


def test_photometer_imports_nothing_of_the_plugin_or_the_engine():
    """Stores, the admin API and the commands import it without loading the TESS stages."""
    tree = ast.parse(Path(photometer.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "." for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) if n.level == 0}
    assert not any(n.level for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert imported <= {"__future__", "math", "re", "dataclasses", "typing", "tessdb_core"}  # the public API: BadValue only


def _load(environ):
    return load(sections=stage_rules.tessdb_settings_schema(), environ=environ)


def test_rules_defaults_come_from_the_plugin_and_validate():
    (section,) = stage_rules.tessdb_settings_schema()
    assert section.name == "rules" and {s.name: s.default for s in section.settings} == RULES_DEFAULTS
    s = _load({})
    assert s.get("rules.freq_max") == 10_000_000.0 and s.get("rules.name_pattern") == NAME_PATTERN
    assert s.get("rules.seq_max") == 2 ** 32 - 1


def test_settings_toml_documents_every_rules_key_with_its_default():
    """settings.toml (generated from the schema) shows [rules] with the plugin's exact defaults."""
    text = (REPO / "settings" / "settings.toml").read_text()
    assert tomllib.loads(text)["default"]["rules"] == RULES_DEFAULTS


def test_a_site_widens_seq_to_sqlite_integer(monkeypatch):
    import os

    monkeypatch.setenv("TESSDB_RULES__SEQ_MAX", "9223372036854775807")
    monkeypatch.setenv("TESSDB_RULES__SEQ_MIN", "-9223372036854775808")
    s = _load(dict(os.environ))
    assert s.get("rules.seq_max") == 2 ** 63 - 1
