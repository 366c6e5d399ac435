"""tessdb_alarms: the running service watched, and the operator told (entry point ``alarms``).

Every ``[alarms] check_every`` the monitor thread asks the service (through the ``Controls``
it gets from ``tessdb_service_started``) whether readings are stored, which photometers
fell silent and whether the inbox or the database is in trouble; it sends each alarm once,
by e-mail and / or a JSON webhook, then a recovery message when it clears.  Alarms and
undelivered notifications live in the plugin's own SQLite file (``[alarms] state_path``).

* :mod:`.config`    the ``[alarms]`` settings: defaults, validators, typed view
* :mod:`.checks`    the alarm rules, pure (open / clear, from what a check saw)
* :mod:`.messages`  the texts of the e-mails and the webhook's JSON body, pure
* :mod:`.state`     the state file: alarms, outbox, the watch
* :mod:`.notify`    SMTP (STARTTLS, login) and the webhook; one-line ``DeliveryError``
* :mod:`.monitor`   the thread: check, record, deliver, retry
* :mod:`.commands`  ``tessdb-core alarms list | test``

This module imports nothing heavy: the CLI loads it for every command.
"""

from __future__ import annotations

from typing import Any

from tessdb_core import hookimpl

__all__ = ["tessdb_cli_commands", "tessdb_service_started", "tessdb_settings_reloaded", "tessdb_settings_schema",
           "tessdb_shutdown"]


@hookimpl
def tessdb_settings_schema() -> list[Any]:
    from .config import ALARMS_SECTION

    return [ALARMS_SECTION]


@hookimpl
def tessdb_service_started(controls: Any, settings: Any) -> None:
    from .monitor import start

    start(controls, settings)


@hookimpl
def tessdb_settings_reloaded(settings: Any) -> None:
    from .monitor import reconfigure

    reconfigure(settings)


@hookimpl
def tessdb_shutdown() -> None:
    from .monitor import stop

    stop()


@hookimpl
def tessdb_cli_commands(cli: Any) -> None:
    from .commands import alarms

    cli.add_command(alarms)
