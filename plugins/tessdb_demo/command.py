"""The ``tessdb-core demo`` command: check the options (one-line errors), then run the demo.

Why every check raises ValueError instead of using click's range types: the engine
prints a ValueError as one line (``tessdb-core: error: ...``, exit 2).
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import click
from tessdb_core import BadValue, require

__all__ = ["demo", "MAX_PHOTOMETERS", "MIN_HOURS", "MAX_HOURS"]

MAX_PHOTOMETERS = 10_000
MIN_HOURS = 0.25
MAX_HOURS = 24.0


def _number(text: str | None, option: str, kind: type, what: str) -> float | int | None:
    """Parse an option's value ourselves: a bad one is then one line, like every other error."""
    if text is None:
        return None
    try:
        value = kind(text.strip())
    except ValueError:
        raise BadValue(f"{option} must be {what} (got {text!r})") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise BadValue(f"{option} must be {what} (got {text!r})")
    return value


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadValue(f"--date must be a date YYYY-MM-DD, the evening of the night (got {text!r})") from None
    if day.year < 2000:
        raise BadValue(f"--date must be in 2000 or later (got {text})")
    return day


@click.command("demo")
@click.option("--dir", "workdir", default="tessdb-demo", show_default=True, metavar="DIR",
              help="Working directory for the database, inbox, logs and plot (created; must be empty).")
@click.option("--photometers", "photometers_text", default="20", show_default=True, metavar="N",
              help="Simulated photometers (about 10 % TESS4C, at least one).")
@click.option("--hours", "hours_text", default="16", show_default=True, metavar="H",
              help="Length of the night, centred on local midnight (16: 16:00 to 08:00).")
@click.option("--speed", "speed_text", metavar="X",
              help="Simulated seconds per wall second (default: the night in about 40 s).")
@click.option("--date", "day", metavar="YYYY-MM-DD",
              help="The evening's date (default: the last night that has ended).")
@click.option("--seed", "seed_text", default="1", show_default=True, metavar="N",
              help="Simulator seed: same seed, same messages.")
@click.option("--broker", metavar="HOST:PORT",
              help="Use this running broker (anonymous) instead of starting one.")
@click.option("--embedded-broker", "embedded", is_flag=True,
              help="Start the embedded Python broker even when mosquitto is installed.")
@click.option("--keep", is_flag=True,
              help="Run in a non-empty --dir: the demo's own files (database, logs, ...) are replaced, "
                   "other files are left alone.")
def demo(workdir: str, photometers_text: str, hours_text: str, speed_text: str | None, day: str | None,
         seed_text: str, broker: str | None, embedded: bool, keep: bool) -> None:
    """Run the whole collector on a simulated night, in one command.

    Starts a broker on 127.0.0.1 (the local mosquitto, else an embedded Python
    broker), initialises a fresh database, starts the live service
    (`tessdb-core run`), publishes a simulated fleet's night compressed into
    about 40 seconds (TESS-W and TESS4C, a few malformed messages), waits until
    everything is written, stops the service and the broker, draws a night plot
    and prints what was stored, dropped and quarantined.
    """
    require("matplotlib", "demo", "the demo (it draws a night plot)")
    require("ephem", "demo", "the demo (it draws a night plot)")
    photometers = _number(photometers_text, "--photometers", int, "a whole number of photometers")
    hours = _number(hours_text, "--hours", float, "a number of hours")
    speed = _number(speed_text, "--speed", float, "a positive number of simulated seconds per second")
    seed = _number(seed_text, "--seed", int, "a whole number")
    if not 2 <= photometers <= MAX_PHOTOMETERS:
        raise BadValue(f"--photometers must be between 2 and {MAX_PHOTOMETERS:,} (got {photometers})")
    if not MIN_HOURS <= hours <= MAX_HOURS:
        raise BadValue(f"--hours must be between {MIN_HOURS:g} and {MAX_HOURS:g} (got {hours:g})")
    if speed is not None and not speed > 0:
        raise BadValue(f"--speed must be a positive number of simulated seconds per second (got {speed:g})")
    if seed < 0:
        raise BadValue(f"--seed must be 0 or more (got {seed})")
    if broker is not None and embedded:
        raise BadValue("give --broker or --embedded-broker, not both")
    where = None
    if broker is not None:
        from tessdb_sim.command import parse_broker

        where = parse_broker(broker)
    if not workdir.strip():
        raise BadValue("--dir must not be empty")
    from .run import Demo, DemoConfig

    cfg = DemoConfig(Path(workdir), photometers, hours, speed, where, embedded, keep, _day(day), seed)
    Demo(cfg, _echo).run()


def _echo(line: str) -> None:
    click.echo(line)
