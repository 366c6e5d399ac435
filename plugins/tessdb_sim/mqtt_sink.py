"""Publishing simulated messages to an MQTT broker with paho-mqtt 2.x.

Why the in-flight bound: paho numbers messages with 16-bit ids and refuses (and
so loses) a new message whose id is still waiting for its acknowledgement, which
happens as soon as more than 65,535 messages are unacknowledged.  The sink
therefore never lets more than ``max_inflight`` messages wait, and it counts the
acknowledgements (``on_publish``) so that ``close()`` returns only when the broker
has every message.

Why no network thread: with paho's ``loop_start`` the publishing thread and the
network thread fight over the interpreter lock and the client's mutexes, and
throughput drops about threefold.  Here one thread publishes (paho writes at
once when no loop thread runs) and turns the network loop itself: every few
messages, while the in-flight window is full, and while the pacer waits
(:meth:`idle`), which also keeps the connection alive.  A lost connection is
re-established with back-off; paho then re-sends the unacknowledged QoS 1/2
messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .generator import SimEvent

__all__ = ["MqttSink", "MAX_INFLIGHT"]

#: messages allowed to wait for their acknowledgement at once
MAX_INFLIGHT = 1000
#: seconds to wait for the broker's CONNACK
CONNECT_TIMEOUT = 10.0
#: QoS 0 has no acknowledgement: how long close() waits for paho to write what it holds
QOS0_DRAIN_SECONDS = 10.0
#: turn the network loop after this many publishes (reads the acknowledgements)
LOOP_EVERY = 50
#: reconnection back-off, seconds
BACKOFF = (1.0, 30.0)


class MqttSink:
    """Publishes each message on its topic; ``close()`` waits for every acknowledgement."""

    def __init__(self, host: str, port: int, qos: int = 1, username: str | None = None,
                 password: str | None = None, client_id: str = "", max_inflight: int = MAX_INFLIGHT,
                 keepalive: int = 60):
        import paho.mqtt.client as mqtt  # imported here: the CLI loads this plugin for every command

        self.target = f"{host}:{port}"
        self.qos = qos
        self.max_inflight = max_inflight
        self.sent = 0
        self.acked = 0
        self.lost = 0
        self.disconnects = 0
        #: called about every half second while the sink waits (progress lines)
        self.on_wait: Callable[[], None] | None = None
        self._connack: object | None = None
        self._ok = mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        self._queue_full = mqtt.MQTTErrorCode.MQTT_ERR_QUEUE_SIZE
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                             clean_session=True)
        if username:
            client.username_pw_set(username, password)
        client.max_inflight_messages_set(max_inflight)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self._client = client
        self._connect(host, port, keepalive)

    # -- paho callbacks (called from inside client.loop / publish, in this thread) ----------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connack = reason_code

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.disconnects += 1

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self.acked += 1

    # -- connection ---------------------------------------------------------------------------
    def _connect(self, host: str, port: int, keepalive: int) -> None:
        try:
            self._client.connect(host, port, keepalive)
        except OSError as exc:
            raise ConnectionError(f"cannot connect to the MQTT broker {host}:{port}: "
                                  f"{exc.strerror or exc or type(exc).__name__}") from None
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while self._connack is None and time.monotonic() < deadline:
            if self._client.loop(0.1) != self._ok and self._connack is None:
                raise ConnectionError(f"the MQTT broker {host}:{port} closed the connection before accepting it")
        code = self._connack
        if code is None:
            self._client.disconnect()
            raise ConnectionError(f"the MQTT broker {host}:{port} did not accept the connection "
                                  f"within {CONNECT_TIMEOUT:.0f} s")
        if getattr(code, "is_failure", False):
            self._client.disconnect()
            raise ConnectionError(f"the MQTT broker {host}:{port} refused the connection: {code}")

    def _turn(self, timeout: float) -> None:
        """One pass of the network loop; on a lost connection, reconnect with back-off."""
        if self._client.loop(timeout) == self._ok:
            return
        delay = BACKOFF[0]
        while True:
            if self.on_wait is not None:
                self.on_wait()
            try:
                if self._client.reconnect() == self._ok:
                    return
            except OSError:
                pass
            time.sleep(delay)
            delay = min(BACKOFF[1], delay * 2)

    # -- the sink -----------------------------------------------------------------------------
    def pending(self) -> int:
        return self.sent - self.acked - self.lost

    def send(self, event: SimEvent) -> None:
        if self.sent - self.acked - self.lost >= self.max_inflight:
            next_wait = time.monotonic() + 0.5
            while self.sent - self.acked - self.lost >= self.max_inflight:
                self._turn(0.05)
                if self.on_wait is not None and time.monotonic() >= next_wait:
                    self.on_wait()
                    next_wait = time.monotonic() + 0.5
        info = self._client.publish(event.topic, event.payload, self.qos)
        self.sent += 1
        if info.rc != self._ok and (self.qos == 0 or info.rc == self._queue_full):
            # QoS 0 not written (no connection), or a QoS 1/2 message paho refused to keep: never acknowledged.
            # A QoS 1/2 message that could not be written now stays queued and is sent after a reconnection.
            self.lost += 1
        if self.sent % LOOP_EVERY == 0:
            self._turn(0.0)

    def idle(self, seconds: float) -> None:
        """Wait ``seconds`` while keeping the connection served (acks, keep-alive)."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._turn(min(left, 0.5))
            if self.on_wait is not None:
                self.on_wait()

    def close(self, progress: Callable[[], None] | None = None) -> None:
        """Wait for every acknowledgement, then disconnect (Ctrl-C stops the wait)."""
        last, last_change = -1, time.monotonic()
        next_report = time.monotonic() + 0.5
        try:
            while self.pending() > 0:
                now = time.monotonic()
                if self.acked != last:
                    last, last_change = self.acked, now
                elif self.qos == 0 and now - last_change > QOS0_DRAIN_SECONDS:
                    self.lost += self.pending()
                    break
                self._turn(0.1)
                if progress is not None and now >= next_report:
                    progress()
                    next_report = now + 0.5
        finally:
            self._client.disconnect()
            self._client.loop(0.1)
