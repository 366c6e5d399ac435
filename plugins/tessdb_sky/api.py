"""The public API of tessdb_sky, in one import (names are stable: see README.md).

    from tessdb_sky.api import sky_context, screen_clouds, cloud_settings, twilight_edges
    from tessdb_sky import sky_context          # the same names, loaded on first use

Needs numpy and pyerfa (``pip install 'tessdb-core[sky]'``); callers that may run without
them use ``tessdb_core.extras.require("tessdb_sky.api", "sky", "what")``.
"""

from __future__ import annotations

from .clouds import CLOUD_STATES, CloudScreen, CloudSettings, screen_clouds
from .config import cloud_settings
from .ephemeris import Bodies, bodies
from .context import (MOON_UP_ALTITUDE, SKY_STATES, STATE_LEVELS, SUNSET_ALTITUDE, TWILIGHT_ALTITUDES, SkyContext,
                      TwilightEdges, night_of, site_timezone, sky_context, sky_state, sky_state_spans,
                      sun_crossings, twilight_edges)
from .series import CONTEXT_COLUMNS, Site, annotate, context_columns

__all__ = ["Bodies", "CLOUD_STATES", "CONTEXT_COLUMNS", "Site", "annotate", "bodies", "CloudScreen", "CloudSettings", "MOON_UP_ALTITUDE", "SKY_STATES",
           "STATE_LEVELS", "SUNSET_ALTITUDE", "TWILIGHT_ALTITUDES", "SkyContext", "TwilightEdges",
           "cloud_settings", "context_columns", "night_of", "screen_clouds", "site_timezone", "sky_context",
           "sky_state", "sky_state_spans", "sun_crossings", "twilight_edges"]
