"""The paho speed-ups: exact bytes on the wire, a partial send, and the fallback."""

from __future__ import annotations

import socket
import struct

import pytest
from loguru import logger

from tessdb_core import paho_speedups


def pubacks(mids):
    return b"".join(struct.pack("!BBH", 0x40, 2, m) for m in mids)


def test_a_burst_of_pubacks_is_one_write_of_exact_packets():
    a, b = socket.socketpair()
    try:
        a.setblocking(False)
        assert paho_speedups.write_pubacks(a, [1, 2, 65535]) == []
        assert b.recv(100) == pubacks([1, 2, 65535])
    finally:
        a.close()
        b.close()


class ShortSocket:
    """Accepts only the given number of bytes per send; 0 means 'would block'."""

    def __init__(self, capacities):
        self.capacities = list(capacities)
        self.wire = b""

    def send(self, data):
        n = self.capacities.pop(0) if self.capacities else 0
        if n == 0:
            raise BlockingIOError
        self.wire += data[:n]
        return min(n, len(data))


def test_a_partial_send_finishes_the_torn_packet_and_hands_back_the_rest():
    sock = ShortSocket([6, 0, 1, 1])  # one whole PUBACK and half of the second, then a wait
    rest = paho_speedups.write_pubacks(sock, [10, 11, 12, 13])
    assert sock.wire == pubacks([10, 11])  # the stream stays well formed
    assert rest == [12, 13]  # for paho's own queue: each mid acknowledged exactly once


def test_a_full_socket_hands_everything_back_and_a_broken_one_nothing():
    assert paho_speedups.write_pubacks(ShortSocket([0]), [1, 2]) == [1, 2]

    class Broken:
        def send(self, data):
            raise ConnectionResetError

    assert paho_speedups.write_pubacks(Broken(), [1, 2]) == []  # the broker sends them again


def test_other_paho_versions_keep_paho_untouched_and_say_so(monkeypatch):
    from paho.mqtt import _packet

    monkeypatch.setitem(paho_speedups._state, "said", False)
    before = _packet.Properties
    lines = []
    sink = logger.add(lines.append, level="INFO", format="{message}")
    try:
        assert paho_speedups.activate("2.1.0") is False
    finally:
        logger.remove(sink)
    assert _packet.Properties is before
    assert any("2.1.0: speed-ups not applied" in line for line in lines)


def test_shared_property_tables_decode_each_message_on_its_own():
    from paho.mqtt import _packet
    from paho.mqtt.enums import MQTTProtocolVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    if not paho_speedups.supported():
        pytest.skip(f"paho-mqtt {paho_speedups.paho_version()} is not one the speed-ups were written for")
    assert paho_speedups.activate() is True
    assert _packet.Properties is not Properties and issubclass(_packet.Properties, Properties)

    def publish(content_type: str, mid: int) -> bytes:
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = content_type
        topic = b"STARS4ALL/stars1/reading"
        return struct.pack("!H", len(topic)) + topic + struct.pack("!H", mid) + props.pack() + b"{}"

    one = _packet.decode_publish(0x32, publish("application/json", 1), MQTTProtocolVersion.MQTTv5)
    two = _packet.decode_publish(0x32, publish("text/plain", 2), MQTTProtocolVersion.MQTTv5)
    assert (one.mid, one.properties.ContentType, one.payload) == (1, "application/json", b"{}")
    assert (two.mid, two.properties.ContentType) == (2, "text/plain")
    assert isinstance(one.properties, Properties) and type(one.properties).__name__ == "Properties"


def test_only_the_exact_versions_tested_and_never_when_off(monkeypatch):
    from paho.mqtt import _packet

    assert paho_speedups.supported("2.2.0") and not paho_speedups.supported("2.2.1")
    assert not paho_speedups.supported("2.2")
    monkeypatch.setitem(paho_speedups._state, "said", False)
    before = _packet.Properties
    lines = []
    sink = logger.add(lines.append, level="INFO", format="{message}")
    try:
        assert paho_speedups.activate("2.2.0", wanted="off") is False
    finally:
        logger.remove(sink)
    assert _packet.Properties is before
    assert any('speed-ups off ([mqtt] speedups = "off")' in line for line in lines)


def test_speedups_must_be_auto_or_off():
    from tessdb_core.settings import SettingsError, load

    assert load(environ={"TESSDB_MQTT__SPEEDUPS": "off"}).mqtt.speedups == "off"
    with pytest.raises(SettingsError, match="mqtt.speedups"):
        load(environ={"TESSDB_MQTT__SPEEDUPS": "fast"})


def _publish(mid: int, topic: bytes, payload: bytes, qos: int = 1, retain: bool = False,
             props: bytes | None = b"\x00") -> bytes:
    body = struct.pack("!H", len(topic)) + topic + (struct.pack("!H", mid) if qos else b"") + (props or b"") + payload
    n, length = len(body), bytearray()
    while True:
        n, digit = divmod(n, 128)
        length.append(digit | (128 if n else 0))
        if not n:
            break
    return bytes([0x30 | qos << 1 | int(retain)]) + bytes(length) + body


def test_buffered_reads_hand_paho_every_packet_in_order_and_then_would_block():
    import paho.mqtt.client as mqtt

    a, b = socket.socketpair()
    try:
        a.setblocking(False)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t", protocol=mqtt.MQTTv5, manual_ack=True)
        got = []
        client.on_message = lambda c, u, msg: got.append((msg.mid, msg.topic, msg.payload))
        client._sock = a  # as paho's connect leaves it
        assert paho_speedups.buffer_reads(client) is True
        assert isinstance(client.socket(), paho_speedups.BufferedReads)
        assert paho_speedups.buffer_reads(client) is True  # once only: not wrapped twice
        assert isinstance(client.socket().sock, socket.socket)
        # 300 packets, some longer than 127 bytes (a two-byte length), all in one read
        sent = [(k + 1, f"S/stars{k}/reading", bytes([65 + k % 26]) * (10 + 7 * k % 400)) for k in range(300)]
        b.sendall(b"".join(_publish(mid, topic.encode(), payload) for mid, topic, payload in sent))
        reads = []
        real_recv = a.recv
        client.socket().sock = type("Counting", (), {"recv": lambda self, n: reads.append(n) or real_recv(n),
                                                    "__getattr__": lambda self, name: getattr(a, name)})()
        while len(got) < len(sent):
            assert client.loop_read() == mqtt.MQTT_ERR_SUCCESS
        assert got == sent
        assert len(reads) <= 3  # paho asked ~1,000 times; the socket was read a few times only
        assert client.socket().pending() == 0
        with pytest.raises(BlockingIOError):
            client.socket().recv(1)  # nothing left: what the socket says reaches paho
        # a packet torn across two reads is put together
        whole = _publish(7, b"S/x/reading", b"y" * 50)
        b.sendall(whole[:20])
        before = len(got)
        client.loop_read()
        b.sendall(whole[20:])
        client.loop_read()
        assert got[before:] == [(7, "S/x/reading", b"y" * 50)]
        # the broker closes: paho sees the end of the stream
        b.close()
        assert client.loop_read() != mqtt.MQTT_ERR_SUCCESS
    finally:
        a.close()


def test_a_tls_socket_keeps_its_own_reads():
    class TlsLike:
        def pending(self):
            return 0

    client = type("C", (), {"_sock": TlsLike()})()
    assert paho_speedups.buffer_reads(client) is False and isinstance(client._sock, TlsLike)


def _receive(packets: bytes, protocol: int, lean: bool) -> tuple[list, list]:
    """What a manual-ack paho client hands on for ``packets``: (lean deliveries, on_message calls)."""
    import paho.mqtt.client as mqtt

    a, b = socket.socketpair()
    try:
        a.setblocking(False)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t", protocol=protocol, manual_ack=True)
        client.suppress_exceptions = True  # a topic that is not UTF-8 raises when read: paho logs it
        paho_calls, lean_calls = [], []
        client.on_message = lambda c, u, m: paho_calls.append((m.topic, m.payload, m.mid, m.qos, m.retain))
        if lean:
            assert paho_speedups.lean_publish(client, lambda *args: lean_calls.append(args)) is True
        client._sock = a
        b.sendall(packets)
        while client.loop_read() == mqtt.MQTT_ERR_SUCCESS and client._sock.recv(1, socket.MSG_PEEK):
            pass
        return lean_calls, paho_calls
    except BlockingIOError:
        return lean_calls, paho_calls
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("v5", [True, False])
def test_lean_publish_hands_on_exactly_what_paho_would(v5):
    import paho.mqtt.client as mqtt

    props = (lambda p: p) if v5 else (lambda p: None)
    messages = [
        _publish(1, b"STARS4ALL/stars1/reading", b'{"seq": 1}', props=props(b"\x00")),
        _publish(2, b"STARS4ALL/register", b"x" * 300, retain=True, props=props(b"\x00")),  # a two-byte length
        _publish(0, b"STARS4ALL/stars2/reading", b"qos0", qos=0, props=props(b"\x00")),
        # properties present: message expiry interval (0x02, 4 bytes) and a user property (0x26)
        _publish(65535, b"a/b", b"", props=props(b"\x0e\x02\x00\x00\x00\x3c\x26\x00\x01k\x00\x03val")),
    ]
    protocol = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
    lean, paho_left = _receive(b"".join(messages), protocol, lean=True)
    _, paho_own = _receive(b"".join(messages), protocol, lean=False)
    assert len(paho_own) == 4 and paho_left == []
    assert [(t, bytes(p), m, q, r) for t, p, m, q, r in lean] == [(t, bytes(p), m, q, r) for t, p, m, q, r in paho_own]


def test_lean_publish_leaves_qos2_bad_topics_and_topic_callbacks_to_paho():
    import paho.mqtt.client as mqtt

    def client_on(sock, spied):
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t", protocol=mqtt.MQTTv5, manual_ack=True)
        client.suppress_exceptions = True
        own = client._handle_publish
        client._handle_publish = lambda: spied.append(bytes(client._in_packet["packet"][:8])) or own()
        client._sock = sock
        return client

    a, b = socket.socketpair()
    try:
        a.setblocking(False)
        spied, lean_calls = [], []
        client = client_on(a, spied)
        paho_speedups.lean_publish(client, lambda *args: lean_calls.append(args))
        b.sendall(_publish(3, b"q/two", b"2", qos=2) + _publish(4, b"\xff\xfe/x", b"not utf-8")
                  + _publish(5, b"", b"an empty topic (an alias in MQTT 5)") + _publish(6, b"ok/topic", b"lean"))
        for _ in range(4):
            client.loop_read()
        assert len(spied) == 3 and lean_calls == [("ok/topic", b"lean", 6, 1, False)]
        assert 3 in client._in_messages  # QoS 2 went through paho's own exchange (PUBREC sent)
        # a per-topic callback: paho must match topics, so the lean path stands aside
        filtered = []
        client.message_callback_add("S/#", lambda c, u, m: filtered.append(m.topic))
        b.sendall(_publish(9, b"S/x", b"p"))
        client.loop_read()
        assert filtered == ["S/x"] and len(spied) == 4 and len(lean_calls) == 1
    finally:
        a.close()
        b.close()


def test_a_client_without_manual_ack_keeps_paho_own_publish_handling():
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="t", protocol=mqtt.MQTTv5)
    assert paho_speedups.lean_publish(client, lambda *args: None) is False
