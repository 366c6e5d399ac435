"""The hook specifications: the whole contract between the engine and its plugins.

Every hook is named ``tessdb_<what>`` and documented in ``docs/plugins.md`` with
its exact signature and call style (a test fails when one is missing there).
``settings`` is always the immutable :class:`tessdb_core.settings.Settings`
snapshot in force; plugins must not keep it across a reload.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from . import PROJECT

if TYPE_CHECKING:  # only for the annotations: the engine never needs these at import
    import click

    from .catalog import Catalog, RegistrationPlan
    from .contracts import ReadingFilter, ResolvedReading, Store
    from .controls import Controls
    from .events import Event, Message, Reading, Registration, Rejection
    from .schema import SettingsSection
    from .settings import Settings

hookspec = pluggy.HookspecMarker(PROJECT)


# -- settings and lifecycle ---------------------------------------------------------------
@hookspec
def tessdb_settings_schema() -> list[SettingsSection]:
    """Collect-all.  Return the :class:`tessdb_core.schema.SettingsSection` objects the plugin
    owns: each key declared once, with its default, what a good value is (and the check of it),
    unit, description, whether it is secret and whether a reload applies it.  The defaults lie
    beneath the ``--settings`` file and the ``TESSDB_...`` environment; the validators, the
    unknown-key check, docs/settings.md and a reload's "applied" or "needs a restart" come from
    these declarations.  A section name another owner declares is refused at start."""


@hookspec
def tessdb_startup(settings: Settings) -> None:
    """Collect-all.  Called once the store is open, before the first message."""


@hookspec
def tessdb_shutdown(settings: Settings) -> None:
    """Collect-all.  Called after the last message and the final flush."""


@hookspec
def tessdb_service_started(controls: Controls, settings: Settings) -> None:
    """Collect-all.  The live service is running (admin API up, MQTT connecting): a plugin
    that watches it (alarms) keeps ``controls`` and works in its own thread; every
    Controls call is carried out in the service's thread.  Stop that work in
    ``tessdb_shutdown``."""


@hookspec
def tessdb_settings_reloaded(settings: Settings) -> None:
    """Collect-all.  The live service swapped in a new, validated settings snapshot (SIGHUP,
    ``tessdb-core reload``): a plugin that keeps what it read of the settings at
    ``tessdb_service_started`` (the alarms' SMTP password) takes the new values here.  Called
    in the service's thread; keep it short."""


@hookspec
def tessdb_cli_commands(cli: click.Group) -> None:
    """Collect-all.  Add click commands or groups to the ``tessdb-core`` command."""


# -- the stages ---------------------------------------------------------------------------
@hookspec(firstresult=True)
def tessdb_decode(message: Message, settings: Settings) -> Registration | Reading | Rejection | None:
    """First result wins.  Turn a raw message into a typed event, or a Rejection
    naming the problem (bad encoding, bad JSON, missing field, ...).  Return None
    when the message is not for this decoder."""


@hookspec
def tessdb_validate(event: Event, settings: Settings) -> list[Rejection] | None:
    """Collect-all (every plugin votes: each is called, even after another objected).  Return
    the problems found in the event; an empty list or None means no objection.  The first
    problem in pluggy's order decides the message's fate (discards such as retained or
    black-listed are not quarantined); the other objections are logged at debug level."""


@hookspec(firstresult=True)
def tessdb_register(registration: Registration, catalog: Catalog, settings: Settings) -> RegistrationPlan | Rejection | None:
    """First result wins.  Decide, without side effects, what a registration changes
    in the catalogue.  The engine has the store apply the plan in one transaction."""


@hookspec(firstresult=True)
def tessdb_photometer_name(name: str, settings: Settings) -> str | None:
    """First result wins.  ``name`` (as an operator typed it, e.g. in an admin API path)
    normalised the way the decoder normalises names in payloads, or None when it is not
    a photometer name under this plugin's rules.  The engine knows no naming rule."""


@hookspec
def tessdb_filters(settings: Settings) -> list[ReadingFilter]:
    """Collect-all (factory).  Return new filter objects; the engine chains them in
    the order of ``[filter] chain`` and feeds each reading through the chain."""


@hookspec(firstresult=True)
def tessdb_resolve(reading: Reading, catalog: Catalog, settings: Settings) -> ResolvedReading | Rejection | None:
    """First result wins.  Attribute a reading to the instrument version valid at its
    own timestamp, or reject it (unknown photometer, hash mismatch, not authorised)."""


@hookspec(firstresult=True)
def tessdb_queries(store: Store, interface: type, settings: Settings) -> object | None:
    """First result wins (factory).  Return an object implementing ``interface`` (a query
    interface of the public API: ``ReportQueries``, ``MaintenanceQueries``, ``BackupQueries``,
    or a plugin's own protocol) for ``store`` if this plugin serves that interface for that
    store, else None.  Tools reach the database only through these (``App.queries``)."""


@hookspec(firstresult=True)
def tessdb_store(url: str, settings: Settings) -> Store | None:
    """First result wins (factory).  Return a store for ``url`` if this plugin speaks
    that database, else None."""
