"""`tessdb-core mqtt forget-session` against a real mosquitto: the broker drops the collector's
persistent session and what it queued; without it (the control) the queued messages come.

The session is made the way the service makes it (its client id, MQTT 5 session expiry or
3.1.1 ``clean_session=False``, a QoS 1 subscription), messages are published while it is
away, then the client id comes back: what the broker delivers is what it kept.  A marker
published after the return bounds the wait (the broker delivers in order: anything it kept
comes before the marker).
"""

from __future__ import annotations

import http.server
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broker import HOST, free_port
from cli_runner import Cli
from live_service import Publisher
from polling import wait_for

CLIENT_ID = "tessdb-core-forget-test"
TOPIC = "STARS4ALL/+/reading"


class SessionClient:
    """A client with the service's id and persistent session (no acknowledgement held back)."""

    def __init__(self, port: int, protocol: str):
        self.v5 = protocol == "5"
        kwargs = {"client_id": CLIENT_ID, "protocol": mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311}
        if not self.v5:
            kwargs["clean_session"] = False
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        self.received: list[str] = []
        self.session_present: bool | None = None
        self.subacks = 0
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, msg: self.received.append(msg.payload.decode())
        self.client.on_subscribe = self._on_subscribe
        props = None
        if self.v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            self.client.connect(HOST, port, 60, clean_start=False, properties=props)
        else:
            self.client.connect(HOST, port, 60)
        self.client.loop_start()
        wait_for(lambda: self.session_present is not None, 10, "the CONNACK")

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self.session_present = bool(flags.session_present)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self.subacks += 1

    def subscribe(self) -> None:
        self.client.subscribe(TOPIC, qos=1)
        wait_for(lambda: self.subacks >= 1, 10, "the SUBACK")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def queue_messages(port: int, protocol: str, n: int = 5) -> list[str]:
    """Make the persistent session, leave, and publish ``n`` readings for it."""
    first = SessionClient(port, protocol)
    first.subscribe()
    first.close()
    payloads = [f'{{"name": "stars1", "seq": {i}}}' for i in range(n)]
    pub = Publisher(port, client_id="forget-test-photometer")
    try:
        pub.publish([("STARS4ALL/stars1/reading", p) for p in payloads])
    finally:
        pub.close()
    return payloads


def come_back(port: int, protocol: str) -> tuple[bool, list[str]]:
    """Reconnect with the client id; (session present, what the broker delivers before a marker)."""
    back = SessionClient(port, protocol)
    try:
        back.subscribe()  # a forgotten session has no subscription left
        pub = Publisher(port, client_id="forget-test-marker")
        try:
            pub.publish([("STARS4ALL/marker/reading", "marker")])
        finally:
            pub.close()
        wait_for(lambda: "marker" in back.received, 10, "the marker")
        return back.session_present, back.received[:back.received.index("marker")]
    finally:
        back.close()


@pytest.fixture
def cli(tmp_path, broker):
    c = Cli(tmp_path)
    c.env.update(TESSDB_MQTT__HOST=HOST, TESSDB_MQTT__PORT=str(broker.port), TESSDB_MQTT__CLIENT_ID=CLIENT_ID,
                 TESSDB_HTTP__PORT=str(free_port()))
    return c


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
@pytest.mark.parametrize("forget", [True, False], ids=["forgotten", "control"])
def test_forget_session_drops_what_the_broker_queued(broker, cli, protocol, forget):
    cli.env["TESSDB_MQTT__PROTOCOL"] = f'"{protocol}"'
    queued = queue_messages(broker.port, protocol)
    if forget:
        out = cli("mqtt", "forget-session", "--yes")
        assert f"discarded the session of client id {CLIENT_ID!r}" in out.stdout
        assert "WARNING" in out.stderr and "queued for tessdb-core since it stopped are deleted" in out.stderr
    present, delivered = come_back(broker.port, protocol)
    if forget:
        assert (present, delivered) == (False, [])
    else:
        assert (present, delivered) == (True, queued)


def test_without_yes_it_asks_and_a_no_changes_nothing(broker, cli):
    queued = queue_messages(broker.port, "5")
    out = cli("mqtt", "forget-session", check=False, stdin="n\n")
    assert out.returncode == 1 and "Forget the session?" in out.stderr and "WARNING" in out.stderr
    assert "discarded" not in out.stdout
    out = cli("mqtt", "forget-session", check=False)  # no answer at all (no terminal): no
    assert out.returncode == 1
    assert come_back(broker.port, "5") == (True, queued)


def test_a_yes_at_the_question_forgets(broker, cli):
    queue_messages(broker.port, "5")
    out = cli("mqtt", "forget-session", stdin="y\n")
    assert "discarded the session" in out.stdout
    assert come_back(broker.port, "5") == (False, [])


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *args) -> None:
        pass


def test_refuses_while_the_service_answers_on_its_admin_address(broker, cli):
    queued = queue_messages(broker.port, "5")
    server = http.server.HTTPServer((HOST, int(cli.env["TESSDB_HTTP__PORT"])), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        out = cli("mqtt", "forget-session", "--yes", check=False)
    finally:
        server.shutdown()
        server.server_close()
    assert out.returncode == 2 and "stop it first" in out.stderr
    assert come_back(broker.port, "5") == (True, queued)


def test_an_unreachable_broker_is_one_line_and_exit_2(tmp_path):
    cli = Cli(tmp_path)
    cli.env.update(TESSDB_MQTT__HOST=HOST, TESSDB_MQTT__PORT=str(free_port()), TESSDB_HTTP__PORT=str(free_port()))
    t0 = time.monotonic()
    out = cli("mqtt", "forget-session", "--yes", check=False)
    assert out.returncode == 2 and time.monotonic() - t0 < 20
    assert "cannot connect to the MQTT broker" in out.stderr and "nothing was changed" in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("tessdb-core: error: cannot connect")
    assert "Traceback" not in out.stderr
