"""The MQTT source (paho-mqtt 2.x): persistent session, QoS 1, manual acknowledgement.

The service's one thread drives the client (``poll``) instead of paho's own
thread: a second thread handing messages over a queue costs more than it saves
under the GIL.  Callbacks only record what happened; they never run slow work
and never let an exception reach paho's loop.  Messages are acknowledged with
:meth:`ack` only after the service has committed them to the durable inbox, so
the broker keeps (and re-sends) anything that was not.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from loguru import logger

from . import paho_speedups
from .backoff import Backoff
from .events import Message, utc_now

log = logger.bind(ns="mqtt")


@dataclass(slots=True)
class Arrival:
    """A message received but not yet acknowledged."""

    message: Message
    mid: int
    qos: int
    #: the connection it came on: an acknowledgement is only valid on that connection
    connection: int = 0


def subscription_problems(asked: list[tuple[str, int]], reason_codes: list[Any]) -> list[str]:
    """What a SUBACK refused, topic by topic: a failure code, or a QoS below the one
    asked (a QoS 0 grant means the broker keeps nothing for us: messages can be lost)."""
    problems = []
    for (topic, qos), rc in zip(asked, reason_codes):
        if getattr(rc, "is_failure", False) or getattr(rc, "value", 0) >= 0x80:
            problems.append(f"{topic}: {rc}")
        elif getattr(rc, "value", qos) < qos:
            problems.append(f"{topic}: granted QoS {rc.value}, asked {qos}")
    if len(reason_codes) < len(asked):
        problems.append("the broker answered fewer topics than were asked")
    return problems


def subscriptions(settings: Any) -> list[str]:
    """The registration topic (unless empty) and the reading topics, shared if configured."""
    topics = []
    register = settings.get("mqtt.tess_topic_register", "")
    if register:
        topics.append(register)
    group = settings.get("mqtt.shared_group", "")
    for t in settings.get("mqtt.tess_topics", ()):
        topics.append(f"$share/{group}/{t}" if group else t)
    return topics


class MqttSource:
    """Connects, keeps connecting with exponential backoff, subscribes on every connect."""

    def __init__(self, settings: Any):
        self.settings = settings
        m = settings.mqtt
        self.v5 = str(m.protocol) == "5"
        kwargs: dict[str, Any] = {"client_id": m.client_id, "manual_ack": True,
                                  "protocol": mqtt.MQTTv5 if self.v5 else mqtt.MQTTv311}
        if not self.v5:
            kwargs["clean_session"] = False  # the persistent session of MQTT 3.1.1
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, **kwargs)
        self.client.enable_logger(logger=_paho_logger())
        self._credentials = (m.username or "", m.password or "")
        if m.username:
            self.client.username_pw_set(m.username, m.password or None)
        tls = m.get("tls") or {}
        self._tls = bool(tls.get("enabled"))
        if self._tls:
            self.client.tls_set(ca_certs=tls.get("ca") or None, certfile=tls.get("certfile") or None,
                                keyfile=tls.get("keyfile") or None, cert_reqs=ssl.CERT_REQUIRED)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.arrived: list[Arrival] = []
        #: goes up with every new connection (message ids belong to one connection)
        self.connection = 0
        self.connected = False
        self.subscribed = False
        self.state = "starting"
        self.last_message = time.monotonic()
        self.connected_since: float | None = None
        self._next_attempt = 0.0
        #: between connection attempts, and between subscriptions the broker refused
        self._backoff = Backoff(m.reconnect_min, m.reconnect_max)
        self._socket_open = False
        self.topics = subscriptions(settings)
        self.max_payload = int(m.get("max_payload", 65536))
        #: what the broker refused (or granted below the QoS asked), None when all is granted
        self.subscription_problem: str | None = None
        self._asked: dict[int, list[tuple[str, int]]] = {}  # SUBSCRIBE mid -> (topic, qos) asked
        self._resubscribe_at = 0.0
        self._sub_backoff = Backoff(m.reconnect_min, m.reconnect_max)
        #: times the broker answered "session present: false" after a connection of this run had one
        self.sessions_lost = 0
        #: (T1, T2) UTC epoch seconds of the last disconnection that cost the session
        self.lost_window: tuple[float, float] | None = None
        self._down_since: float | None = None  # wall clock when the last connection ended
        #: paho_speedups (batched PUBACKs and buffered reads on plain sockets, lean PUBLISH handling):
        #: only on the paho versions they were written for
        speedups = paho_speedups.activate(wanted=str(m.get("speedups", "auto")))
        self._fast_acks = speedups and not self._tls
        if speedups:
            paho_speedups.lean_publish(self.client, self._received)

    # -- callbacks: record only ---------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        try:
            if reason_code.is_failure:
                self._set_state(f"refused by broker: {reason_code}", error=True,
                                detail="; nothing acknowledged is lost (the inbox holds it) and the broker keeps the "
                                       f"rest in the session; retrying with a backoff up to "
                                       f"{self.settings.mqtt.reconnect_max} s")
                return
            self.connected = True
            self.connection += 1
            self.connected_since = time.monotonic()
            self._backoff.reset()
            present = getattr(flags, "session_present", False)
            self._set_state(f"connected to {self.settings.mqtt.host}:{self.settings.mqtt.port} "
                            f"(session present: {present})")
            if not present and self.connection > 1:
                self._session_lost()
            self._down_since = None
            self._subscribe()
        except Exception as exc:  # never into paho's loop
            log.error("on_connect failed: {}: {}", type(exc).__name__, exc)

    def _session_lost(self) -> None:
        """The broker forgot the persistent session it kept for us (it crashed before saving
        it, or it expired): whatever was published for us while we were away is gone."""
        now = time.time()
        since = self._down_since or now
        self.sessions_lost += 1
        self.lost_window = (since, now)
        m = self.settings.mqtt
        log.warning("MQTT broker {}:{} lost the collector's session (session present: false): readings published "
                    "between {} and {} ({:.0f} s) may be missing; the broker's persistence or its "
                    "persistent_client_expiration did not keep them", m.host, m.port, utc_iso(since), utc_iso(now),
                    now - since)

    def _went_down(self) -> None:
        if self._down_since is None:
            self._down_since = time.time()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        try:
            self._went_down()
            self.connected = self.subscribed = False
            self._socket_open = False
            if not self.state.startswith("refused by broker"):  # the refusal already said it
                self._set_state(f"disconnected ({reason_code})", error=True)
        except Exception as exc:
            log.error("on_disconnect failed: {}: {}", type(exc).__name__, exc)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        try:
            asked = self._asked.pop(mid, None)
            if asked is None:
                return  # a SUBACK of an earlier connection
            problems = subscription_problems(asked, reason_codes)
            if problems:
                problem = "; ".join(problems)
                if problem != self.subscription_problem:
                    log.error("subscription refused by the broker: {}; retrying with a backoff up to {} s", problem,
                              self.settings.mqtt.reconnect_max)
                self.subscription_problem = problem
                self.subscribed = False
                self._resubscribe_at = time.monotonic() + self._sub_backoff.next()
            else:
                if self.subscription_problem:
                    log.warning("subscriptions accepted by the broker again")
                self.subscription_problem = None
                self._sub_backoff.reset()
                self.subscribed = True
                log.info("subscriptions confirmed by the broker")
        except Exception as exc:
            log.error("on_subscribe failed: {}: {}", type(exc).__name__, exc)

    def _on_message(self, client, userdata, msg) -> None:
        self._received(msg.topic, msg.payload, msg.mid, msg.qos, msg.retain)

    def _received(self, topic: str, payload: bytes, mid: int, qos: int, retain: bool) -> None:
        """A PUBLISH received (from paho's on_message, or straight from the packet:
        paho_speedups.lean_publish): recorded for the inbox, never raises."""
        try:
            message = Message(topic, payload, utc_now(), bool(retain))
            if len(payload) > self.max_payload:  # keep the first bytes only: quarantined as too_large
                message.payload, message.size = bytes(payload[:TOO_LARGE_KEEP]), len(payload)
            self.arrived.append(Arrival(message, mid, qos, self.connection))
            self.last_message = time.monotonic()
        except Exception as exc:
            log.error("on_message failed: {}: {}", type(exc).__name__, exc)

    def _set_state(self, state: str, error: bool = False, detail: str = "") -> None:
        """Log a connection state once: the same problem again at the next retry is not news."""
        if state != self.state:
            (log.warning if error else log.info)("MQTT {}{}", state, detail)
            self.state = state

    def _subscribe(self) -> None:
        qos = int(self.settings.mqtt.qos)
        self.topics = subscriptions(self.settings)
        if self.topics:
            for t in self.topics:
                log.info("subscribing to {} (QoS {})", t, qos)
            asked = [(t, qos) for t in self.topics]
            rc, mid = self.client.subscribe(asked)
            if rc == mqtt.MQTT_ERR_SUCCESS and mid is not None:
                self._asked[mid] = asked

    # -- driving -------------------------------------------------------------------------------
    def _connect(self) -> None:
        m = self.settings.mqtt
        try:
            if self.v5:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = int(m.session_expiry)
                props.ReceiveMaximum = int(m.receive_maximum)
                self.client.connect(m.host, int(m.port), int(m.keepalive), clean_start=False, properties=props)
            else:
                self.client.connect(m.host, int(m.port), int(m.keepalive))
            self._socket_open = True
            if self._fast_acks:  # the same versions and the same plain sockets
                paho_speedups.buffer_reads(self.client)
        except (OSError, ssl.SSLError) as exc:
            self._set_state(f"cannot connect to {m.host}:{m.port}: {exc}", error=True,
                            detail=f"; retrying with a backoff up to {m.reconnect_max} s")
            self._next_attempt = time.monotonic() + self._backoff.next()

    def poll(self, timeout: float, limit: int = 5000) -> list[Arrival]:
        """Read what the broker sent (waiting at most ``timeout``) and return it."""
        if not self._socket_open:
            now = time.monotonic()
            if now >= self._next_attempt:
                self._connect()
            if not self._socket_open:
                time.sleep(min(timeout, max(0.0, self._next_attempt - time.monotonic())))
                return self._take()
        if self.subscription_problem and self.connected and time.monotonic() >= self._resubscribe_at:
            self._resubscribe_at = time.monotonic() + self._sub_backoff.current  # until its SUBACK says otherwise
            self._subscribe()
        rc = self.client.loop(timeout)
        # one select() per burst, not per message: read on while the socket has data
        while rc == mqtt.MQTT_ERR_SUCCESS and self._socket_open and len(self.arrived) < limit:
            before = len(self.arrived)
            rc = self.client.loop_read()
            if len(self.arrived) == before:
                break
        if rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_AGAIN) or not self._socket_open:
            self._went_down()
            self.connected = self.subscribed = False
            if self._socket_open and not self.state.startswith("refused by broker"):
                self._set_state(f"connection lost ({mqtt.error_string(rc)})", error=True,
                                detail=f"; retrying with a backoff up to {self.settings.mqtt.reconnect_max} s")
            self._socket_open = False
            self._next_attempt = time.monotonic() + self._backoff.next()
        return self._take()

    def _take(self) -> list[Arrival]:
        out, self.arrived = self.arrived, []
        return out

    def ack(self, arrivals: list[Arrival]) -> None:
        """Acknowledge messages now safely on disk (QoS 0 needs none), only on the
        connection they came on.  A burst of QoS 1 PUBACKs goes out as one write when
        paho has nothing of its own waiting (paho_speedups); the rest through paho."""
        client = self.client
        if not self.connected:
            return  # the broker re-sends them on the next connection; they are in the inbox already
        arrivals = [a for a in arrivals if a.connection == self.connection]
        qos1 = [a.mid for a in arrivals if a.qos == 1]
        if qos1 and self._fast_acks and not client.want_write():
            sock = client.socket()
            if sock is not None:
                qos1 = paho_speedups.write_pubacks(sock, qos1)
        for mid in qos1:
            client.ack(mid, 1)
        for a in arrivals:
            if a.qos == 2:
                client.ack(a.mid, 2)

    def drop_connection(self) -> None:
        """Close the connection without acknowledging anything (the persistent session keeps
        every message not acknowledged, and the broker sends them again on reconnect)."""
        if self._socket_open:
            try:
                self.client.disconnect()
            except Exception as exc:  # noqa: BLE001 - going away anyway
                log.debug("disconnect: {}", exc)
        self._went_down()
        self.connected = self.subscribed = self._socket_open = False
        self.arrived = []
        self._next_attempt = time.monotonic() + self._backoff.current
        self._set_state("disconnected on purpose: messages cannot be stored now", error=True)

    def apply(self, settings: Any) -> None:
        """A reload: new credentials reconnect at once (the persistent session carries over, and
        what was not acknowledged is sent again); new topics are subscribed."""
        m = settings.mqtt
        credentials = (m.username or "", m.password or "")
        if credentials != self._credentials:
            self._credentials = credentials
            self.client.username_pw_set(credentials[0] or None, credentials[1] or None)
            log.warning("MQTT credentials changed by the reload: reconnecting with them")
            self.settings = settings
            self.topics = subscriptions(settings)
            if self._socket_open:
                try:
                    self.client.disconnect()
                except Exception as exc:  # noqa: BLE001 - reconnecting anyway
                    log.debug("disconnect: {}", exc)
                self._went_down()
            self.connected = self.subscribed = self._socket_open = False
            self.arrived = []
            self._backoff.reset()
            self._next_attempt = 0.0  # now
            self.max_payload = int(m.get("max_payload", 65536))
            return
        self.resubscribe(settings)

    def resubscribe(self, settings: Any) -> None:
        """A reload changed the topics: subscribe to the new set at once."""
        old = set(self.topics)
        self.settings = settings  # (reconnect_min/max: the backoffs keep the start's, as the schema says)
        self.max_payload = int(settings.mqtt.get("max_payload", 65536))
        new = subscriptions(settings)
        if set(new) == old:
            return
        if self.connected:
            gone = sorted(old - set(new))
            if gone:
                self.client.unsubscribe(gone)
            self._subscribe()
        self.topics = new

    def silent_for(self) -> float:
        return time.monotonic() - self.last_message

    def close(self) -> None:
        """Disconnect cleanly: the broker keeps the session (and what we did not acknowledge)."""
        if self._socket_open:
            try:
                self.client.disconnect()
            except Exception as exc:  # noqa: BLE001 - closing anyway
                log.debug("disconnect: {}", exc)
        self._socket_open = self.connected = False


#: how many bytes of a too large payload are kept (for the quarantine)
TOO_LARGE_KEEP = 1024


def utc_iso(epoch: float) -> str:
    """``2026-12-07 00:10:05 UTC``: how the log and the notices write a moment."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _paho_logger():
    import logging

    return logging.getLogger("paho")
