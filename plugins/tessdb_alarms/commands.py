"""``tessdb-core alarms list [--json] [--days N]`` and ``tessdb-core alarms test``.

Both read the settings in force (``--settings``, ``TESSDB_ALARMS__...``).  ``list`` reads the
state file beside a running service (SQLite WAL: it never blocks the monitor); ``test``
sends one message by every configured channel and, if one fails, exits with 2 and the
SMTP / HTTP error on one line (a :class:`~.notify.DeliveryError`, which the ``tessdb-core``
command treats as the user's to fix).
"""

from __future__ import annotations

import time

import click

from tessdb_core import BadValue, emit, pass_app, table

from .config import AlarmSettings

# the state file, the messages and their delivery (smtplib, urllib) are imported by the command
# that uses them: every other command of the CLI loads this module without them


@click.group("alarms")
def alarms() -> None:
    """Alarms of the running service: list them, send a test message."""


@alarms.command("list")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@click.option("--days", type=click.IntRange(0, 36_500), default=7, show_default=True,
              help="Also list the alarms cleared in the last DAYS days.")
@pass_app
def list_alarms(app, as_json: bool, days: int) -> None:
    """The open alarms, those cleared recently, and the notifications not yet delivered."""
    from .state import AlarmState

    cfg = AlarmSettings.from_settings(app.settings)
    found, unsent = [], []
    if cfg.state_path.exists():
        state = AlarmState(cfg.state_path)
        try:
            found = [a.as_dict() for a in state.alarms(since=time.time() - days * 86_400)]
            unsent = [p.as_dict() for p in state.pending()]
        finally:
            state.close()
    if as_json:
        emit({"alarms": found, "unsent": unsent, "state_path": str(cfg.state_path)}, True)
        return
    if not found:
        click.echo(f"no open alarm, none cleared in the last {days} days ({cfg.state_path})")
    else:
        click.echo(table(found, ["id", "state", "kind", "name", "opened_at", "cleared_at", "detail"]))
    if unsent:
        click.echo(f"\n{len(unsent)} notification(s) not delivered yet, retried at every check:")
        click.echo(table(unsent, ["id", "created_at", "channels", "attempts", "last_error", "subject"]))


@alarms.command("test")
@pass_app
def test_alarms(app) -> None:
    """Send a test message with the configured settings (exit 2 with the error if it fails)."""
    from .messages import trial_note
    from .notify import DeliveryError, deliver

    cfg = AlarmSettings.from_settings(app.settings)
    if not cfg.enabled:
        raise BadValue("[alarms] has no receivers and no webhook_url: there is nowhere to send a test message")
    note = trial_note(cfg.host, time.time())
    errors = []
    for channel in cfg.channels:
        try:
            click.echo(f"test message sent by {channel} to {deliver(cfg, channel, note)}")
        except DeliveryError as exc:
            errors.append(str(exc))
    if errors:
        raise DeliveryError("; ".join(errors))
