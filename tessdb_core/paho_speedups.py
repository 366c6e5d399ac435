"""Two speed-ups of paho-mqtt's receive path, pinned to the paho versions they were written for.

Why: at 15,000+ readings/s paho's own costs dominate the service's CPU.  Measured
with ``bench/live.py`` on the 2-core development machine, the service spends ~36 µs
of CPU per reading with both speed-ups and ~52 µs without (paho 2.2.0): without
them the live figure falls from ~20,000 to ~13,000 readings/s.

1. paho builds the two constant MQTT 5 property tables (28 entries each) anew for
   every received PUBLISH; :func:`share_v5_property_tables` makes them once and
   shares them (the objects stay genuine ``Properties`` instances).
2. paho writes each PUBACK with its own system calls; :func:`write_pubacks` writes a
   burst of QoS 1 PUBACKs (four fixed bytes each in MQTT 3.1.1 and 5, no state kept
   by paho) as one buffer when nothing of paho's own waits to be written.
3. paho reads each packet with three or four ``recv`` calls (its type, each byte of its
   length, the rest): ~15 % of the service's CPU at 7,000 readings/s.
   :class:`BufferedReads` stands in for paho's socket and serves those calls from one
   ``recv`` of up to 256 KiB; paho's loop asks its ``pending()`` before waiting in
   ``select`` (as it does for a TLS socket), so nothing read waits unseen.
4. paho turns each received PUBLISH into an ``MQTTMessage`` with its own ``Properties``,
   ``MQTTMessageInfo`` and condition variable, logs it, and matches its topic against the
   per-topic callbacks: ~45 % of the receive path.  :func:`lean_publish` hands a QoS 0/1
   PUBLISH straight to the collector's own function (topic, payload, message id, QoS,
   retain) from the packet paho has read; a QoS 2 PUBLISH, a topic that is empty or not
   UTF-8, or a malformed packet goes through paho's own handler, unchanged.

Both use paho internals, so they are applied only to the exact versions in
:data:`WRITTEN_FOR` (the ones the tests ran on, not a prefix) and only when those
internals look as expected; otherwise, or with ``[mqtt] speedups = "off"``, paho's own
paths are used and one INFO line says so.  Nothing here runs at import.
"""

from __future__ import annotations

import functools
import socket
import struct
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from paho.mqtt.client import MQTTv5
from paho.mqtt.enums import MQTTErrorCode

from loguru import logger

log = logger.bind(ns="mqtt")

#: the exact paho-mqtt versions whose internals these speed-ups were written and tested for
WRITTEN_FOR = ("2.2.0",)
#: the values of ``[mqtt] speedups``
CHOICES = ("auto", "off")
#: a QoS 1 PUBACK: packet type 4, remaining length 2, the message id
PUBACK = struct.Struct("!BBH")
_PRIVATE = frozenset({"packetType", "types", "names", "properties"})
_state: dict[str, Any] = {"shared": None, "said": False}


@functools.cache
def paho_version() -> str:
    """The installed paho-mqtt (read once: /metrics reports it on every scrape)."""
    try:
        return version("paho-mqtt")
    except PackageNotFoundError:
        return "unknown"


def supported(paho: str | None = None) -> bool:
    return (paho or paho_version()) in WRITTEN_FOR


def activate(paho: str | None = None, wanted: str = "auto") -> bool:
    """Apply what applies to the installed paho (once per process) and say so once at INFO;
    True when the PUBACK writer may be used.  ``wanted``: ``[mqtt] speedups``, "off" keeps
    paho entirely as it is."""
    paho = paho or paho_version()
    if wanted == "off":
        if not _state["said"]:
            _state["said"] = True
            log.info("paho-mqtt {}: speed-ups off ([mqtt] speedups = \"off\"); paho's own paths are used", paho)
        return False
    ok = supported(paho)
    shared = share_v5_property_tables() if ok else False
    if not _state["said"]:
        _state["said"] = True
        if ok:
            log.info("paho-mqtt {}: speed-ups active (batched PUBACK writes, buffered reads, lean PUBLISH handling{})",
                     paho,
                     ", shared MQTT 5 property tables" if shared else "")
        else:
            log.info("paho-mqtt {}: speed-ups not applied (written for paho-mqtt {}); paho's own paths are used",
                     paho, ", ".join(WRITTEN_FOR))
    return ok


def share_v5_property_tables() -> bool:
    """Replace paho's per-PUBLISH ``Properties`` with one sharing its constant tables;
    True when in place.  Any surprise in paho's internals leaves paho untouched."""
    if _state["shared"] is not None:
        return _state["shared"]
    try:
        from paho.mqtt import _packet
        from paho.mqtt.packettypes import PacketTypes

        original = _packet.Properties
        prototype = original(PacketTypes.PUBLISH)
        tables = {k: prototype.__dict__[k] for k in ("types", "names", "properties")}

        class SharedTableProperties(original):  # type: ignore[misc, valid-type]
            def __init__(self, packetType: int) -> None:  # noqa: N803 - paho's name
                d = self.__dict__
                d["packetType"] = packetType
                d.update(tables)

            def clear(self) -> None:  # the same, without scanning the 28 names
                d = self.__dict__
                for key in [k for k in d if k not in _PRIVATE]:
                    del d[key]

        SharedTableProperties.__name__ = original.__name__
        _packet.Properties = SharedTableProperties
        _state["shared"] = True
    except Exception as exc:  # noqa: BLE001 - an optimisation only
        log.info("paho's MQTT 5 property tables left as they are: {}: {}", type(exc).__name__, exc)
        _state["shared"] = False
    return _state["shared"]


class BufferedReads:
    """paho's socket with its reads served from memory (see the module's point 3).

    Everything but ``recv`` and ``pending`` goes to the socket itself; ``recv`` returns at
    most what was asked, from what one larger read brought, and raises what the socket
    raises (``BlockingIOError`` when nothing is there) only when nothing is left."""

    __slots__ = ("sock", "_data", "_pos")

    #: how much one read of the socket may bring
    READ_SIZE = 256 * 1024

    def __init__(self, sock: Any):
        self.sock = sock
        self._data = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        data, pos = self._data, self._pos
        if pos >= len(data):
            data = self.sock.recv(self.READ_SIZE)
            if len(data) <= bufsize:  # b"" (closed) or a short read: hand it on whole
                self._data, self._pos = b"", 0
                return data
            self._data, pos = data, 0
        end = pos + bufsize
        self._pos = end
        return data[pos:end]

    def pending(self) -> int:
        """Bytes read and not yet handed to paho."""
        return len(self._data) - self._pos

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def buffer_reads(client: Any) -> bool:
    """Put :class:`BufferedReads` in front of a connected paho client's socket (again after
    each connect: paho makes a new socket then); True when in place."""
    sock = getattr(client, "_sock", None)
    if sock is None or isinstance(sock, BufferedReads) or hasattr(sock, "pending"):
        return isinstance(sock, BufferedReads)  # (a TLS socket has its own pending(): left alone)
    client._sock = BufferedReads(sock)
    return True


def lean_publish(client: Any, deliver: Callable[[str, bytes, int, int, bool], None]) -> bool:
    """Hand a QoS 0/1 PUBLISH to ``deliver(topic, payload, mid, qos, retain)`` instead of
    paho's MQTTMessage machinery (the module's point 4); True when in place.  ``deliver``
    must not raise.  Only for a client with ``manual_ack`` and no per-topic callbacks:
    then paho would do nothing more than call ``on_message``."""
    original = getattr(client, "_handle_publish", None)
    if original is None or not getattr(client, "_manual_ack", False) or not hasattr(client, "_in_packet"):
        return False
    v5 = client._protocol == MQTTv5
    unpack_h = struct.Struct("!H").unpack_from
    success = MQTTErrorCode.MQTT_ERR_SUCCESS
    filters = client._on_message_filtered._root  # paho's per-topic callbacks (message_callback_add)

    def handle_publish() -> Any:
        if filters._children:  # a per-topic callback: paho's matching is needed
            return original()
        header = client._in_packet["command"]
        qos = (header & 0x06) >> 1
        packet = client._in_packet["packet"]
        try:
            (size,) = unpack_h(packet, 0)
            end = 2 + size
            topic = packet[2:end].decode("utf-8")
            mid = 0
            if qos:
                (mid,) = unpack_h(packet, end)
                end += 2
            if v5:  # skip the properties: a variable byte integer, then that many bytes
                length, shift = 0, 0
                while True:
                    byte = packet[end]
                    end += 1
                    length |= (byte & 127) << shift
                    if byte < 128:
                        break
                    shift += 7
                    if shift > 21:
                        return original()
                end += length
        except (IndexError, UnicodeDecodeError, struct.error):
            return original()
        if qos == 2 or not topic or end > len(packet) or (qos == 1 and mid == 0):
            return original()
        deliver(topic, packet[end:], mid, qos, bool(header & 1))
        return success

    client._handle_publish = handle_publish
    return True


def write_pubacks(sock: socket.socket | Any, mids: list[int]) -> list[int]:
    """Write the PUBACKs of ``mids`` in one ``send``; return the mids NOT written, for
    paho's own queue.  Never blocks on a full socket: a packet cut in the middle by a
    partial send is finished (at most 3 bytes, waiting at most 1 s), the rest is handed
    back.  On a broken connection nothing is handed back: the broker sends again
    whatever was not acknowledged."""
    data = b"".join([PUBACK.pack(0x40, 2, mid) for mid in mids])
    try:
        sent = sock.send(data)
    except BlockingIOError:
        return mids
    except OSError:
        return []
    whole, torn = divmod(sent, PUBACK.size)
    if torn:
        if not _finish(sock, data[sent:(whole + 1) * PUBACK.size]):
            return []
        whole += 1
    return mids[whole:]


def _finish(sock: Any, rest: bytes, patience: float = 1.0) -> bool:
    """Send the few bytes left of a torn packet (the stream must stay well formed)."""
    deadline = time.monotonic() + patience
    while rest:
        try:
            rest = rest[sock.send(rest):]
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)
        except OSError:
            return False
    return True
