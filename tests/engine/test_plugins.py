"""Guarded entry-point loading, disable list, required plugins, listing."""

from __future__ import annotations

import importlib.metadata as md
import sys
import types

import pytest

from tessdb_core import entrypoints, hookimpl, plugins
from tessdb_core.plugins import PluginError


class FakeDist:
    name = "fake-dist"
    version = "9.9"


def fake_eps(monkeypatch, *pairs):
    """Add entry points (name -> module) to the real ones of the group."""
    real = md.entry_points

    def entry_points(**kw):
        eps = list(real(**kw))
        if kw.get("group") == "tessdb":
            for name, value in pairs:
                ep = md.EntryPoint(name=name, value=value, group="tessdb")
                eps.append(ep._for(FakeDist()) if hasattr(ep, "_for") else ep)
        return eps

    monkeypatch.setattr(entrypoints.md, "entry_points", entry_points)  # where the plugins are found


@pytest.fixture
def good_module(monkeypatch):
    mod = types.ModuleType("tessdb_fake_good")

    @hookimpl
    def tessdb_startup(settings):
        mod.started = True

    mod.tessdb_startup = tessdb_startup
    monkeypatch.setitem(sys.modules, "tessdb_fake_good", mod)
    return mod


def test_defaults_are_entry_points_and_listed():
    pm = plugins.build()
    names = {i.name: i for i in pm.listing()}
    assert {"tess_decode", "tess_rules", "tess_filters", "sqlite"} <= set(names)
    assert all(names[n].state == "active" and names[n].distribution == "tessdb-core" for n in ("sqlite",))
    assert "tessdb_store" in names["sqlite"].hooks


def test_plugin_that_fails_to_import_is_reported_and_skipped(monkeypatch, good_module):
    fake_eps(monkeypatch, ("broken", "tessdb_no_such_module_xyz"), ("good", "tessdb_fake_good"))
    pm = plugins.build()
    info = {i.name: i for i in pm.listing()}
    assert info["broken"].state == "failed" and "No module named 'tessdb_no_such_module_xyz'" in info["broken"].error
    assert info["good"].state == "active" and info["good"].hooks == ["tessdb_startup"]
    pm.hook.tessdb_startup(settings=None)
    assert good_module.started


def test_required_plugin_that_fails_stops_startup(monkeypatch):
    fake_eps(monkeypatch, ("broken", "tessdb_no_such_module_xyz"))
    with pytest.raises(PluginError, match="required plugin 'broken'.*failed to load.*No module named"):
        plugins.build(_settings(required=["broken"]))


def test_required_plugin_missing_or_disabled(monkeypatch):
    with pytest.raises(PluginError, match="not installed: nosuch"):
        plugins.build(_settings(required=["nosuch"]))
    with pytest.raises(PluginError, match="both required and disabled"):
        plugins.build(_settings(required=["sqlite"], disabled=["sqlite"]))


def test_disabled_plugin_is_blocked(monkeypatch):
    pm = plugins.build(_settings(disabled=["sqlite"]))
    info = {i.name: i for i in pm.listing()}
    assert info["sqlite"].state == "blocked"
    assert pm.hook.tessdb_store(url="x.db", settings=None) is None


def _settings(required=(), disabled=()):
    from tessdb_core.settings import Settings

    return Settings({"plugins": {"required": list(required), "disabled": list(disabled)}})
