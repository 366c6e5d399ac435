"""The CLI kit: what every command of the engine and of the plugins builds on.

A plugin adds commands through the ``tessdb_cli_commands`` hook and uses, from the public
API (``tessdb_core``), only these:

- :func:`pass_app` -- the one way to reach the application (settings, plugins, stores);
- :func:`shared_group` -- a command group several plugins add to (``readings``, ``report``);
- :func:`output_options` and :func:`emit_rows` -- the one set of output options of a listing
  command: an aligned table by default, ``--json`` or ``--csv``;
- :func:`emit`, :func:`table`, :func:`summary` -- the plain output helpers;
- the error family of :mod:`.errors` (a ``UserError`` is one line on stderr and exit 2;
  anything else is an internal error, exit 3, with a pointer to ``--debug``).

Why the context lives here: under ``python -m tessdb_core.cli`` the root group is built by
``__main__``, and a decorator that finds the context object by its class must see the same
class as the plugins; this module is imported once under its own name.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .errors import BadValue, NotFound, UserError

if TYPE_CHECKING:
    from .app import App
    from .plugins import PluginManager

__all__ = ["BadValue", "CliContext", "NotFound", "UserError", "emit", "emit_rows", "output_options", "pass_app",
           "shared_group", "summary", "table"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliContext:
    """The global options of ``tessdb-core`` and the application, made on first use."""

    settings_file: str | None
    env: str | None
    debug: bool
    #: the plugin manager, when the command line built it already (to add the plugins' commands)
    plugins: PluginManager | None = None
    _app: App | None = None

    def app(self, console: bool | None = None) -> App:
        """Settings loaded, plugins built, logs set up (``console=False`` keeps stderr quiet)."""
        if self._app is None:
            from . import app as app_mod

            self._app = app_mod.create(self.settings_file, self.env, console=console, debug=self.debug,
                                       plugins=self.plugins)
        return self._app


#: passes the CliContext as the command's first argument (the engine's root group only)
_pass_context = click.make_pass_decorator(CliContext)


def pass_app(fn: F | None = None, *, quiet: bool = True) -> Any:
    """Pass the application (``App``) as the command's first argument, made when the command runs.

    ``quiet`` (the default): no log lines on the console unless ``--debug``, so the command's
    stdout and stderr hold only its output and its errors.  ``quiet=False``: the console logs as
    ``[logs] console`` says (``run``, ``ingest``: their log is part of what they show).
    Use it bare (``@pass_app``) or with the option (``@pass_app(quiet=False)``)."""

    def decorate(f: F) -> F:
        @_pass_context
        @functools.wraps(f)
        def wrapper(ctx: CliContext, *args: Any, **kwargs: Any) -> Any:
            console = None if (ctx.debug or not quiet) else False
            return f(ctx.app(console=console), *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate(fn) if fn is not None else decorate


def shared_group(cli: click.Group, name: str, help: str) -> click.Group:
    """The group ``name`` of ``cli``, made if no plugin made it yet: several plugins add to
    ``readings``, ``report`` or ``mqtt``, whatever the order they are loaded in."""
    existing = cli.commands.get(name)
    if isinstance(existing, click.Group):
        return existing
    if existing is not None:
        raise BadValue(f"command {name!r} exists and is not a group: a plugin cannot add to it")
    group = click.Group(name, help=help)
    cli.add_command(group)
    return group


def output_options(f: F) -> F:
    """``--json`` and ``--csv`` for a listing command (passed as ``as_json`` and ``as_csv``);
    both at once is a user error.  Without either the command prints an aligned table."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("as_json") and kwargs.get("as_csv"):
            raise BadValue("--json and --csv exclude each other")
        return f(*args, **kwargs)

    wrapper = click.option("--csv", "as_csv", is_flag=True, help="Output CSV (header line, every field).")(wrapper)
    return click.option("--json", "as_json", is_flag=True, help="Output JSON (every field).")(wrapper)  # type: ignore[return-value]


def plain(value: Any) -> Any:
    """A value as JSON and CSV show it: datetimes to the second (microseconds when there are some)."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv_cell(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else plain(value)  # booleans as the database stores them


def _table_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return plain(value)


def emit_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str], as_json: bool = False, as_csv: bool = False,
              empty: str = "", optional: Sequence[str] = ()) -> None:
    """Print a listing: an aligned table of ``columns`` (``optional`` ones only when some row has
    a value; ``empty`` instead of a table without rows), or every field as JSON or CSV."""
    if as_json and as_csv:
        raise BadValue("--json and --csv exclude each other")
    if as_json:
        click.echo(json.dumps([{k: plain(v) for k, v in r.items()} for r in rows], indent=2, default=str))
    elif as_csv:
        out = io.StringIO()
        fields = list(rows[0]) if rows else list(columns)
        writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _csv_cell(v) for k, v in r.items()})
        click.echo(out.getvalue(), nl=False)
    elif not rows and empty:
        click.echo(empty)
    else:
        shown = [c for c in columns if c not in optional or any(r.get(c) is not None for r in rows)]
        click.echo(table([{c: _table_cell(r.get(c)) for c in shown} for r in rows], shown))


def emit(data: Any, as_json: bool) -> None:
    """JSON (indented, dates as strings) or the text as it is."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(data)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Plain aligned columns for terminal output."""
    cells = [[str(r.get(c, "")) if r.get(c) is not None else "" for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def summary(d: dict[str, Any], indent: str = "") -> str:
    """Nested counters as indented ``key: value`` lines."""
    lines = []
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append(f"{indent}{k}:")
            lines.append(summary(v, indent + "  ") if v else f"{indent}  (none)")
        else:
            lines.append(f"{indent}{k}: {v}")
    return "\n".join(lines)
