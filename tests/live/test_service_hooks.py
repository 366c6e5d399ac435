"""The live service's plugin hook and its systemd notifications, in-process."""

from __future__ import annotations

import socket
import threading

import pytest

from broker import free_port
from tessdb_core import hookimpl

from live_service import Publisher, reading, registration, wait_for

pytestmark = pytest.mark.live


@pytest.fixture
def in_process(tmp_path, broker, monkeypatch):
    """A Service in this process (a thread), with a recorder plugin and a notify socket."""
    from tessdb_core.app import create
    from tessdb_core.service import Service

    monkeypatch.chdir(tmp_path)
    for key, value in {"MQTT__HOST": "127.0.0.1", "MQTT__PORT": str(broker.port), "HTTP__PORT": str(free_port()),
                       "MQTT__CLIENT_ID": "tessdb-hooks", "INBOX__FLUSH_INTERVAL": "0.05",
                       "FILTER__ENABLE__DAYLIGHT": "false"}.items():
        monkeypatch.setenv(f"TESSDB_{key}", value)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")

    class Recorder:
        controls = None

        @hookimpl
        def tessdb_service_started(self, controls, settings):
            Recorder.controls = controls

    app = create(extra_plugins=[("recorder", Recorder())], configure_logs=False)
    app.store().initialise()
    service = Service(app)
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    try:
        yield service, Recorder, notify
    finally:
        service.request("stop")
        thread.join(30)
        notify.close()


def test_tessdb_service_started_hands_a_working_controls_to_plugins(in_process, broker):
    service, recorder, _ = in_process
    wait_for(lambda: recorder.controls is not None and service.mqtt.subscribed, 20, "the service to start")
    publisher = Publisher(broker.port)
    try:
        publisher.publish([registration(1), registration(2)] + [reading(1, s) for s in range(5)] + [reading(2, 0)])
    finally:
        publisher.close()
    controls = recorder.controls
    wait_for(lambda: set(controls.last_readings()) == {"stars1", "stars2"}, 20, "the last readings")
    last = controls.last_readings()
    assert last["stars1"] > last["stars2"]  # stars1's newest reading is 4 minutes later
    ok, why = controls.health()
    assert ok and why == "ok"
    assert controls.stats()["stored"] == 6


def test_systemd_hears_ready_then_watchdog_then_stopping(in_process):
    service, _, notify = in_process
    messages = []
    while not any(m.startswith("READY=1") for m in messages):
        messages.append(notify.recv(4096).decode())
    wait_for(lambda: notify.recv(4096).decode() == "WATCHDOG=1", 5, "a watchdog ping")
    service.request("stop")
    seen = []
    while "STOPPING=1" not in seen:
        seen.append(notify.recv(4096).decode())
    assert "STOPPING=1" in seen


def test_quarantined_messages_are_summed_up_at_info(in_process, broker, monkeypatch):
    from loguru import logger

    service, recorder, _ = in_process
    monkeypatch.setattr("tessdb_core.telemetry.SUMMARY_EVERY", 1)
    lines: list[tuple[str, str]] = []
    sink = logger.add(lambda m: lines.append((m.record["level"].name, m.record["message"])), level="DEBUG")
    try:
        wait_for(lambda: service.mqtt is not None and service.mqtt.subscribed, 20, "the service to start")
        publisher = Publisher(broker.port)
        try:
            publisher.publish([("STARS4ALL/stars5/reading", "{not json")] * 4 + [reading(77, 0)])
        finally:
            publisher.close()
        wait_for(lambda: any("Quarantined in the last" in m for _, m in lines), 20, "the summary line")
    finally:
        logger.remove(sink)
    summary = [(lvl, m) for lvl, m in lines if "Quarantined in the last" in m]
    assert summary[0][0] == "INFO" and "4 bad_json" in summary[0][1] and "1 unknown_photometer" in summary[0][1]
    each = [lvl for lvl, m in lines if m.startswith("Quarantined message on")]
    assert len(each) == 5 and set(each) == {"DEBUG"}


def test_liveness_answers_without_the_loop_and_readiness_ignores_a_quiet_sky(in_process, monkeypatch):
    service, recorder, _ = in_process
    wait_for(lambda: recorder.controls is not None and service.mqtt.subscribed, 20, "the service to start")
    controls = recorder.controls
    assert controls.live() == (True, "ok")
    monkeypatch.setattr("tessdb_core.telemetry.STUCK_AFTER", -1.0)  # as if the loop had stopped turning
    alive, why = controls.live()
    assert not alive and "has not turned" in why
    monkeypatch.setattr("tessdb_core.telemetry.STUCK_AFTER", 30.0)
    service.mqtt.last_message -= 10_000  # a cloudy night: nothing for hours
    ready, why = controls.health()
    assert ready and why.startswith("ok; no message for")
