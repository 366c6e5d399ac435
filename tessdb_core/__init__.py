"""tessdb-core: a plugin-driven collector for TESS photometer networks.

The engine knows stages (decode, validate, register, filter, store); the plugins
found through the ``tessdb`` entry-point group know the TESS payloads, the rules
and the star schema.  Plugins mark their hook implementations with :data:`hookimpl`.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: The one name shared by the marker, the entry-point group and the hook prefix.
PROJECT = "tessdb"

hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "__version__", "hookimpl"]
