"""Example tessdb-core plugin: a CSV payload decoder, a saturation filter and a listing command.

It imports nothing from tessdb-core but the package's top level, the public plugin API.
"""

from __future__ import annotations

import click

from tessdb_core import (App, Reading, Reason, ReportQueries, Rejection, Setting, SettingsSection, TimestampSource,
                         emit_rows, hookimpl, is_str_list, output_options, pass_app, shared_group)

FIELDS = ("seq", "freq", "mag", "tamb", "tsky")


def _matches(topic: str, pattern: str) -> bool:
    """MQTT topic filter matching for '+' and '#'."""
    t, p = topic.split("/"), pattern.split("/")
    for i, part in enumerate(p):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(t) == len(p)


@hookimpl
def tessdb_settings_schema():
    return [SettingsSection("example", "The example CSV decoder.", (
        Setting("topics", ["EXAMPLE/+/csv"], "Topic filters of the CSV readings.", "a list of topic filters",
                is_str_list, reloadable=True),
    ))]


@hookimpl
def tessdb_decode(message, settings):
    if not any(_matches(message.topic, p) for p in settings.get("example.topics", ())):
        return None
    name = message.topic.split("/")[1]
    try:
        parts = message.payload.decode("ascii").strip().split(",")
    except UnicodeDecodeError:
        return Rejection(Reason.BAD_ENCODING, "CSV payload is not ASCII", field="payload", name=name)
    if len(parts) != len(FIELDS):
        return Rejection(Reason.MISSING_FIELD, f"expected {len(FIELDS)} CSV fields {FIELDS}, got {len(parts)}",
                         field="payload", name=name)
    try:
        seq = int(parts[0])
        freq, mag, tamb, tsky = (float(x) for x in parts[1:])
    except ValueError as exc:
        return Rejection(Reason.WRONG_TYPE, f"CSV field not a number: {exc}", field="payload", name=name)
    when = message.received.replace(microsecond=0)
    return Reading(name.lower(), when, TimestampSource.SUBSCRIBER, seq, (freq,), (mag,), tamb, tsky, message,
                   raw_name=name)


class Saturation:
    """Drops saturated readings (magnitude 0 on the last channel) immediately."""

    name = "saturation"

    def __init__(self) -> None:
        self.dropped = 0

    def process(self, reading):
        if reading.mag[-1] == 0.0:
            self.dropped += 1
            return (), (reading,)
        return (reading,), ()

    def flush(self):
        return ()

    def reconfigure(self, settings):
        pass

    def state(self):
        return {"dropped": self.dropped}


@hookimpl
def tessdb_filters(settings):
    return [Saturation()]


@click.command("csv-photometers")
@click.option("--db", help="Database path or URL (default: setting dbase.url).")
@output_options
@pass_app
def csv_photometers(app: App, db: str | None, as_json: bool, as_csv: bool) -> None:
    """The photometers known to the database, with the topic their CSV readings go to."""
    store = app.store(db)
    store.open()
    try:
        names = app.queries(ReportQueries, store).names()
    finally:
        store.close()
    prefix = (app.settings.get("example.topics") or ["EXAMPLE/+/csv"])[0]
    rows = [{"name": n, "topic": prefix.replace("+", n)} for n in names]
    emit_rows(rows, ["name", "topic"], as_json, as_csv, empty="no photometer")


@hookimpl
def tessdb_cli_commands(cli):
    shared_group(cli, "example", "The example plugin's commands.").add_command(csv_photometers)
