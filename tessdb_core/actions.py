"""The controls of the running service, named once: ``tessdb-core <name>``, ``POST /v1/server/<name>``,
the service's ``do_<name>`` and the signals that ask for it.

Why apart from :mod:`tessdb_core.controls`: the command line makes one command per action when it
starts, and this module imports nothing, so that ``tessdb-core version`` stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    """One control of the running service, named once: ``POST /v1/server/<name>``,
    ``tessdb-core <name>``, the service's ``do_<name>`` and the signals that ask for it."""

    name: str
    signals: tuple[str, ...]
    help: str


#: every server action (the reference's names), in the order ``--help`` lists them
ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("reload", ("SIGHUP",), "Reload the settings of the running service (a bad file keeps the old ones)."),
    Action("pause", ("SIGUSR1",), "Pause the running service: it closes the database; messages wait in the inbox."),
    Action("resume", ("SIGUSR2",), "Resume the running service: the inbox backlog is written in order."),
    Action("flush", (), "Release the running service's filter windows and write every buffer."),
    Action("stop", ("SIGTERM", "SIGINT"), "Stop the running service gracefully (windows released, buffers written)."),
)}
