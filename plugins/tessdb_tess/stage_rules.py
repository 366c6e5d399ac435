"""Entry point ``tess_rules``: validation, registration decisions, reading resolution."""

from __future__ import annotations

from typing import Any

from tessdb_core import hookimpl

from .checks import settings_validators
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
def tessdb_settings_validators() -> list[Any]:
    return settings_validators()
