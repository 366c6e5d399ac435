"""The ``tessdb-core simulate`` command: read and check the options, then run the fleet.

Why every check raises ValueError here instead of using click's range types: the
engine prints a ValueError as one line (``tessdb-core: error: ...``, exit 2),
which is what an operator or a script wants to see.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import click

from tessdb_core import App, BadValue, pass_app


__all__ = ["simulate", "parse_duration", "parse_broker", "parse_start"]


#: names are ``stars`` + at most 7 digits, renames included
MAX_PHOTOMETERS = 1_000_000
_DURATION = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*([smhd]?)\s*")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``12h``, ``2d`` -> seconds."""
    m = _DURATION.fullmatch(text)
    if m is None or float(m.group(1)) <= 0:
        raise BadValue(f"--duration must be a positive number of seconds, optionally with s, m, h or d "
                         f"(got {text!r})")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_broker(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise BadValue(f"--broker must be HOST:PORT with a port 1..65535 (got {text!r})")
    return host, int(port)


def parse_start(text: str | None) -> datetime:
    """An ISO 8601 time (``Z``, an offset, or naive = UTC) -> naive UTC; None -> now."""
    if text is None:
        return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    try:
        t = datetime.fromisoformat(text[:-1] if text[-1:] in "Zz" and text else text)
    except ValueError:
        raise BadValue(f"--start must be an ISO 8601 time such as 2026-11-30T18:00:00Z (got {text!r})") from None
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc).replace(tzinfo=None)
    return t.replace(microsecond=0)


def _share(value: float, option: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise BadValue(f"{option} must be between 0 and 1 (got {value})")
    return value


def _positive(value: float | None, option: str, what: str) -> float | None:
    if value is not None and not value > 0:
        raise BadValue(f"{option} must be a positive {what} (got {value:g})")
    return value


@click.command("simulate")
@click.option("--photometers", type=int, help="How many photometers (required).")
@click.option("--rate", type=float, help="Messages per wall-clock second, overall (sets --speed when it is not given; "
                                        "otherwise a cap).")
@click.option("--broker", metavar="HOST:PORT", help="Broker to publish to (default: the [mqtt] host and port).")
@click.option("--username", help="Broker user name (default: [mqtt] username).")
@click.option("--password-env", metavar="VAR", help="Environment variable holding the broker password.")
@click.option("--speed", type=float, help="Simulated seconds per wall second (60: a simulated minute per second). "
                                         "Default: from --rate, else 1 (real time).")
@click.option("--duration", metavar="SECONDS", help="Length of the simulated period (90, 30m, 12h, 2d), "
                                                    "in simulated time.")
@click.option("--readings", type=int, metavar="COUNT", help="Stop after COUNT readings (broken ones included).")
@click.option("--start", metavar="ISO", help="Simulated UTC start, e.g. 2026-11-30T12:00:00Z (default: now).")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same messages.")
@click.option("--out", metavar="FILE.jsonl", help="Write the messages in the offline-ingest format (- = stdout) "
                                                 "instead of publishing; no waiting.")
@click.option("--tess4c-share", type=float, default=0.1, show_default=True, help="Share of TESS4C photometers.")
@click.option("--malformed-rate", type=float, default=0.001, show_default=True,
              help="Share of readings replaced by a broken message.")
@click.option("--qos", type=int, default=1, show_default=True, help="MQTT QoS of the published messages (0, 1, 2).")
@click.option("--client-id", default="", help="MQTT client id (default: one chosen by the library).")
@click.option("--every", type=float, default=10.0, show_default=True,
              help="Seconds between progress lines on stderr (0: none).")
@click.option("--json", "as_json", is_flag=True, help="Print the final summary as JSON.")
@pass_app
def simulate(app: App, photometers: int | None, rate: float | None, broker: str | None, username: str | None,
             password_env: str | None, speed: float | None, duration: str | None, readings: int | None,
             start: str | None, seed: int, out: str | None, tess4c_share: float, malformed_rate: float, qos: int,
             client_id: str, every: float, as_json: bool) -> None:
    """Publish (or write) the messages of a simulated fleet of TESS-W and TESS4C photometers.

    Each photometer registers when it boots, then sends a reading every simulated
    minute: saturated zeros by day, 17-21.5 mag/arcsec^2 by night at its site, with
    temperatures, signal strength, reboots (sequence restarts), zero-point changes,
    renames, replacements and a few malformed payloads.
    """
    if photometers is None:
        raise BadValue("--photometers is required (how many photometers to simulate)")
    if not 1 <= photometers <= MAX_PHOTOMETERS:
        raise BadValue(f"--photometers must be between 1 and {MAX_PHOTOMETERS:,} (got {photometers})")
    _positive(rate, "--rate", "number of messages per second")
    _positive(speed, "--speed", "time factor")
    if every < 0:
        raise BadValue(f"--every must be 0 (no progress lines) or a positive number of seconds (got {every:g})")
    seconds = parse_duration(duration) if duration is not None else None
    if readings is not None and readings < 1:
        raise BadValue(f"--readings must be at least 1 (got {readings})")
    if seconds is not None and readings is not None:
        raise BadValue("give --duration or --readings, not both")
    if qos not in (0, 1, 2):
        raise BadValue(f"--qos must be 0, 1 or 2 (got {qos})")
    from .generator import FleetConfig, events  # here: every other command loads this module without them
    from .runner import Pacer, run

    cfg = FleetConfig(photometers, parse_start(start), seed, _share(tess4c_share, "--tess4c-share"),
                      _share(malformed_rate, "--malformed-rate"), seconds, readings)
    echo = _echo_err
    if out is not None:
        if broker or username or password_env:
            raise BadValue("--out writes a file instead of publishing: drop --broker, --username, --password-env")
        if seconds is None and readings is None:
            raise BadValue("--out needs --duration or --readings (the fleet never stops by itself)")
        from .sinks import JsonlSink

        sink = JsonlSink(out)
        with _graceful_stop() as stop:
            tally = run(events(cfg), sink, None, every, echo, stop)
        verb = "wrote"
    else:
        sink = _mqtt_sink(app, broker, username, password_env, qos, client_id)
        if speed is None:
            speed = rate * cfg.period / photometers if rate else 1.0
        pacer = Pacer(cfg.start, speed, rate)
        with _graceful_stop() as stop:
            tally = run(events(cfg), sink, pacer, every, echo, stop)
        verb = "published"
    to_stderr = out == "-"
    if as_json:
        click.echo(json.dumps(tally.as_dict(), indent=2), err=to_stderr)
    else:
        click.echo(tally.summary(verb), err=to_stderr)
    if tally.unconfirmed:
        raise OSError(f"{tally.unconfirmed:,} message(s) were not acknowledged by the broker {sink.target}")


@contextmanager
def _graceful_stop() -> Iterator[Callable[[], bool]]:
    """Ctrl-C or SIGTERM once: finish the current message, wait for the acknowledgements, report.
    A second one aborts the wait.  Yields the "stop requested?" test the runner polls."""
    requested = []

    def handler(signum, frame):
        if requested:
            raise KeyboardInterrupt
        requested.append(signum)

    try:
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: leave the signals alone
        yield lambda: False
        return
    try:
        yield lambda: bool(requested)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _echo_err(line: str) -> None:
    click.echo(line, err=True)


def _mqtt_sink(app: App, broker: str | None, username: str | None, password_env: str | None, qos: int,
               client_id: str):
    """The broker connection: options first, then the [mqtt] settings."""
    from .mqtt_sink import MqttSink

    password = None
    if password_env:
        if not username:
            raise BadValue("--password-env needs --username")
        password = os.environ.get(password_env)
        if password is None:
            raise BadValue(f"--password-env: the environment variable {password_env} is not set")
    if broker is None or username is None:
        mqtt = app.settings.mqtt
        if broker is None:
            broker = f"{mqtt.host}:{mqtt.port}"
        if username is None and mqtt.username:
            username, password = mqtt.username, mqtt.password or None
    host, port = parse_broker(broker)
    return MqttSink(host, port, qos, username, password, client_id)
