"""The plugin manager: entry points found, loaded under guard, blocked by name, listed.

A plugin that fails to import is reported by name and skipped; start-up stops
only when the settings list it in ``[plugins] required``.  Defaults are loaded
exactly like third-party plugins: through the ``tessdb`` entry-point group.

``PluginError`` lives with the other errors a user can fix (:mod:`.errors`); it is named here too.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy
from loguru import logger

from . import PROJECT, hookspecs
from .entrypoints import installed
from .errors import PluginError

log = logger.bind(ns="plugins")

ACTIVE = "active"
BLOCKED = "blocked"
FAILED = "failed"


@dataclass(slots=True)
class PluginInfo:
    name: str
    distribution: str
    version: str
    state: str
    hooks: list[str] = field(default_factory=list)
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "state": self.state, "hooks": self.hooks, "error": self.error}


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus the record of what was found and why it is (in)active."""

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}

    def hooks_of(self, plugin: object) -> list[str]:
        return sorted(h.name for h in (self.get_hookcallers(plugin) or []))

    def add(self, plugin: object, name: str, distribution: str = "", version: str = "") -> None:
        """Register an already imported plugin object (tests, embedding)."""
        self.register(plugin, name=name)
        self.infos[name] = PluginInfo(name, distribution or "(local)", version, ACTIVE, self.hooks_of(plugin))

    def load_entrypoints(self, disabled: Iterable[str] = (), required: Iterable[str] = ()) -> None:
        disabled, required = set(disabled), set(required)
        found: set[str] = set()
        for entry in installed():
            ep, dist, version = entry.entry_point, entry.distribution, entry.version
            found.add(ep.name)
            if ep.name in disabled:
                self.infos[ep.name] = PluginInfo(ep.name, dist, version, BLOCKED)
                self.set_blocked(ep.name)
                log.info("plugin {} ({} {}) is disabled by settings", ep.name, dist, version)
                continue
            if self.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name)
            except Exception as exc:  # contain any import-time failure of a third-party package
                error = f"{type(exc).__name__}: {exc}"
                self.infos[ep.name] = PluginInfo(ep.name, dist, version, FAILED, error=error)
                if ep.name in required:
                    raise PluginError(f"required plugin {ep.name!r} ({dist} {version}) failed to load: {error}") from None
                log.error("plugin {} ({} {}) failed to load and is skipped: {}", ep.name, dist, version, error)
                continue
            self.infos[ep.name] = PluginInfo(ep.name, dist, version, ACTIVE, self.hooks_of(plugin))
        missing = required - found
        if missing:
            raise PluginError(f"required plugin(s) not installed: {', '.join(sorted(missing))}")
        blocked_required = required & disabled
        if blocked_required:
            raise PluginError(f"plugin(s) both required and disabled in settings: {', '.join(sorted(blocked_required))}")

    def listing(self) -> list[PluginInfo]:
        return [self.infos[k] for k in sorted(self.infos)]

    def name_of_impl(self, function: Any) -> str:
        """The plugin name that owns a hook implementation function (for quarantine records)."""
        for impl_name, plugin in self.list_name_plugin():
            if inspect.getmodule(function) is plugin or getattr(function, "__self__", None) is plugin:
                return impl_name
        return getattr(function, "__module__", "?")


def build(settings: Any | None = None, extra: Iterable[tuple[str, object]] = (), entrypoints: bool = True) -> PluginManager:
    """A manager with the installed plugins (minus the disabled ones) and any extras."""
    pm = PluginManager()
    for name, plugin in extra:
        pm.add(plugin, name)
    if entrypoints:
        disabled = settings.get("plugins.disabled", ()) if settings is not None else ()
        required = settings.get("plugins.required", ()) if settings is not None else ()
        pm.load_entrypoints(disabled, required)
    return pm
