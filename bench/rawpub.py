"""A lean MQTT 3.1.1 publisher for the live benchmark: QoS 1 PUBLISH packets written in
bursts straight to a socket, PUBACKs counted, at most 1,000 unacknowledged.

Why not paho: paho's ``publish`` costs ~125 µs of CPU a message on the 2-core development
machine, more than the broker (~40 µs) and as much as the consumer under test.  With paho
as the load generator the publisher is the bottleneck and takes CPU from the consumer, so a
live figure measured paho's publisher, not the consumer.  This one costs a few µs a message.

    python bench/rawpub.py PORT PHOTOMETERS COUNT RATE STAMPS_FILE   (RATE 0: as fast as it can)

Writes the publish time (epoch seconds) of every reading to ``STAMPS_FILE`` (JSON) once
the broker has acknowledged them all.  The readings are those of ``bench/live.py``'s
photometers ``stars1``..``starsP``, one a second of the photometer's own clock each.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import sys
import time

#: the most QoS 1 messages left unacknowledged by the broker at any time
WINDOW = 1000
#: how many packets one ``sendall`` carries when publishing as fast as possible
BURST = 100


def remaining_length(n: int) -> bytes:
    """MQTT's variable-length integer."""
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (128 if n else 0))
        if not n:
            return bytes(out)


def packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + remaining_length(len(body)) + body


def utf8(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def publish_packet(mid: int, topic: str, payload: bytes, v5: bool = False) -> bytes:
    """A QoS 1 PUBLISH (MQTT 3.1.1, or 5 with no property)."""
    return packet(0x32, utf8(topic) + struct.pack("!H", mid) + (b"\x00" if v5 else b"") + payload)


def connect(port: int, client_id: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # protocol MQTT level 4, clean session, no keep-alive (the run is short)
    sock.sendall(packet(0x10, utf8("MQTT") + bytes([4, 0x02, 0, 0]) + utf8(client_id)))
    connack = sock.recv(4)
    if len(connack) < 4 or connack[0] != 0x20 or connack[3] != 0:
        raise SystemExit(f"broker refused the connection: {connack!r}")
    return sock


def readings(photometers: int, count: int) -> list[bytes]:
    """The PUBLISH packets (QoS 1), message ids 1..65535 cycling."""
    out = []
    for k in range(count):
        i, seq = k % photometers + 1, k // photometers
        h, rest = divmod(seq, 3600)
        payload = json.dumps({"name": f"stars{i}", "seq": seq, "freq": 10.0, "mag": 20.0, "tamb": 5.0,
                              "tsky": -3.0, "wdBm": -60,
                              "tstamp": f"2026-11-{1 + h // 24:02d}T{h % 24:02d}:{rest // 60:02d}:{rest % 60:02d}"})
        out.append(publish_packet(k % 65535 + 1, f"STARS4ALL/stars{i}/reading", payload.encode()))
    return out


class Acks:
    """Counts the broker's PUBACKs (4 bytes each; nothing else comes back on this session)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.count = 0
        self._pending = b""

    def read(self, timeout: float | None) -> None:
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return
        data = self._pending + self.sock.recv(65536)
        if not data:
            raise SystemExit("broker closed the connection")
        whole = len(data) // 4
        self.count += whole
        self._pending = data[whole * 4:]


def publish(port: int, photometers: int, count: int, rate: float) -> list[float]:
    packets = readings(photometers, count)
    sock = connect(port, f"bench-publisher-{port}")
    acks = Acks(sock)
    stamps: list[float] = []
    t0 = time.monotonic()
    k = 0
    while k < count:
        if rate:
            ahead = t0 + k / rate - time.monotonic()
            while ahead > 0:
                acks.read(min(ahead, 0.01))
                ahead = t0 + k / rate - time.monotonic()
            n = 1
        else:
            n = min(BURST, count - k)
        while k + n - acks.count > WINDOW:
            acks.read(0.05)
        now = time.time()
        sock.sendall(b"".join(packets[k:k + n]))
        stamps.extend([now] * n)
        k += n
        acks.read(0)
    while acks.count < count:
        acks.read(0.05)
    sock.sendall(b"\xe0\x00")  # DISCONNECT
    sock.close()
    return stamps


def main() -> None:
    port, photometers, count, rate, out = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                           float(sys.argv[4]), sys.argv[5])
    stamps = publish(port, photometers, count, rate)
    with open(out, "w") as fh:
        json.dump(stamps, fh)


if __name__ == "__main__":
    main()
