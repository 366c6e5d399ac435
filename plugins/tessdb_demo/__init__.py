"""tessdb_demo: the whole collector in one command (``tessdb-core demo``).

Why a plugin: the demo is a tool around the collector, like the simulator it
drives; it adds one command through ``tessdb_cli_commands`` and is found like any
other plugin.  It starts a broker (the local mosquitto, else an embedded Python
broker), the live service on a fresh database and the simulated fleet for a
compressed night, then prints what was stored and writes a night plot.

* :mod:`.night`            the night to simulate and the photometer to show (pure)
* :mod:`.brokers`          mosquitto with a generated config, the embedded broker, an external one
* :mod:`.embedded_broker`  ``python -m tessdb_demo.embedded_broker``: the amqtt broker process
* :mod:`.children`         child processes: start, log, stop, never left behind
* :mod:`.run`              the steps, in order, with progress lines and cleanup
* :mod:`.summary`          what the database, the quarantine and the service counted
* :mod:`.command`          the click command and its one-line argument errors
"""

from __future__ import annotations

from typing import Any

from tessdb_core import hookimpl

__all__ = ["tessdb_cli_commands"]


@hookimpl
def tessdb_cli_commands(cli: Any) -> None:
    """Add ``demo`` (imports nothing heavy: the CLI loads every plugin for every command)."""
    from .command import demo

    cli.add_command(demo)
