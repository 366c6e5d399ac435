"""Shared helpers for the simulator tests: decoding with the real TESS plugin, running the CLI."""

from __future__ import annotations

import subprocess

from cli_runner import Cli
from datetime import datetime
from pathlib import Path

from tessdb_core.events import Message
from tessdb_core.settings import Settings
from tessdb_sim.generator import FleetConfig, SimEvent
from tessdb_tess.decode import decode

#: a winter afternoon: the first hours are daylight, then a long night over Europe
START = datetime(2026, 11, 30, 12, 0, 0)
SETTINGS = Settings.from_dict({})


def config(photometers: int = 10, **kw) -> FleetConfig:
    kw.setdefault("start", START)
    return FleetConfig(photometers, **kw)


def decoded(event: SimEvent):
    """What the default decoder makes of a simulated message."""
    return decode(Message(event.topic, event.payload.encode(), event.received), SETTINGS)


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``tessdb-core ARGS`` in ``cwd`` with the default settings (cli_runner.Cli)."""
    return Cli(cwd)(*args, check=False)
