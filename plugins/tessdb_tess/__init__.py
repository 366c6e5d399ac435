"""tessdb_tess: the default TESS plugin (TESS-W and TESS4C photometers).

Why a plugin: the engine knows stages, this package knows TESS.  It decodes and
validates the MQTT payloads, decides what a registration changes in the
catalogue, attributes readings to instrument versions and provides the
decimation and daylight filters.  Every rule is a pure function (no database,
no I/O) in its own module:

* :mod:`.photometer`    PUBLIC: what a TESS photometer is (names, MACs, models,
                        filters, placeholders, ranges, the [rules] defaults)
* :mod:`.config`        precompiled view of a settings snapshot
* :mod:`.normalise`     timestamps (and the MAC rule of .photometer)
* :mod:`.decode`        payload -> Registration | Reading | Rejection
* :mod:`.validate`      discards, name pattern, ranges, text lengths
* :mod:`.registration`  decision table A-E -> RegistrationPlan
* :mod:`.resolve`       reading -> ResolvedReading (version valid at its time)
* :mod:`.filters`       Decimation and Daylight filters
* :mod:`.checks`        settings validators for [rules] and [filter]

The hook implementations are three entry points, so that a site can replace one
stage and keep the others (``[plugins] disabled = ["tess_filters"]``):
:mod:`.stage_decode` (``tess_decode``), :mod:`.stage_rules` (``tess_rules``:
validation, registration, resolution, the [rules] settings) and :mod:`.stage_filters`
(``tess_filters``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["decode", "validate", "decide", "resolve", "Decimation", "Daylight", "rules_section"]

#: each public name -> its module, imported on first use: the star schema and the tools import
#: only :mod:`.photometer` from here, and a command should not pay for the stages it never runs
_HOMES = {"decode": ".decode", "validate": ".validate", "decide": ".registration", "resolve": ".resolve",
          "Decimation": ".filters", "Daylight": ".filters", "rules_section": ".checks"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
