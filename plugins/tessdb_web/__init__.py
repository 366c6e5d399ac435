"""tessdb_web: the public, read-only listener (entry point ``web``): the network's map,
the status page and a JSON API with its OpenAPI document.

It is a second door, apart from the admin API: GET and HEAD only, no control, no metrics,
no secret, no contact.  The running service serves it when ``[web] enabled`` (the fleet
view from the service's newest readings in memory); ``tessdb-core web`` serves it alone on
a read-only connection.  See docs/web.md.

* :mod:`.config`   the ``[web]`` settings
* :mod:`.fleet`    the public record of a photometer and its status, pure
* :mod:`.params`   the parameters, checked (400 with one line)
* :mod:`.reader`   the database, read-only, through the ``"reports"`` queries
* :mod:`.source`   the fleet kept in memory and refreshed by a thread
* :mod:`.api`      the application: routes, ETag, gzip, guards
* :mod:`.openapi`  the OpenAPI document
* :mod:`.server`   uvicorn in a thread, with its bounds
* :mod:`.runtime`  start and stop, with the service or alone
* :mod:`.commands` ``tessdb-core web``

This module imports nothing heavy: the CLI loads it for every command.
"""

from __future__ import annotations

from typing import Any

from tessdb_core import hookimpl

__all__ = ["tessdb_cli_commands", "tessdb_service_started", "tessdb_settings_schema", "tessdb_shutdown"]


@hookimpl
def tessdb_settings_schema() -> list[Any]:
    from .config import WEB_SECTION

    return [WEB_SECTION]


@hookimpl
def tessdb_service_started(controls: Any, settings: Any) -> None:
    from .config import WebSettings

    if WebSettings.from_settings(settings).enabled:
        from .runtime import start_with_service

        start_with_service(controls, settings)


@hookimpl
def tessdb_shutdown() -> None:
    import sys

    runtime = sys.modules.get(f"{__name__}.runtime")  # never imported: nothing to stop
    if runtime is not None:
        runtime.stop()


@hookimpl
def tessdb_cli_commands(cli: Any) -> None:
    from .commands import web_command

    cli.add_command(web_command)
