"""The installed plugins as their packages' metadata declares them: nothing is imported.

Why apart from :mod:`tessdb_core.plugins`: ``tessdb-core version`` lists the plugins and their
versions from the entry points alone, without pluggy's manager, the settings, the logs or any
plugin module, so that it starts in a fraction of the time a command that loads them takes.
"""

from __future__ import annotations

import importlib.metadata as md
from dataclasses import dataclass

from . import PROJECT


@dataclass(frozen=True, slots=True)
class Installed:
    """One entry point of the ``tessdb`` group: the plugin's name and its distribution."""

    name: str
    distribution: str
    version: str
    entry_point: md.EntryPoint


def installed() -> list[Installed]:
    """Every plugin installed, sorted by name (``?`` for a distribution the metadata does not name).

    Each distribution is asked once (``Distribution.name`` and ``.version`` parse its metadata at
    every call, and one distribution often holds several plugins)."""
    found = []
    names: dict[int, tuple[str, str]] = {}
    for ep in md.entry_points(group=PROJECT):
        dist = ep.dist
        if dist is None:
            name, version = "?", "?"
        elif id(dist) in names:
            name, version = names[id(dist)]
        else:
            name, version = names[id(dist)] = dist.name, dist.version
        found.append(Installed(ep.name, name, version, ep))
    return sorted(found, key=lambda i: i.name)
