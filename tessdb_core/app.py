"""Start-up order in one place: settings bootstrap -> plugins -> full settings -> logs.

Settings and plugins depend on each other (plugins contribute defaults and
validators; the settings say which plugins are disabled or required), so the
settings are read twice: once leniently for the ``[plugins]`` section, then in
full with every plugin's contribution, validated.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import logs, settings as settings_mod
from .plugins import PluginManager, build
from .settings import Settings, SettingsError
from .stages import Stages
from .errors import NotFound


@dataclass
class App:
    settings: Settings
    pm: PluginManager
    stages: Stages
    settings_file: str | None = None
    env: str | None = None

    def store(self, url: str | None = None):
        """The store for ``url`` (default ``dbase.url``), made by whichever plugin speaks it."""
        return self.stages.store(url or self.settings.dbase.url, self.settings)

    def queries(self, kind: str, store):
        """The query object of ``kind`` ("reports", "maintenance") for an open store."""
        found = self.pm.hook.tessdb_queries(store=store, kind=kind, settings=self.settings)
        if found is None:
            raise NotFound(f"no installed plugin provides {kind} queries for {store.url!r}")
        return found

    def reload_settings(self) -> Settings:
        """Build and validate a new snapshot; raise SettingsError and keep the old one if bad."""
        new = load_settings(self.pm, self.settings_file, self.env)
        self.settings = new
        return new


def tune_gc_for_throughput() -> None:
    """The pipeline allocates millions of short-lived events that form no reference
    cycles; the default collector thresholds rescan the write batches (tens of thousands
    of live objects) over and over, which costs ~20 % of an ingest.  Collect less often,
    and never rescan what start-up left (plugins, settings, the catalogue)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _bootstrap_plugins_section(settings_file: str | None, env: str | None) -> dict[str, Any]:
    """The ``[plugins]`` section only, read before any plugin is loaded."""
    base = dict(settings_mod.bundled_defaults()["default"]["plugins"])
    if settings_file:
        data = settings_mod._read_toml(settings_file)  # noqa: SLF001 - same module family
        envs = data if "default" in data or "production" in data else {"default": data}
        for name in ("default", (env or os.environ.get("TESSDB_ENV") or "default").lower()):
            base.update(envs.get(name, {}).get("plugins", {}))
    for key in ("disabled", "required"):
        raw = os.environ.get(f"TESSDB_PLUGINS__{key.upper()}")
        if raw:
            import tomllib
            try:
                base[key] = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError:
                raise SettingsError(f"environment variable TESSDB_PLUGINS__{key.upper()} = {raw!r} is not valid: "
                                    "expected a TOML list such as '[\"sqlite\"]'") from None
    return base


def load_settings(pm: PluginManager, settings_file: str | None, env: str | None) -> Settings:
    defaults = [d for d in pm.hook.tessdb_settings_defaults() if d]
    validators = [v for group in pm.hook.tessdb_settings_validators() if group for v in group]
    return settings_mod.load(settings_file, env, defaults, validators)


def create(settings_file: str | None = None, env: str | None = None,
           extra_plugins: Iterable[tuple[str, object]] = (), entrypoints: bool = True,
           console: bool | None = None, debug: bool = False, configure_logs: bool = True) -> App:
    """Everything a command needs, in start-up order."""
    plugins_section = _bootstrap_plugins_section(settings_file, env)
    pm = build(Settings({"plugins": plugins_section}), extra=extra_plugins, entrypoints=entrypoints)
    settings = load_settings(pm, settings_file, env)
    if configure_logs:
        logs.setup(settings, console=console, debug=debug)
    return App(settings, pm, Stages(pm), settings_file, env)
