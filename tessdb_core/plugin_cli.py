"""The command-line surface for plugins: what a plugin's commands build on.

A plugin adds commands through the ``tessdb_cli_commands`` hook and uses only this
module: :func:`pass_app` to get the application (settings, plugins, stores) when the
command runs, the output helpers, and the error family of :mod:`.errors` (a
``UserError`` is one line on stderr and exit 2; anything else is an internal error,
exit 3, with a pointer to ``--debug``).

Why the context lives here: under ``python -m tessdb_core.cli`` the root group is built
by ``__main__``, and a decorator that finds the context object by its class must see
the same class as the plugins; this module is imported once under its own name.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import click

from . import app as app_mod
from .errors import BadValue, NotFound, UserError

__all__ = ["BadValue", "CliContext", "NotFound", "UserError", "emit", "pass_app", "pass_cli", "summary", "table"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliContext:
    """The global options of ``tessdb-core`` and the application, made on first use."""

    settings_file: str | None
    env: str | None
    debug: bool
    _app: app_mod.App | None = None

    def app(self, console: bool | None = None) -> app_mod.App:
        """Settings loaded, plugins built, logs set up (``console=False`` keeps stderr quiet)."""
        if self._app is None:
            self._app = app_mod.create(self.settings_file, self.env, console=console, debug=self.debug)
        return self._app


#: passes the CliContext as the command's first argument
pass_cli = click.make_pass_decorator(CliContext)


def pass_app(console: bool | None = None) -> Callable[[F], F]:
    """Pass the application (``App``) as the command's first argument."""

    def decorate(fn: F) -> F:
        @pass_cli
        @functools.wraps(fn)
        def wrapper(ctx: CliContext, *args: Any, **kwargs: Any) -> Any:
            return fn(ctx.app(console=console), *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def emit(data: Any, as_json: bool) -> None:
    """JSON (indented, dates as strings) or the text as it is."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(data)


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
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
