"""The ``tessdb-core`` command.

Errors are one line on stderr and a non-zero exit; ``--debug`` shows the traceback.
Plugins add their own commands through the ``tessdb_cli_commands`` hook.

Start-up: this module imports only click and the engine's light modules.  The settings
(dynaconf), the logs (loguru), the plugin manager (pluggy) and the plugins are imported by the
commands that use them, and the ``[plugins]`` section is read once per command: ``version``
needs none of them (the plugins' names and versions come from their packages' metadata).
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .actions import ACTIONS
from .errors import NotFound, PluginError, UserError
from .plugin_cli import CliContext, _pass_context, emit, emit_rows, output_options, pass_app, summary

if TYPE_CHECKING:
    from . import app as app_mod
    from .plugins import PluginManager


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that are the user's to fix: shown as one line, never as a traceback.  A
    KeyError or an AttributeError is a bug: an internal error (exit 3).  (A function: the
    settings and the stores' contracts are imported only once a command has failed.)"""
    from .contracts import StoreError
    from .settings import SettingsError

    return UserError, SettingsError, PluginError, StoreError, OSError


class _Cli(click.Group):
    """The built-in commands at once; the plugins' (``tessdb_cli_commands``) only when a
    name is not a built-in one or the whole list is wanted (``--help``): ``version``,
    ``run`` or ``ingest`` import no plugin's command modules."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None and _load_plugin_commands():
            found = super().get_command(ctx, cmd_name)
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        _load_plugin_commands()
        return super().list_commands(ctx)


#: the arguments main() was called with, until the plugin commands are added (None: added)
_argv_for_plugins: list[str] | None = None
#: the plugin manager built to add the plugins' commands, by (settings file, environment): the
#: command that then runs reuses it, so the ``[plugins]`` section is read once
_plugins_built: dict[tuple[str | None, str | None], PluginManager] = {}
#: commands that neither log nor load a plugin: they start without loguru
_WITHOUT_LOGS = frozenset({"version"})
#: the command line's console sink is in place for this run of main() (a loguru ``add`` costs ~15 ms)
_console_ready = False


def _command_line_console() -> None:
    """Warnings and errors on stderr, one line each, until the command's settings set up the logs."""
    global _console_ready
    if not _console_ready:
        from . import logs

        logs.command_line_console()
        _console_ready = True


def _load_plugin_commands() -> bool:
    """Add the plugins' commands once; True when this call added them."""
    global _argv_for_plugins
    argv, _argv_for_plugins = _argv_for_plugins, None
    if argv is None:
        return False
    _add_plugin_commands(argv)
    return True


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--settings", "settings_file", type=click.Path(dir_okay=False), envvar="TESSDB_SETTINGS",
              help="Settings file (TOML) layered over the defaults.")
@click.option("--env", type=click.Choice(["default", "production"]), default=None,
              help="Settings environment (default: $TESSDB_ENV or 'default').")
@click.option("--debug", is_flag=True, help="Debug logs, and tracebacks on errors.")
@click.version_option(__version__, prog_name="tessdb-core")
@click.pass_context
def cli(ctx: click.Context, settings_file: str | None, env: str | None, debug: bool) -> None:
    """tessdb-core: collect TESS photometer readings into the STARS4ALL star schema."""
    if ctx.invoked_subcommand not in _WITHOUT_LOGS:
        _command_line_console()
    ctx.obj = CliContext(settings_file, env, debug, plugins=_plugins_built.get((settings_file, env)))


@cli.command()
def version() -> None:
    """Print the version of the engine and of every installed plugin (`plugins`: which are active)."""
    from .entrypoints import installed  # the packages' metadata: no plugin, settings or logs imported

    click.echo(f"tessdb-core {__version__}")
    for plugin in installed():
        click.echo(f"  {plugin.name}: {plugin.distribution} {plugin.version}")


@cli.command("plugins")
@output_options
@_pass_context  # the plugin manager alone: no settings, no logs (fast)
def plugins_cmd(ctx: CliContext, as_json: bool, as_csv: bool) -> None:
    """List every plugin: distribution, version, hooks and state (active, blocked, failed)."""
    infos = [i.as_dict() for i in _plugins_only(ctx).listing()]
    if not as_json:
        for i in infos:
            i["hooks"] = (" " if as_csv else ", ").join(h.removeprefix("tessdb_") for h in i["hooks"])
    emit_rows(infos, ["name", "distribution", "version", "state", "hooks", "error"], as_json, as_csv)


def _plugins_only(ctx: CliContext) -> PluginManager:
    """The plugin manager alone (the ``[plugins]`` section decides which are loaded): listing
    the plugins needs neither the full settings nor the logs, so it starts fast."""
    if ctx.plugins is None:
        from . import app as app_mod

        ctx.plugins = app_mod.bootstrap_plugins(ctx.settings_file, ctx.env)
    return ctx.plugins


@cli.group("settings")
def settings_group() -> None:
    """Inspect the settings in force."""


@settings_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Output JSON instead of TOML-like text.")
@pass_app
def settings_show(app: app_mod.App, as_json: bool) -> None:
    """Show the validated settings (secrets redacted)."""
    data = app.settings.redacted()
    if as_json:
        emit(data, True)
        return
    click.echo(_toml_like(data))


@settings_group.command("import")
@click.option("--from", "config_file", required=True, help="tessdb-server's config.toml (4.x or 5.x).")
@click.option("--env", "env_file", help="tessdb-server's env file (/etc/tessdb/tessdb.env).")
@click.option("--alarms-env", "alarms_file", help="The env file of tessdb-server 5.x's tess-db-alarms.")
@click.option("--out", "out_dir", help="Write settings.toml and .secrets.toml into this folder instead of printing.")
@click.option("--force", is_flag=True, help="With --out: replace existing files.")
def settings_import(config_file: str, env_file: str | None, alarms_file: str | None, out_dir: str | None,
                    force: bool) -> None:
    """Translate a tessdb-server installation's settings into tessdb-core's (secrets apart)."""
    from . import settings_import as si

    imported = si.import_files(config_file, env_file, alarms_file)
    for note in imported.notes:
        click.echo(f"tessdb-core: settings import: {note}", err=True)
    if out_dir is None:
        click.echo(si.settings_text(imported) + "\n" + si.secrets_text(imported, redact=True), nl=False)
    else:
        click.echo("\n".join(f"wrote {p}" for p in si.write_files(imported, out_dir, force)))


def _toml_like(data: dict[str, Any], prefix: str = "") -> str:
    lines, tables = [], []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{k} = {json.dumps(v)}")
    out = []
    if prefix or lines:
        out.append(f"[{prefix}]" if prefix else "")
        out.extend(lines)
    for k, v in tables:
        out.append(_toml_like(v, f"{prefix}.{k}" if prefix else k))
    return "\n".join(x for x in out if x is not None).strip("\n") + "\n"


@cli.command()
@click.option("--db", help="Database path or URL (default: setting dbase.url).")
@pass_app(quiet=False)
def init(app: app_mod.App, db: str | None) -> None:
    """Create the star schema and its preload (idempotent)."""
    store = app.store(db)
    click.echo(store.initialise())


@cli.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--db", help="Database path or URL (default: setting dbase.url).")
@click.option("--json", "as_json", is_flag=True, help="Print the counters as JSON.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: large files on a terminal).")
@pass_app(quiet=False)
def ingest(app: app_mod.App, files: tuple[str, ...], db: str | None, as_json: bool, progress: bool | None) -> None:
    """Ingest JSON Lines captures (FILE... or - for stdin) through the live pipeline."""
    from .ingest import ingest as run

    for f in files:
        if f != "-":
            with open(f, "rb"):
                pass  # fail early, naming the file, before anything is written
    stats = run(app, list(files), db, progress)
    emit(stats.as_dict() if as_json else summary(stats.as_dict()), as_json)


# -- the live service and its controls ---------------------------------------------------------------
@cli.command()
@pass_app(quiet=False)
def run(app: app_mod.App) -> None:
    """Run the live service: MQTT in, durable inbox, pipeline, database (until SIGTERM or `stop`)."""
    from .service import Service

    Service(app).run()


def _control(app: app_mod.App, method: str, path: str) -> Any:
    from .admin_client import AdminClient

    return AdminClient.from_settings(app.settings).request(method, path)


def _control_command(action: str, doc: str) -> None:
    @cli.command(name=action, help=doc)
    @pass_app
    def command(app: app_mod.App) -> None:
        click.echo(_control(app, "POST", f"/v1/server/{action}")["message"])


for _action in ACTIONS.values():
    _control_command(_action.name, _action.help)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_app
def stats(app: app_mod.App, as_json: bool) -> None:
    """Counters of the running service since the last periodic summary."""
    data = _control(app, "GET", "/v1/stats")
    emit(data if as_json else summary(data), as_json)


# -- quarantine ---------------------------------------------------------------------------------
@cli.group()
def quarantine() -> None:
    """List, inspect, count, purge and replay the messages that were not stored."""


def _quarantine(app: app_mod.App):
    from .quarantine import Quarantine

    return Quarantine(app.settings.inbox.path)


_reason = click.option("--reason", help="Only this reason (e.g. unknown_photometer).")
_name = click.option("--name", help="Only this photometer name.")


@quarantine.command("list")
@_reason
@_name
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many (0 = all).")
@output_options
@pass_app
def quarantine_list(app: app_mod.App, reason: str | None, name: str | None, limit: int, as_json: bool,
                    as_csv: bool) -> None:
    """List quarantined messages, oldest first (--json and --csv: with the payload)."""
    entries = [e.as_dict(with_payload=as_json or as_csv) for e in _quarantine(app).entries(reason, name, limit or None)]
    emit_rows(entries, ["id", "at", "reason", "stage", "plugin", "name", "topic", "detail"], as_json, as_csv)


@quarantine.command("show")
@click.argument("entry_id", type=int)
@pass_app
def quarantine_show(app: app_mod.App, entry_id: int) -> None:
    """Show one quarantined message with its raw payload."""
    entry = _quarantine(app).get(entry_id)
    if entry is None:
        raise NotFound(f"no quarantine entry with id {entry_id}")
    emit(entry.as_dict(), True)


@quarantine.command("count")
@_reason
@_name
@output_options
@pass_app
def quarantine_count(app: app_mod.App, reason: str | None, name: str | None, as_json: bool, as_csv: bool) -> None:
    """Count quarantined messages per reason (--json: an object reason -> count)."""
    counts = _quarantine(app).count(reason, name)
    if as_json:
        emit(counts, True)
    elif as_csv:
        emit_rows([{"reason": k, "count": v} for k, v in counts.items()], ["reason", "count"], as_csv=True)
    else:
        click.echo("\n".join(f"{k}: {v}" for k, v in counts.items()) or "quarantine is empty")


@quarantine.command("purge")
@_reason
@_name
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def quarantine_purge(app: app_mod.App, reason: str | None, name: str | None, yes: bool) -> None:
    """Delete quarantined messages (all, or those of a reason / photometer)."""
    q = _quarantine(app)
    total = sum(q.count(reason, name).values())
    if total and not yes:
        click.confirm(f"Delete {total} quarantined message(s)?", abort=True)
    click.echo(f"purged {q.purge(reason, name)} message(s)")


@quarantine.command("replay")
@_reason
@_name
@click.option("--db", help="Database path or URL (default: setting dbase.url).")
@click.option("--json", "as_json", is_flag=True)
@pass_app(quiet=False)
def quarantine_replay(app: app_mod.App, reason: str | None, name: str | None, db: str | None, as_json: bool) -> None:
    """Run quarantined messages through the pipeline again (e.g. after a late registration)."""
    from .replay import replay

    result = replay(app, reason, name, db)
    emit(result if as_json else summary(result), as_json)


# -- entry point --------------------------------------------------------------------------------
def _add_plugin_commands(argv: list[str]) -> None:
    """Let plugins add commands; a broken plugin must not break ``--help``."""
    from . import app as app_mod

    settings_file = _argv_value(argv, "--settings") or os.environ.get("TESSDB_SETTINGS") or None
    env = _argv_value(argv, "--env")
    _command_line_console()
    try:
        pm = app_mod.bootstrap_plugins(settings_file, env)
        pm.hook.tessdb_cli_commands(cli=cli)
        _plugins_built[(settings_file, env)] = pm
    except Exception as exc:  # reported properly when a command loads the app
        from loguru import logger

        logger.bind(ns="cli").debug("plugin commands not added: {}", exc)


def _argv_value(argv: list[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    global _argv_for_plugins, _console_ready
    _argv_for_plugins = argv  # plugin commands are added when a name is not a built-in one
    _plugins_built.clear()
    _console_ready = False
    debug = "--debug" in argv
    try:
        cli.main(args=argv, prog_name="tessdb-core", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.exceptions.UsageError as exc:  # click's own "Usage: ... Error: ..." as one line
        where = exc.ctx.command_path if exc.ctx is not None else "tessdb-core"
        click.echo(f"tessdb-core: error: {exc.format_message()} (see `{where} --help`)", err=True)
        return 2
    except click.exceptions.ClickException as exc:
        click.echo(f"tessdb-core: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except Exception as exc:
        if debug:
            raise
        if isinstance(exc, user_errors()):
            click.echo(f"tessdb-core: error: {exc}", err=True)
            return 2
        click.echo(f"tessdb-core: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                   err=True)
        return 3
    return 0


if __name__ == "__main__":  # pragma: no cover
    # run the real module, not this __main__ copy: its commands are the ones plugins add to
    from tessdb_core.cli import main as _main

    sys.exit(_main())
