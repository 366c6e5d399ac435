"""deploy/mosquitto-tessdb.conf works with Debian's own /etc/mosquitto/mosquitto.conf.

A real mosquitto is started with a copy of the packaged main file (see debian_broker.py for the
four lines pointed into a temp folder) and our snippet in its conf.d, then QoS 1 messages go
through it: as the collector (a persistent MQTT 5 session, user ``tessdb``), as a photometer
(MQTT 3.1.1), across a broker restart and beyond mosquitto's default queue of 1000 messages.
"""

from __future__ import annotations

import threading
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from broker import HOST, mosquitto_path

from .debian_broker import DEBIAN_MAIN, REWRITTEN, SNIPPET, DebianBroker, directives

pytestmark = [
    pytest.mark.skipif(not DEBIAN_MAIN.exists(),
                       reason=f"{DEBIAN_MAIN} is absent: Debian's mosquitto package is not installed here"),
    pytest.mark.skipif(mosquitto_path() is None, reason="mosquitto is not installed (apt-get install mosquitto)"),
]

PASSWORD = "broker-secret"


@pytest.fixture
def debian_broker():
    b = DebianBroker()
    try:
        yield b.start()
    finally:
        b.close()


class Client:
    """A paho client that records what it receives and how its connection was answered."""

    def __init__(self, port: int, client_id: str, *, user: str | None = "tessdb", password: str = PASSWORD,
                 v5: bool = True, persistent: bool = True):
        self.received: list[bytes] = []
        self.connected = threading.Event()
        self.answered = threading.Event()
        self.reason = None
        protocol = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol,
                                  clean_session=None if v5 else not persistent)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        if user is not None:
            self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, msg: self.received.append(msg.payload)
        self.client.on_connect_fail = lambda c, u: self.answered.set()
        kwargs = {}
        if v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600 if persistent else 0
            kwargs = {"clean_start": not persistent, "properties": props}
        self.client.connect(HOST, port, keepalive=30, **kwargs)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.reason = reason_code
        if not reason_code.is_failure:
            self.connected.set()
        self.answered.set()

    def wait_connected(self, timeout: float = 10) -> "Client":
        assert self.answered.wait(timeout), "the broker did not answer the CONNECT"
        assert self.connected.is_set(), f"the broker refused the connection: {self.reason}"
        return self

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(10), "no SUBACK"

    def publish(self, topic: str, payloads: list[bytes]) -> None:
        infos = [self.client.publish(topic, p, qos=1) for p in payloads]
        for info in infos:
            info.wait_for_publish(30)

    def wait_received(self, n: int, timeout: float = 30) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_the_snippet_repeats_nothing_that_debians_main_file_sets():
    main = {k for k, _ in directives(DEBIAN_MAIN.read_text())}
    ours = {k for k, _ in directives(SNIPPET.read_text())}
    # what a conf.d snippet on Debian must leave alone (a repeat stops mosquitto or splits its log)
    assert {"persistence_location", "pid_file", "log_dest", "include_dir"} <= main
    assert not ours & main, f"the snippet repeats {sorted(ours & main)} of {DEBIAN_MAIN}"
    # Debian's file has no listener (a stock mosquitto 2.0 listens on the loopback only): ours keeps that
    assert "listener" not in main
    assert ("listener", "1883 127.0.0.1") in directives(SNIPPET.read_text())


def test_the_snippet_keeps_what_the_collector_needs():
    ours = dict(directives(SNIPPET.read_text()))
    # mosquitto's default, 1000, silently drops QoS 1 messages for a collector that is away or slow
    assert int(ours["max_queued_messages"]) == 0 or int(ours["max_queued_messages"]) >= 720_000
    assert ours["max_queued_bytes"] == "0"
    assert ours["persistent_client_expiration"] == "14d"
    # near the collector's [mqtt] max_payload (64 KiB), never below it
    from tessdb_core import settings as s

    max_payload = s.load(environ={}).mqtt.max_payload
    assert max_payload <= int(ours["max_packet_size"]) <= max_payload + 2048
    assert ours["allow_anonymous"] == "false" and ours["password_file"] == "/etc/mosquitto/passwd"


def test_mosquitto_starts_with_debians_config_and_our_snippet_and_carries_qos1(debian_broker):
    b = debian_broker
    assert set(b.rewritten) == set(REWRITTEN), f"{DEBIAN_MAIN} no longer sets {set(REWRITTEN) - set(b.rewritten)}"
    assert b.snippet_listeners == 1
    out = b.output()
    # the port is only in our snippet: the include_dir of Debian's file loaded it
    assert f"Opening ipv4 listen socket on port {b.port}" in out
    assert "Error" not in out and "Duplicate" not in out, out
    # the collector: a persistent MQTT 5 session, QoS 1
    collector = Client(b.port, "tessdb-core-main").wait_connected()
    photometer = Client(b.port, "stars1", v5=False, persistent=False).wait_connected()
    try:
        collector.subscribe("STARS4ALL/+/reading")
        photometer.publish("STARS4ALL/stars1/reading", [b'{"seq": %d}' % i for i in range(10)])
        assert collector.wait_received(10) == [b'{"seq": %d}' % i for i in range(10)]
    finally:
        collector.close()
        photometer.close()


def test_the_broker_refuses_anonymous_and_wrong_passwords(debian_broker):
    for kwargs in ({"user": None}, {"password": "wrong"}):
        c = Client(debian_broker.port, "intruder", **kwargs)
        try:
            assert c.answered.wait(10)
            assert not c.connected.is_set() and c.reason is not None and c.reason.is_failure, kwargs
        finally:
            c.close()


def test_a_collector_away_gets_more_than_1000_messages_even_across_a_broker_restart(debian_broker):
    """mosquitto's default max_queued_messages (1000) would drop all but 1000 (+ in flight)."""
    b = debian_broker
    n = 3000
    collector = Client(b.port, "tessdb-core-main").wait_connected()
    collector.subscribe("STARS4ALL/+/reading")
    collector.close()  # the collector goes away; its session stays
    photometer = Client(b.port, "stars2", v5=False, persistent=False).wait_connected()
    photometer.publish("STARS4ALL/stars2/reading", [b"%d" % i for i in range(n)])
    photometer.close()
    b.stop()  # SIGTERM: mosquitto saves the queue where Debian's main file says (persistence_location)
    assert list((b.dir / "lib").glob("mosquitto.db")), "nothing saved under persistence_location"
    b.start()
    collector = Client(b.port, "tessdb-core-main").wait_connected()
    try:
        got = collector.wait_received(n, timeout=60)
        assert sorted(int(p) for p in got) == list(range(n)), f"{n - len(set(got))} messages lost"
    finally:
        collector.close()


def test_a_payload_over_the_collectors_max_payload_is_refused_by_the_broker(debian_broker):
    b = debian_broker
    collector = Client(b.port, "tessdb-core-main").wait_connected()
    try:
        collector.subscribe("STARS4ALL/+/reading")
        ok = Client(b.port, "stars3", v5=False, persistent=False).wait_connected()
        ok.publish("STARS4ALL/stars3/reading", [b"x" * 65536])  # exactly [mqtt] max_payload: delivered
        ok.close()
        big = Client(b.port, "stars4", v5=False, persistent=False).wait_connected()
        big.client.publish("STARS4ALL/stars4/reading", b"y" * 70_000, qos=1)
        time.sleep(1)  # mosquitto drops the packet (and the sender)
        big.close()
        after = Client(b.port, "stars5", v5=False, persistent=False).wait_connected()
        after.publish("STARS4ALL/stars5/reading", [b"after"])
        after.close()
        collector.wait_received(2)
        time.sleep(0.5)
        sizes = [len(p) for p in collector.received]
        assert sizes == [65536, 5], f"delivered {sizes}: max_packet_size is not in force"
    finally:
        collector.close()


def test_control_a_snippet_repeating_persistence_location_stops_mosquitto():
    """The fault of the old snippet, reproduced: proves the harness above really uses Debian's file."""
    b = DebianBroker(snippet=SNIPPET.read_text() + "\npersistence_location /var/lib/mosquitto/\n")
    try:
        assert b.start_expecting_failure() != 0
        assert "Duplicate persistence_location value" in b.output()
    finally:
        b.close()
