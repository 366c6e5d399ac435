"""The plugin surface: hook implementations and settings validators."""

from __future__ import annotations

from datetime import datetime

import pluggy
import pytest

from tessdb_tess import stage_decode, stage_filters, stage_rules
from tessdb_core import PROJECT, hookspecs
from tessdb_core.catalog import Catalog
from tessdb_core.events import Reading, Reason, Registration
from tessdb_core.settings import SettingsError, load
from tessdb_tess.filters import Daylight, Decimation

from .tess_helpers import REGISTER_TOPIC, message, settings, tessw_payload


@pytest.fixture
def pm():
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name, module in (("tess_decode", stage_decode), ("tess_rules", stage_rules), ("tess_filters", stage_filters)):
        pm.register(module, name=name)
    return pm


def test_hooks_end_to_end(pm):
    s = settings()
    cat = Catalog()
    reg = pm.hook.tessdb_decode(
        message=message({"name": "stars1", "mac": "aa:bb:cc:dd:ee:ff", "calib": 20.5, "tstamp": "2026-01-01T00:00:00"},
                        REGISTER_TOPIC), settings=s)
    assert isinstance(reg, Registration)
    assert pm.hook.tessdb_validate(event=reg, settings=s) == [[]]
    plan = pm.hook.tessdb_register(registration=reg, catalog=cat, settings=s)
    assert plan.case == "created"
    cat.apply(plan)
    r = pm.hook.tessdb_decode(message=message(tessw_payload(tstamp="2026-01-01T00:01:00Z", hash="EFF")), settings=s)
    assert isinstance(r, Reading)
    res = pm.hook.tessdb_resolve(reading=r, catalog=cat, settings=s)
    assert res.version.mac == "AA:BB:CC:DD:EE:FF" and res.units_id == 1
    (filters,) = pm.hook.tessdb_filters(settings=s)
    assert [type(f) for f in filters] == [Decimation, Daylight]
    assert [f.name for f in filters] == ["decimation", "daylight"]


def test_decode_hook_other_topic_is_none(pm):
    assert pm.hook.tessdb_decode(message=message(tessw_payload(), "x/y"), settings=settings()) is None


def _sections():
    return stage_rules.tessdb_settings_schema()


def test_default_settings_validate():
    s = load(sections=_sections(), environ={})
    assert s.get("filter.depth") == 7


@pytest.mark.parametrize("var,value,key", [
    ("TESSDB_FILTER__DEPTH", "6", "filter.depth"),
    ("TESSDB_FILTER__DEPTH", "1", "filter.depth"),
    ("TESSDB_RULES__ZP_MIN", "40.0", "zp_min < zp_max"),
    ("TESSDB_RULES__OFFSET_MAX", "-1.0", "offset_min < offset_max"),
    ("TESSDB_RULES__NAME_PATTERN", "'stars('", "rules.name_pattern"),
    ("TESSDB_RULES__ZP_MAX", "'high'", "rules.zp_max"),
    ("TESSDB_FILTER__DISABLED_FOR", "'stars1'", "filter.disabled_for"),
    ("TESSDB_MQTT__TESS_BLACKLIST", "'stars1'", "mqtt.tess_blacklist"),
    ("TESSDB_DBASE__AUTH_FILTER", "'yes'", "dbase.auth_filter"),
    # the reading ranges and text lengths (issue 10)
    ("TESSDB_RULES__FREQ_MAX", "inf", "rules.freq_max"),
    ("TESSDB_RULES__FREQ_MAX", "'high'", "rules.freq_max"),
    ("TESSDB_RULES__MAG_MIN", "60.0", "mag_min < mag_max"),
    ("TESSDB_RULES__SEQ_MAX", "9223372036854775808", "rules.seq_max"),
    ("TESSDB_RULES__SEQ_MIN", "-1.5", "rules.seq_min"),
    ("TESSDB_RULES__WDBM_MAX", "99.5", "rules.wdbm_max"),
    ("TESSDB_RULES__FIRMWARE_MAX_LENGTH", "0", "rules.firmware_max_length"),
    ("TESSDB_RULES__NAME_PATTERN", "''", "rules.name_pattern"),
])
def test_bad_settings_name_the_key(monkeypatch, var, value, key):
    monkeypatch.setenv(var, value)
    import os
    with pytest.raises(SettingsError) as exc:
        load(sections=_sections(), environ=dict(os.environ))
    assert key in str(exc.value)


def test_divisor_table_check():
    from tessdb_core.engine_settings import FILTER

    (divisor,) = [s for s in FILTER.settings if s.name == "divisor"]
    _is_divisor_table = divisor.check

    assert _is_divisor_table({"stars1": 6}) and _is_divisor_table({})
    assert not _is_divisor_table({"stars1": 0}) and not _is_divisor_table({"stars1": True})
    assert not _is_divisor_table({"stars1": "6"}) and not _is_divisor_table([6])
