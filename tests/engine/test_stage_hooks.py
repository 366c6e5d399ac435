"""Each stage hook has a test named after it (datasette's rule), and the engine's calls agree
with the specs: what ``Stages`` returns is what pluggy's own calling of the hook would decide
(first result in pluggy's order, ``tryfirst`` / ``trylast`` honoured; collect-all for validate,
where every plugin votes)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tessdb_core import (BadValue, Catalog, Message, NotFound, Reason, Rejection, Setting, SettingsError,
                         SettingsSection, hookimpl, is_int)
from tessdb_core.plugins import build
from tessdb_core.settings import Settings
from tessdb_core.stages import PluginFailure, Stages

from .toy_plugins import MemoryStore, MemoryStorePlugin, ToyFilters, ToyFormat

T = datetime(2026, 3, 1, 22, 0, 0)
SETTINGS = Settings.from_dict({"filter": {"chain": ["tagger", "dropzeros"]}})


def stages(*plugins) -> Stages:
    return Stages(build(SETTINGS, extra=[(f"p{i}", p) for i, p in enumerate(plugins)], entrypoints=False))


def message(topic: str, payload: str) -> Message:
    return Message(topic, payload.encode(), T)


def voter(reason: str, order: str | None = None):
    """A validator that objects to every event and records that it was asked; ``order`` is
    pluggy's ``tryfirst`` or ``trylast`` mark."""

    class Voter:
        asked: list[str] = []

        @hookimpl(**({order: True} if order else {}))
        def tessdb_validate(self, event, settings):
            self.asked.append(event.name)
            return [Rejection(reason, f"{reason} objects")]

    return Voter()


def test_tessdb_validate_every_plugin_votes_and_the_first_in_pluggys_order_decides():
    first, last, middle = voter(Reason.BAD_NAME, "tryfirst"), voter(Reason.OUT_OF_RANGE, "trylast"), voter(
        Reason.WRONG_TYPE)
    s = stages(ToyFormat(), last, first, middle)
    event = s.decode(message("toy/reading", "stars1:1:20.0"), SETTINGS)
    problem = s.validate(event, SETTINGS)
    assert first.asked == middle.asked == last.asked == ["stars1"]  # every plugin voted
    assert s.pm.hook.tessdb_validate.get_hookimpls()[-1].plugin is first  # pluggy calls it first
    pluggy_votes = [p for group in s.pm.hook.tessdb_validate(event=event, settings=SETTINGS) if group for p in group]
    assert problem.reason == pluggy_votes[0].reason == Reason.BAD_NAME
    assert (problem.plugin, problem.stage) == ("p2", "validate")


def test_tessdb_validate_without_objection_is_none_and_a_raising_voter_is_named():
    s = stages(ToyFormat())
    event = s.decode(message("toy/reading", "stars1:1:20.0"), SETTINGS)
    assert s.validate(event, SETTINGS) is None

    class Broken:
        @hookimpl
        def tessdb_validate(self, event, settings):
            raise ZeroDivisionError("oops")

    s = stages(ToyFormat(), Broken())
    with pytest.raises(PluginFailure, match="plugin 'p1' failed in stage validate: ZeroDivisionError"):
        s.validate(event, SETTINGS)


def decoder(answer, order: str | None = None):
    class Decoder:
        calls = 0

        @hookimpl(**({order: True} if order else {}))
        def tessdb_decode(self, message, settings):
            type(self).calls += 1
            return answer

    return Decoder()


@pytest.mark.parametrize("orders", [("tryfirst", None), (None, "tryfirst"), ("trylast", None)])
def test_tessdb_decode_first_result_wins_as_pluggy_decides(orders):
    a = decoder(Rejection(Reason.BAD_JSON, "a"), orders[0])
    b = decoder(Rejection(Reason.BAD_ENCODING, "b"), orders[1])
    s = stages(a, b, decoder(None, "tryfirst"))
    msg = message("x/y", "{}")
    ours = s.decode(msg, SETTINGS)
    theirs = s.pm.hook.tessdb_decode(message=msg, settings=SETTINGS)
    assert ours is theirs and ours.reason in (Reason.BAD_JSON, Reason.BAD_ENCODING)
    assert a.calls + b.calls == 2  # ours and pluggy's call: the first result stopped each
    assert ours.stage == "decode" and ours.plugin in ("p0", "p1")


def test_tessdb_decode_none_when_no_decoder_accepts():
    s = stages(ToyFormat())
    assert s.decode(message("other/topic", "x"), SETTINGS) is None


def test_tessdb_register_and_tessdb_resolve_agree_with_pluggy():
    s = stages(ToyFormat())
    reg = s.decode(message("toy/register", "stars1"), SETTINGS)
    catalog = Catalog()
    plan = s.register(reg, catalog, SETTINGS)
    assert plan == s.pm.hook.tessdb_register(registration=reg, catalog=catalog, settings=SETTINGS)
    assert plan.case == "created" and plan.new_mapping.name == "stars1"
    catalog.apply(plan)
    reading = s.decode(message("toy/reading", "stars1:1:20.0"), SETTINGS)
    resolved = s.resolve(reading, catalog, SETTINGS)
    assert resolved == s.pm.hook.tessdb_resolve(reading=reading, catalog=catalog, settings=SETTINGS)
    assert resolved.version.mac == "AA:BB:CC:DD:EE:FF"
    stranger = s.decode(message("toy/reading", "stars2:1:20.0"), SETTINGS)
    refused = s.resolve(stranger, catalog, SETTINGS)
    assert refused.reason == Reason.UNKNOWN_PHOTOMETER and refused.plugin == "p0"


def test_tessdb_filters_are_chained_in_the_order_of_the_setting():
    s = stages(ToyFilters())
    assert [f.name for f in s.filters(SETTINGS)] == ["tagger", "dropzeros"]
    with pytest.raises(BadValue, match="unknown filter"):
        s.filters(Settings.from_dict({"filter": {"chain": ["nosuch"]}}))


def test_tessdb_store_first_store_that_speaks_the_url():
    store = MemoryStore()
    s = stages(MemoryStorePlugin(store))
    assert s.store("memory://", SETTINGS) is store
    with pytest.raises(NotFound, match="no installed store plugin handles dbase.url = 'mysql://x'"):
        s.store("mysql://x", SETTINGS)


class SettingsPlugin:
    @hookimpl
    def tessdb_settings_schema(self):
        return [SettingsSection("toy", "A test plugin's section.", (
            Setting("limit", 3, "How many.", "an integer from 1 to 10", is_int(1, 10), reloadable=True),))]


def test_tessdb_settings_schema_defaults_lie_beneath_the_operators_settings_and_bad_values_are_refused(monkeypatch):
    from tessdb_core.app import create

    app = create(entrypoints=False, extra_plugins=[("toy", SettingsPlugin())], configure_logs=False)
    assert app.settings.toy.limit == 3
    monkeypatch.setenv("TESSDB_TOY__LIMIT", "7")
    assert create(entrypoints=False, extra_plugins=[("toy", SettingsPlugin())],
                  configure_logs=False).settings.toy.limit == 7
    monkeypatch.setenv("TESSDB_TOY__LIMIT", "70")
    with pytest.raises(SettingsError, match="toy.limit"):
        create(entrypoints=False, extra_plugins=[("toy", SettingsPlugin())], configure_logs=False)
