"""tessdb-core: a plugin-driven collector for TESS photometer networks -- and its public plugin API.

The engine knows stages (decode, validate, register, filter, store); the plugins found
through the ``tessdb`` entry-point group know the TESS payloads, the rules and the star
schema.  **This package's top level is the whole API a plugin may use** (as ``pytest`` is
to ``_pytest``): the hook marker, the events, the catalogue, the stage contracts and
errors, the typed query interfaces, settings access and the CLI kit.  Every name is in
``__all__`` and documented in docs/plugins.md ("What to import"); the engine's modules
(``tessdb_core.pipeline``, ``tessdb_core.settings``, ...) are its own business and may
change at any release.  The default plugins import nothing else (a test checks it).

Names are loaded on first use (PEP 562), ``hookimpl`` (pluggy) too, so ``import tessdb_core``
stays cheap: ``tessdb-core version`` imports neither pluggy nor the API's modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: The one name shared by the marker, the entry-point group and the hook prefix.
PROJECT = "tessdb"

#: public name -> (engine module, name there).  The one list of what a plugin may import.
_EXPORTS: dict[str, tuple[str, str]] = {
    # events: what flows through the stages
    **{n: ("events", n) for n in ("Event", "Message", "Reading", "Reason", "Registration", "Rejection",
                                  "TimestampSource")},
    # the catalogue: names -> MAC -> instrument versions
    **{n: ("catalog", n) for n in ("CURRENT", "EXPIRED", "FAR_FUTURE", "Catalog", "NameMapping",
                                   "RegistrationPlan", "Version")},
    # the stage contracts and the store's errors
    **{n: ("contracts", n) for n in ("ConfigurableFilter", "ReadingFilter", "ResolvedReading", "Store",
                                     "StoreBusy", "StoreConflict", "StoreError", "StoreUnavailable",
                                     "WriteReport")},
    "Controls": ("controls", "Controls"),
    # the errors a user can fix, and optional dependencies
    **{n: ("errors", n) for n in ("BadValue", "NotFound", "UserError")},
    "MissingExtra": ("extras", "MissingExtra"),
    "require": ("extras", "require"),
    # typed query interfaces: what tools ask a store for (App.queries(interface, store))
    "ReportQueries": ("report_queries", "ReportQueries"),
    **{n: ("maintenance_queries", n) for n in ("BackupQueries", "Change", "LocationRow", "MaintenanceQueries",
                                               "MaintenanceView", "NewObserver", "ObserverRow", "ReadingMove")},
    # settings access: the snapshot, and the declarations and checks of tessdb_settings_schema
    **{n: ("settings", n) for n in ("Settings", "SettingsError")},
    **{n: ("schema", n) for n in ("Setting", "SettingsSection", "is_bool", "is_int", "is_number", "is_regex",
                                  "is_str", "is_str_list", "is_table_of", "is_text", "one_of", "rule")},
    "parse_duration": ("durations", "parse_duration"),
    # the CLI kit (docs/plugins.md, "The CLI kit")
    **{n: ("plugin_cli", n) for n in ("emit", "emit_rows", "output_options", "pass_app", "shared_group",
                                      "summary", "table")},
    "App": ("app", "App"),
    "load_plugins": ("plugins", "build"),
    **{n: ("admin_client", n) for n in ("AdminClient", "ServiceUnreachable")},
    # local files: the quarantine (read); SQLite's "busy or locked" test; a file deleted under its writer
    "Quarantine": ("quarantine", "Quarantine"),
    "sqlite_is_busy": ("localfile", "is_busy"),
    "FileWatch": ("filewatch", "FileWatch"),
    "rescue_file": ("filewatch", "rescue"),
}

__all__ = ["PROJECT", "__version__", "hookimpl", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    """Import the engine module that holds ``name`` on first use, then keep the name here."""
    if name == "hookimpl":
        #: Marks a plugin's hook implementations: ``@hookimpl def tessdb_decode(message, settings): ...``
        import pluggy

        globals()["hookimpl"] = value = pluggy.HookimplMarker(PROJECT)
        return value
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ does it lazily
    import pluggy

    hookimpl = pluggy.HookimplMarker(PROJECT)
    from .admin_client import AdminClient, ServiceUnreachable
    from .app import App
    from .catalog import CURRENT, EXPIRED, FAR_FUTURE, Catalog, NameMapping, RegistrationPlan, Version
    from .contracts import (ConfigurableFilter, ReadingFilter, ResolvedReading, Store, StoreBusy, StoreConflict,
                            StoreError, StoreUnavailable, WriteReport)
    from .controls import Controls
    from .durations import parse_duration
    from .errors import BadValue, NotFound, UserError
    from .events import Event, Message, Reading, Reason, Registration, Rejection, TimestampSource
    from .extras import MissingExtra, require
    from .filewatch import FileWatch
    from .filewatch import rescue as rescue_file
    from .localfile import is_busy as sqlite_is_busy
    from .maintenance_queries import (BackupQueries, Change, LocationRow, MaintenanceQueries, MaintenanceView,
                                      NewObserver, ObserverRow, ReadingMove)
    from .plugins import build as load_plugins
    from .plugin_cli import emit, emit_rows, output_options, pass_app, shared_group, summary, table
    from .quarantine import Quarantine
    from .report_queries import ReportQueries
    from .schema import (Setting, SettingsSection, is_bool, is_int, is_number, is_regex, is_str, is_str_list,
                         is_table_of, is_text, one_of, rule)
    from .settings import Settings, SettingsError
