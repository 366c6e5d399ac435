"""tessdb_tess: the default TESS plugin (TESS-W and TESS4C photometers).

Why a plugin: the engine knows stages, this package knows TESS.  It decodes and
validates the MQTT payloads, decides what a registration changes in the
catalogue, attributes readings to instrument versions and provides the
decimation and daylight filters.  Every rule is a pure function (no database,
no I/O) in its own module:

* :mod:`.config`        precompiled view of a settings snapshot
* :mod:`.normalise`     MAC addresses and timestamps
* :mod:`.decode`        payload -> Registration | Reading | Rejection
* :mod:`.validate`      discards, name pattern, ranges
* :mod:`.registration`  decision table A-E -> RegistrationPlan
* :mod:`.resolve`       reading -> ResolvedReading (version valid at its time)
* :mod:`.filters`       Decimation and Daylight filters
* :mod:`.checks`        settings validators for [rules] and [filter]
"""

from __future__ import annotations

from typing import Any

from tessdb_core import hookimpl

from .checks import settings_validators
from .decode import decode
from .filters import Daylight, Decimation
from .registration import decide
from .resolve import resolve
from .validate import validate

__all__ = ["decode", "validate", "decide", "resolve", "Decimation", "Daylight", "settings_validators"]


@hookimpl
def tessdb_decode(message, settings):
    return decode(message, settings)


@hookimpl
def tessdb_validate(event, settings):
    return validate(event, settings)


@hookimpl
def tessdb_register(registration, catalog, settings):
    return decide(registration, catalog)


@hookimpl
def tessdb_resolve(reading, catalog, settings):
    return resolve(reading, catalog, settings)


@hookimpl
def tessdb_filters(settings) -> list[Any]:
    return [Decimation(settings), Daylight(settings)]


@hookimpl
def tessdb_settings_validators() -> list[Any]:
    return settings_validators()
