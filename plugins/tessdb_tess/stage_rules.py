"""Entry point ``tess_rules``: validation, registration decisions, reading resolution, and the
``[rules]`` settings (their defaults and validators)."""

from __future__ import annotations

from typing import Any

from tessdb_core import hookimpl

from .checks import rules_section
from .config import config_of
from .registration import decide
from .resolve import resolve
from .validate import validate


@hookimpl
def tessdb_validate(event, settings):
    return validate(event, settings)


@hookimpl
def tessdb_resolve(reading, catalog, settings):
    return resolve(reading, catalog, settings)


@hookimpl
def tessdb_register(registration, catalog):
    return decide(registration, catalog)


@hookimpl
def tessdb_photometer_name(name, settings):
    """An operator's spelling of a name, checked like a payload's (lower case, then
    ``[rules] name_pattern``)."""
    normalised = name.lower()
    return normalised if config_of(settings).good_name(normalised) else None


@hookimpl
def tessdb_settings_schema() -> list[Any]:
    """The ``[rules]`` section: name pattern, ranges and length limits (see :mod:`.checks`)."""
    return [rules_section()]
