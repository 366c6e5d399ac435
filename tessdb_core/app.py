"""Start-up order in one place: settings bootstrap -> plugins -> full settings -> logs.

Settings and plugins depend on each other (plugins declare their sections; the
settings say which plugins are disabled or required), so the settings are read
twice by the one loader: first with the engine's sections only, keeping just
``[plugins]`` (a plugin's section is not known yet, so it is left aside, not
refused), then in full with every plugin's sections, validated.  A command reads
the bootstrap once: the command line hands the manager it built (to add the
plugins' commands) to :func:`create`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from . import logs, settings as settings_mod
from .plugins import PluginManager, build
from .schema import Schema
from .settings import Settings, SettingsError
from .stages import Stages
from .errors import NotFound

Q = TypeVar("Q")


@dataclass
class App:
    settings: Settings
    pm: PluginManager
    stages: Stages
    settings_file: str | None = None
    env: str | None = None
    schema: Schema | None = None

    def store(self, url: str | None = None):
        """The store for ``url`` (default ``dbase.url``), made by whichever plugin speaks it."""
        return self.stages.store(url or self.settings.dbase.url, self.settings)

    def queries(self, interface: type[Q], store: Any) -> Q:
        """The query object implementing ``interface`` (``ReportQueries``, ``MaintenanceQueries``,
        ``BackupQueries``, ...) for an open store, from whichever plugin serves it."""
        found = self.pm.hook.tessdb_queries(store=store, interface=interface, settings=self.settings)
        if found is None:
            raise NotFound(f"no installed plugin provides {interface.__name__} for {store.url!r}")
        if getattr(interface, "_is_runtime_protocol", False) and not isinstance(found, interface):
            raise TypeError(f"{type(found).__name__} was returned for {interface.__name__} but does not implement it")
        return found

    def reload_settings(self) -> Settings:
        """Build and validate a new snapshot; raise SettingsError and keep the old one if bad."""
        new = settings_mod.load(self.settings_file, self.env, self.schema or schema_of(self.pm))
        self.settings = new
        return new

    def settings_changes(self, old: Settings, new: Settings) -> list[tuple[str, bool]]:
        """Each key whose value differs, with whether a reload applies it (from the schema)."""
        return (self.schema or schema_of(self.pm)).changes(old.to_dict(), new.to_dict())


def tune_gc_for_throughput() -> None:
    """The pipeline allocates millions of short-lived events that form no reference
    cycles; the default collector thresholds rescan the write batches (tens of thousands
    of live objects) over and over, which costs ~20 % of an ingest.  Collect less often,
    and never rescan what start-up left (plugins, settings, the catalogue)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _bootstrap_plugins_section(settings_file: str | None, env: str | None) -> dict[str, Any]:
    """The ``[plugins]`` section only, read before any plugin is loaded: the same loader, the
    engine's sections, the sections it does not know yet left aside."""
    return settings_mod.load_section("plugins", settings_file, env).to_dict()


def bootstrap_plugins(settings_file: str | None = None, env: str | None = None,
                      extra_plugins: Iterable[tuple[str, object]] = (), entrypoints: bool = True) -> PluginManager:
    """The plugin manager, with the plugins the ``[plugins]`` section leaves enabled."""
    plugins_section = _bootstrap_plugins_section(settings_file, env)
    return build(Settings({"plugins": plugins_section}), extra=extra_plugins, entrypoints=entrypoints)


def schema_of(pm: PluginManager) -> Schema:
    """The engine's sections and those of every loaded plugin, each named by its owner."""
    owned = []
    for impl in pm.hook.tessdb_settings_schema.get_hookimpls():
        for section in impl.function() or ():
            owned.append((f"plugin {impl.plugin_name}", section))
    return settings_mod.settings_schema(owned)


def load_settings(pm: PluginManager, settings_file: str | None, env: str | None) -> Settings:
    return settings_mod.load(settings_file, env, schema_of(pm))


def create(settings_file: str | None = None, env: str | None = None,
           extra_plugins: Iterable[tuple[str, object]] = (), entrypoints: bool = True,
           console: bool | None = None, debug: bool = False, configure_logs: bool = True,
           plugins: PluginManager | None = None) -> App:
    """Everything a command needs, in start-up order; ``plugins``: a manager already built by
    :func:`bootstrap_plugins` for the same settings file and environment."""
    pm = plugins if plugins is not None else bootstrap_plugins(settings_file, env, extra_plugins, entrypoints)
    schema = schema_of(pm)
    settings = settings_mod.load(settings_file, env, schema)
    if configure_logs:
        logs.setup(settings, console=console, debug=debug)
    return App(settings, pm, Stages(pm), settings_file, env, schema)
