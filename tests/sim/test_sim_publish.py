"""Publishing to a real mosquitto (the ``broker`` fixture): every message arrives, acknowledgements are
awaited, the in-flight window stays bounded past the 65,535 message ids, pacing follows --rate."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import paho.mqtt.client as mqtt
import pytest

from tessdb_sim.generator import EventRates, events
from tessdb_sim.mqtt_sink import MqttSink
from tessdb_sim.runner import Pacer, run

from polling import wait_for
from .sim_helpers import config, run_cli

pytestmark = pytest.mark.timeout(240)
QUIET = EventRates(0, 0, 0, 0)


class Subscriber:
    """A QoS 1 subscriber to ``STARS4ALL/#``, subscribed before the simulator starts."""

    def __init__(self, host: str, port: int):
        self.topics: Counter = Counter()
        self.payloads: list[bytes] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sim-test-sub", protocol=mqtt.MQTTv311,
                        clean_session=True)
        c.on_connect = lambda client, u, f, rc, p: client.subscribe("STARS4ALL/#", qos=1)
        c.on_subscribe = lambda *a: self._subscribed.set()
        c.on_message = self._on_message
        c.connect(host, port)
        c.loop_start()
        assert self._subscribed.wait(10), "no SUBACK"
        self.client = c

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            self.topics["register" if msg.topic == "STARS4ALL/register" else "reading"] += 1
            self.payloads.append(msg.payload)

    @property
    def count(self) -> int:
        return len(self.payloads)

    def wait_for(self, n: int, timeout: float = 60) -> int:
        """At least ``n`` messages, then a moment for any extra one (the count is asserted)."""
        wait_for(lambda: self.count >= n, timeout, f"{n} messages at the subscriber")
        time.sleep(0.3)
        return self.count

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscriber(broker):
    s = Subscriber(broker.host, broker.port)
    yield s
    s.stop()


def test_subscriber_receives_exactly_what_the_simulator_reports(broker, subscriber, tmp_path):
    out = run_cli("simulate", "--photometers", "50", "--readings", "3000", "--speed", "1e9",
                  "--broker", f"{broker.host}:{broker.port}", "--malformed-rate", "0.01", "--json",
                  "--start", "2026-11-30T12:00:00Z", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["readings"] + summary["malformed"] == 3000
    assert summary["unconfirmed"] == 0
    assert subscriber.wait_for(summary["messages"]) == summary["messages"]
    assert subscriber.topics["register"] == summary["registrations"] + summary["by_kind"]["bad_mac"]
    # the same seed writes the same payloads to a file
    run_cli("simulate", "--photometers", "50", "--readings", "3000", "--out", "same.jsonl", "--malformed-rate",
            "0.01", "--start", "2026-11-30T12:00:00Z", cwd=tmp_path)
    written = [json.loads(line)["payload"].encode() for line in (tmp_path / "same.jsonl").read_text().splitlines()]
    assert subscriber.payloads == written


def test_rate_paces_the_publishing_and_progress_is_reported(broker, subscriber, tmp_path):
    out = run_cli("simulate", "--photometers", "20", "--readings", "400", "--rate", "200", "--every", "0.5",
                  "--broker", f"{broker.host}:{broker.port}", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["messages"] == 420
    assert 1.8 < summary["elapsed_s"] < 6
    progress = [line for line in out.stderr.splitlines() if line.startswith("simulate: at ")]
    assert len(progress) >= 2
    assert subscriber.wait_for(420) == 420


def test_in_flight_messages_stay_bounded_and_all_are_acknowledged(broker, subscriber):
    sink = MqttSink(broker.host, broker.port, qos=1, max_inflight=25)
    highest = 0
    real_send = sink.send

    def send(event):
        nonlocal highest
        real_send(event)
        highest = max(highest, sink.pending())

    sink.send = send
    tally = run(events(config(30, readings=5000, malformed_rate=0, rates=QUIET)), sink, None, every=0)
    assert 0 < highest <= 25
    assert sink.pending() == 0 and sink.acked == sink.sent == tally.total == 5030
    assert subscriber.wait_for(5030) == 5030


def test_more_messages_than_mqtt_message_ids(broker, subscriber):
    """Past 65,535 messages paho re-uses ids: nothing may be lost or refused."""
    sink = MqttSink(broker.host, broker.port, qos=1)
    tally = run(events(config(1000, readings=70_000, malformed_rate=0, rates=QUIET)), sink, None, every=0)
    assert tally.total == 71_000 and tally.unconfirmed == 0 and sink.acked == 71_000
    assert subscriber.wait_for(71_000, timeout=120) == 71_000


def test_speed_maps_simulated_time_to_wall_time():
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    cfg = config(2, duration=600)
    pacer = Pacer(cfg.start, speed=60.0, clock=lambda: now[0], sleep=sleep)
    last = None
    for e in events(cfg):
        pacer.wait(e.time)
        last = e
    assert now[0] == pytest.approx((last.time - cfg.start).total_seconds() / 60, abs=1e-6)
    capped = Pacer(cfg.start, speed=1e9, rate=10.0, clock=lambda: now[0], sleep=sleep)
    now[0] = 0.0
    for e in list(events(cfg))[:21]:
        capped.wait(e.time)
    assert now[0] == pytest.approx(2.0)


def test_broker_refusing_credentials(tmp_path):
    """A broker that answers CONNACK 'not authorised' gives a one-line error."""
    from broker import Broker

    b = Broker(tmp_path / "auth")
    b.write_config()
    b.config.write_text(b.config.read_text().replace("allow_anonymous true", "allow_anonymous false"))
    start = b.start
    b.write_config = lambda: None  # keep the edited config
    start()
    try:
        out = run_cli("simulate", "--photometers", "2", "--readings", "3", "--broker", f"{b.host}:{b.port}",
                      cwd=tmp_path)
    finally:
        b.stop()
    assert out.returncode == 2
    line = out.stderr.strip()
    assert "\n" not in line and line.startswith("tessdb-core: error: the MQTT broker")
    assert "refused the connection" in line or "closed the connection" in line


def test_sigterm_stops_after_every_sent_message_is_acknowledged(broker, subscriber, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    proc = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", "simulate", "--photometers", "100", "--speed",
                             "1200", "--broker", f"{broker.host}:{broker.port}", "--json"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while subscriber.count < 500 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["interrupted"] is True and summary["unconfirmed"] == 0
    assert subscriber.wait_for(summary["messages"]) == summary["messages"] >= 500


def test_a_broker_restart_loses_nothing(broker, tmp_path):
    """The sink reconnects and paho re-sends what was not acknowledged (QoS 1 may duplicate)."""
    received: set[bytes] = set()
    lock = threading.Lock()

    def on_message(client, userdata, msg):
        with lock:
            received.add(msg.payload)

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sim-test-durable", protocol=mqtt.MQTTv311,
                      clean_session=False)
    subscribed = threading.Event()
    sub.on_connect = lambda client, u, f, rc, p: client.subscribe("STARS4ALL/#", qos=1)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = on_message
    sub.reconnect_delay_set(0.1, 1)
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    assert subscribed.wait(10)
    sink = MqttSink(broker.host, broker.port, qos=1)
    evs = list(events(config(200, readings=30_000, malformed_rate=0, rates=QUIET)))
    restarted = threading.Event()

    def restart_soon():
        while sink.sent < 8_000:
            time.sleep(0.01)
        broker.restart()
        restarted.set()

    threading.Thread(target=restart_soon, daemon=True).start()
    tally = run(evs, sink, Pacer(evs[0].time, speed=60 * 2000), every=0)
    try:
        assert restarted.is_set() and sink.disconnects >= 1
        assert tally.total == 30_200 and tally.unconfirmed == 0
        deadline = time.monotonic() + 60
        while len(received) < 30_200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(received) == 30_200
    finally:
        sub.disconnect()
        sub.loop_stop()
