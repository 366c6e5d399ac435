"""``tessdb-core mqtt forget-session``: end the collector's persistent session at the broker.

Why: the service connects with a fixed client id and a persistent session (MQTT 5 session
expiry ``[mqtt] session_expiry``, 7 days; MQTT 3.1.1 ``clean_session = false``), so the broker
queues every message for it while it is stopped.  That is what makes a restart lose nothing;
but while an operator runs the old tessdb-server instead, the queue grows (up to the broker's
``max_queued_messages``), and when tessdb-core comes back it replays all of it: registrations
handled again, readings the old server already stored skipped as duplicates.  This command
connects once with the service's client id and a clean start (MQTT 5 ``clean_start`` and session
expiry 0; 3.1.1 ``clean_session``), which makes the broker discard the session and every message
queued in it, then disconnects.  The next ``tessdb-core run`` starts a new session.

The cost is stated before it asks: the queued messages are gone for tessdb-core.  It refuses
while the service answers on its admin address (connecting with its client id would take the
session from under it).
"""

from __future__ import annotations

import time
from typing import Any

import click

from tessdb_core import UserError, pass_app, shared_group

__all__ = ["add_commands", "forget_session", "service_answers"]

#: seconds to wait for the broker's CONNACK
CONNACK_TIMEOUT = 15.0

MQTT_HELP = "The collector's session at the MQTT broker."


def add_commands(cli: click.Group) -> None:
    """Add ``mqtt forget-session``; the ``mqtt`` group may be shared with another plugin."""
    shared_group(cli, "mqtt", MQTT_HELP).add_command(forget_session_command)


def service_answers(settings: Any, timeout: float = 2.0) -> bool:
    """True when something answers HTTP on the service's admin address (``[http]``):
    the service is running.  Any HTTP answer counts, a refusal (401, 503) included."""
    if not settings.http.get("enabled", True):
        return False
    from tessdb_core import AdminClient  # here: urllib is not needed by the CLI's other commands

    return AdminClient.from_settings(settings).status("/health/live", timeout) is not None


def forget_session(settings: Any, timeout: float = CONNACK_TIMEOUT) -> str:
    """Connect once with ``[mqtt] client_id`` and a clean start, then disconnect: the broker
    discards the persistent session and its queued messages.  Returns the broker's answer
    as one line; raises UserError when the broker cannot be reached or refuses."""
    import ssl  # here, with paho: the other commands of the CLI never talk to a broker

    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    m = settings.mqtt
    v5 = str(m.protocol) == "5"
    kwargs: dict[str, Any] = {"client_id": m.client_id, "protocol": mqtt.MQTTv5 if v5 else mqtt.MQTTv311}
    if not v5:
        kwargs["clean_session"] = True
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
    if m.username:
        client.username_pw_set(m.username, m.password or None)
    tls = m.get("tls") or {}
    if tls.get("enabled"):
        client.tls_set(ca_certs=tls.get("ca") or None, certfile=tls.get("certfile") or None,
                       keyfile=tls.get("keyfile") or None, cert_reqs=ssl.CERT_REQUIRED)
    answer: dict[str, Any] = {}

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        answer["rc"] = reason_code

    client.on_connect = on_connect
    where = f"{m.host}:{m.port}"
    try:
        if v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 0  # and the new, empty session ends with this connection
            client.connect(m.host, int(m.port), int(m.keepalive), clean_start=True, properties=props)
        else:
            client.connect(m.host, int(m.port), int(m.keepalive))
    except (OSError, ssl.SSLError) as exc:
        raise UserError(f"cannot connect to the MQTT broker at {where}: {exc}; nothing was changed") from None
    try:
        deadline = time.monotonic() + timeout
        while "rc" not in answer and time.monotonic() < deadline:
            if client.loop(0.1) not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_AGAIN):
                break
    finally:
        client.disconnect()  # with session expiry 0 the broker keeps nothing of this connection
        if client.socket() is not None:
            client.loop(0.5)  # let the DISCONNECT go out
    rc = answer.get("rc")
    if rc is None:
        raise UserError(f"the MQTT broker at {where} did not answer the connection; the session may be unchanged")
    if rc.is_failure:
        raise UserError(f"the MQTT broker at {where} refused the connection ({rc}); nothing was changed")
    protocol = "MQTT 5, clean start, session expiry 0" if v5 else "MQTT 3.1.1, clean session"
    return (f"the broker at {where} has discarded the session of client id {m.client_id!r} and the messages it "
            f"held ({protocol}); the next `tessdb-core run` starts a new session")


@click.command("forget-session")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def forget_session_command(app: Any, yes: bool) -> None:
    """End the broker's persistent session of this collector (and drop what it queued).

    For moving back to tessdb-server: while the old server runs, the broker keeps queueing
    messages for tessdb-core's session (client id [mqtt] client_id), and tessdb-core replays
    them all when it comes back.  Run this with the service stopped."""
    settings = app.settings
    m = settings.mqtt
    if service_answers(settings):
        raise UserError(f"a tessdb-core service answers on http://{settings.http.host}:{settings.http.port}: "
                        "stop it first (it holds the session this command would end)")
    click.echo(
        f"This ends the persistent session of client id {m.client_id!r} at the MQTT broker {m.host}:{m.port}.\n"
        "WARNING: the messages the broker queued for tessdb-core since it stopped are deleted and will never\n"
        "reach tessdb-core: only a server that ran meanwhile has them. Until tessdb-core starts again nothing is\n"
        "queued for it, and its next start replays nothing.", err=True)
    if not yes:
        click.confirm("Forget the session?", abort=True, err=True)
    click.echo(forget_session(settings))
