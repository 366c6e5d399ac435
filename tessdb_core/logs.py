"""Logging through loguru: sinks, stdlib interception, per-namespace and per-photometer levels.

Code logs with ``logger.bind(ns="mqtt")`` (a namespace) and, for traces about one
instrument, ``logger.bind(ns="filter", name="stars1")``.  One filter function
decides, from the settings snapshot, whether a record passes: the photometer
level wins when the record names a photometer listed in ``[logs.photometers]``,
then the namespace level, then ``[logs] level``.  Sinks never print variable
values in tracebacks (``diagnose=False``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Any

from loguru import logger

#: loguru level numbers by the names used in settings (the admin API adds "none" and "warn")
LEVEL_NO = {"trace": 5, "debug": 10, "info": 20, "success": 25, "warning": 30, "warn": 30,
            "error": 40, "critical": 50, "none": 100}

CONSOLE_FORMAT = ("<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> [<level>{level: <8}</level>] "
                  "[{extra[ns]}] {message}")
FILE_FORMAT = "{time:YYYY-MM-DDTHH:mm:ss.SSSZ} [{level: <8}] [{extra[ns]}] {message}"


class LevelTable:
    """Minimum levels by photometer, by namespace and by default, as numbers; updated on reload."""

    def __init__(self) -> None:
        self.default = LEVEL_NO["info"]
        self.namespaces: dict[str, int] = {}
        self.photometers: dict[str, int] = {}

    def update(self, logs: Mapping[str, Any]) -> None:
        self.default = LEVEL_NO[str(logs.get("level", "info")).lower()]
        self.namespaces = {k: LEVEL_NO[str(v).lower()] for k, v in (logs.get("namespaces") or {}).items()}
        self.photometers = {k: LEVEL_NO[str(v).lower()] for k, v in (logs.get("photometers") or {}).items()}

    def passes(self, record: dict) -> bool:
        extra = record["extra"]
        name = extra.get("name")
        if name is not None and name in self.photometers:
            return record["level"].no >= self.photometers[name]
        ns = extra.get("ns", "")
        while ns:
            if ns in self.namespaces:
                return record["level"].no >= self.namespaces[ns]
            ns = ns.rpartition(".")[0]
        return record["level"].no >= self.default

    @property
    def floor(self) -> int:
        return min([self.default, *self.namespaces.values(), *self.photometers.values()])


#: the level table in force, which every sink's filter reads
levels_in_force = LevelTable()
_sink_ids: list[int] = []
_setup_args: dict[str, Any] = {}


class InterceptHandler(logging.Handler):
    """Route records of libraries using the standard ``logging`` (paho, dynaconf) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.bind(ns=record.name).opt(exception=record.exc_info).log(level, record.getMessage())


def command_line_console() -> None:
    """The command line's console until the settings are read: warnings and errors, one line each
    (a plugin that fails to load, a bad ``[plugins]`` section), none of loguru's debug lines."""
    logger.remove()
    logger.add(sys.stderr, level="WARNING", format="{level}: {message}", backtrace=False, diagnose=False)


def setup(settings: Any, console: bool | None = None, debug: bool = False, floor: int | None = None) -> None:
    """(Re)configure every sink from the ``[logs]`` section of a settings snapshot."""
    _setup_args.update(settings=settings, console=console, debug=debug)
    logs = settings.get("logs") or {}
    levels_in_force.update(logs)
    if debug:
        levels_in_force.default = min(levels_in_force.default, LEVEL_NO["debug"])
    logger.remove()  # every sink, loguru's own default stderr sink included
    _sink_ids.clear()
    logger.configure(extra={"ns": "tessdb"})
    floor = levels_in_force.floor if floor is None else min(floor, levels_in_force.floor)
    _sink_floor[0] = floor
    if logs.get("console", True) if console is None else console:
        # [logs] json also here: under systemd the console is the journal
        _sink_ids.append(logger.add(sys.stderr, level=floor, format=CONSOLE_FORMAT, filter=levels_in_force.passes,
                                    colorize=None, backtrace=False, diagnose=False,
                                    serialize=bool(logs.get("json", False))))
    path = logs.get("file") or ""
    if path:
        _sink_ids.append(logger.add(path, level=floor, format=FILE_FORMAT, filter=levels_in_force.passes,
                                    rotation=logs.get("rotation") or None,
                                    retention=logs.get("retention") or None,
                                    serialize=bool(logs.get("json", False)), enqueue=False,
                                    backtrace=False, diagnose=False, encoding="utf-8"))
    logging.basicConfig(handlers=[InterceptHandler()], level=logging.DEBUG if floor < 20 else logging.INFO, force=True)


_sink_floor = [LEVEL_NO["info"]]


def reconfigure_levels(settings: Any) -> None:
    """Apply reloadable level changes; the sinks are rebuilt only if a level went below their floor
    (from this snapshot: a rebuild from the one of the start would undo the new levels)."""
    if _setup_args:
        _setup_args["settings"] = settings
    levels_in_force.update(settings.get("logs") or {})
    if _setup_args.get("debug"):
        levels_in_force.default = min(levels_in_force.default, LEVEL_NO["debug"])
    _refloor()


def set_level(level: str, namespace: str | None = None, photometer: str | None = None) -> None:
    """Change one namespace's or one photometer's level at run time (admin API)."""
    table = levels_in_force.namespaces if namespace is not None else levels_in_force.photometers
    table[namespace if namespace is not None else photometer] = LEVEL_NO[level.lower()]
    _refloor()


def _refloor() -> None:
    table = levels_in_force
    if table.floor < _sink_floor[0] and _setup_args:
        default, namespaces, photometers, floor = table.default, dict(table.namespaces), dict(table.photometers), table.floor
        setup(**_setup_args, floor=floor)
        table.default = default  # what the admin API set at run time stays, over the snapshot's
        table.namespaces.update(namespaces)
        table.photometers.update(photometers)
