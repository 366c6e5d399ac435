"""tessdb_sky: the sky around each reading (entry point ``sky`` in group ``tessdb``).

A library the report, web and other plugins import, plus a plugin that declares the
``[sky]`` settings.  Derived science only: computed from the readings and the site, never
written into the legacy tables.

* :mod:`.ephemeris`  topocentric Sun and Moon, vectorised (pyerfa)
* :mod:`.context`    ``sky_context`` (per-reading columns), ``night_of``, ``twilight_edges``
* :mod:`.clouds`     ``screen_clouds``: clear / cloudy / unknown per reading
* :mod:`.config`     the ``[sky]`` settings and their typed view ``cloud_settings``
* :mod:`.api`        the public names in one import: ``from tessdb_sky.api import ...``

This module imports nothing heavy (numpy and pyerfa come with the ``sky`` extra and are
loaded by :mod:`.api`): the CLI loads it for every command.  The public names are also
reachable here (``from tessdb_sky import sky_context``), loaded on first use.
"""

from __future__ import annotations

from typing import Any

from tessdb_core import hookimpl

__all__ = ["tessdb_settings_schema"]


def __getattr__(name: str) -> Any:
    """The public API (``tessdb_sky.api``), imported when first asked for."""
    if name.startswith("__") or name == "api":
        raise AttributeError(name)
    import importlib

    api = importlib.import_module(f"{__name__}.api")
    if name in api.__all__:
        return getattr(api, name)
    raise AttributeError(f"module 'tessdb_sky' has no attribute {name!r}")


@hookimpl
def tessdb_settings_schema() -> list[Any]:
    from .config import SKY_SECTION

    return [SKY_SECTION]
