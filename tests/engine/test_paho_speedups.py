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
