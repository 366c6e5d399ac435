"""tessdb_sim: a simulated fleet of TESS-W and TESS4C photometers (``tessdb-core simulate``).

Why a plugin: it is a tool around the collector, not part of it; it adds one
command through ``tessdb_cli_commands`` and is found like any other plugin.  It
exists to feed the service or the offline ingest with realistic traffic (the
demo, load tests, the benchmark) without a network of real devices.

* :mod:`.sky`        the Sun's altitude, sky brightness, enclosure temperature (pure)
* :mod:`.fleet`      the devices: sites, names, MACs, zero points
* :mod:`.payloads`   the JSON a device sends, and the broken variants
* :mod:`.generator`  the seeded timeline of messages (pure, deterministic)
* :mod:`.sinks`      the sink interface and the JSON Lines writer
* :mod:`.mqtt_sink`  publishing with paho-mqtt, bounded in flight, every ack awaited
* :mod:`.runner`     pacing, counting, progress
* :mod:`.command`    the click command
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tessdb_core import hookimpl

__all__ = ["EventRates", "FleetConfig", "SimEvent", "events", "tessdb_cli_commands"]

if TYPE_CHECKING:
    from .generator import EventRates, FleetConfig, SimEvent, events


def __getattr__(name: str) -> Any:
    """The generator's names, imported on first use: the CLI loads this plugin for every command."""
    if name in ("EventRates", "FleetConfig", "SimEvent", "events"):
        from . import generator

        return getattr(generator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@hookimpl
def tessdb_cli_commands(cli) -> None:
    from .command import simulate

    cli.add_command(simulate)
