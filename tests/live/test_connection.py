"""Connection options (TLS, credentials, MQTT 3.1.1), periodic statistics, outside changes."""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import paho.mqtt.client as mqtt

from broker import Broker

from live_service import Publisher, Service, fleet, reading, registration, wait_for


def test_tls_and_password(tmp_path):
    broker = Broker(tmp_path / "broker", users={"tessdb": "pw-collector", "pub": "pw-pub"}, tls=True).start()
    svc = Service(tmp_path / "svc", broker, {
        "TESSDB_MQTT__USERNAME": "tessdb", "TESSDB_MQTT__PASSWORD": "pw-collector",
        "TESSDB_MQTT__TLS__ENABLED": "true", "TESSDB_MQTT__TLS__CA": str(broker.certs["ca"])})
    svc.cwd.mkdir()
    try:
        svc.start()
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="tls-pub")
        pub.username_pw_set("pub", "pw-pub")
        pub.tls_set(ca_certs=str(broker.certs["ca"]), cert_reqs=ssl.CERT_REQUIRED)
        pub.connect("127.0.0.1", broker.port)
        pub.loop_start()
        infos = [pub.publish(t, p, qos=1) for t, p in [registration(1)] + [reading(1, s) for s in range(10)]]
        for i in infos:
            i.wait_for_publish(10)
        pub.disconnect()
        pub.loop_stop()
        wait_for(lambda: svc.count() >= 7, 20, "readings over TLS")
        assert svc.stop() == 0 and svc.count() == 10
        assert "pw-collector" not in svc.log()
    finally:
        svc.stop()
        broker.stop()


def test_wrong_password_is_reported_and_retried(tmp_path):
    broker = Broker(tmp_path / "broker", users={"tessdb": "right"}).start()
    svc = Service(tmp_path / "svc", broker, {"TESSDB_MQTT__USERNAME": "tessdb", "TESSDB_MQTT__PASSWORD": "wrong"})
    svc.cwd.mkdir()
    try:
        svc.cli("init")
        import subprocess
        import sys

        svc.proc = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", "run"], cwd=svc.cwd, env=svc.env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: "refused by broker" in svc.log() or "Not authorized" in svc.log(), 20, "the refusal")
        assert svc.health_code() == 503 and svc.proc.poll() is None  # reported, still running, retrying
        assert svc.log().count("refused by broker") == 1  # each state change logged once
    finally:
        svc.stop()
        broker.stop()


def test_mqtt_3_1_1(service, publisher):
    service.env["TESSDB_MQTT__PROTOCOL"] = '"3.1.1"'
    service.start()
    publisher.publish([registration(1)] + [reading(1, s) for s in range(20)])
    wait_for(lambda: service.count() >= 17, 20, "readings over MQTT 3.1.1")
    assert service.stop() == 0 and service.count() == 20


def _sums(log: str, prefix: str) -> list[int]:
    """Column sums of every periodic line starting with ``prefix`` (counts may span intervals)."""
    rows = [[int(x) for x in m.group(1).split(", ")]
            for m in re.finditer(re.escape(prefix) + r" = \[([\d, ]+)\]", log)]
    return [sum(col) for col in zip(*rows)] if rows else []


def test_periodic_statistics_lines_then_reset(service, publisher):
    service.env["TESSDB_STATS__INTERVAL"] = "1"
    service.env["TESSDB_FILTER__ENABLE__DAYLIGHT"] = "false"
    service.start()
    publisher.publish([registration(1)] + [reading(1, s) for s in range(5)] + [reading(99, 0)])
    mqtt_line = "MQTT Stats [Total, Reads, Register, Discarded]"
    reg_line = "DBASE Register Stats [Register, Created, Renamed, Replaced, Extinct, Rebooted, ZP-Changed]"
    rd_line = "DBASE Readings Stats [Readings, NotRegistered, HashMismatch, NotAuthorised, Duplicated]"
    wait_for(lambda: _sums(service.log(), rd_line)[:2] == [6, 1], 20, "the readings stats lines")
    log = service.log()
    assert _sums(log, mqtt_line) == [7, 6, 1, 0]
    assert _sums(log, reg_line) == [1, 1, 0, 0, 0, 0, 0]
    assert _sums(log, rd_line) == [6, 1, 0, 0, 0]
    # each interval starts from zero: an idle interval logs zeros and /v1/stats is back to 0
    wait_for(lambda: f"{mqtt_line} = [0, 0, 0, 0]" in service.log(), 10, "the counters to reset")
    stats = json.loads(service.cli("stats", "--json").stdout)
    assert stats["mqtt"]["num_published"] == 0


def test_a_maintenance_change_reaches_the_running_service(service, publisher):
    service.env["TESSDB_DBASE__AUTH_FILTER"] = "true"
    service.env["TESSDB_FILTER__ENABLE__DAYLIGHT"] = "false"
    service.start()
    publisher.publish([registration(1), reading(1, 0)])
    wait_for(lambda: json.loads(service.cli("stats", "--json").stdout)["quarantined"].get("not_authorised"), 20,
             "the not-authorised reading")
    out = service.cli("instrument", "enable", "stars1")  # a write while the service runs: no reload needed
    assert out.returncode == 0
    wait_for(lambda: "Catalogue reloaded" in service.log(), 10, "the service to see the change")
    publisher.publish([reading(1, 1)])
    wait_for(lambda: service.count() == 1, 20, "the authorised reading")
    replay = json.loads(service.cli("quarantine", "replay", "--reason", "not_authorised", "--json").stdout)
    assert replay["replayed"] == 1 and service.count() == 2


def test_a_subscription_granted_below_qos_1_is_reported_and_retried(tmp_path):
    """A broker granting QoS 0 (mosquitto's max_qos 0) keeps nothing for the collector:
    /health says which topic and why, the log says it once, and it is asked again."""
    broker = Broker(tmp_path / "broker", extra="max_qos 0").start()
    svc = Service(tmp_path / "svc", broker)
    svc.cwd.mkdir()
    try:
        svc.cli("init")
        svc.proc = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", "run"], cwd=svc.cwd, env=svc.env,
                                    stderr=open(svc.cwd / "stderr.txt", "w"))
        wait_for(lambda: "subscription refused by the broker" in svc.log(), 20, "the refusal to be logged")
        status, health = _get(svc, "/health")
        assert status == 503 and "STARS4ALL/+/reading: granted QoS 0, asked 1" in health["reason"]
        wait_for(lambda: svc.log().count("subscribing to STARS4ALL/+/reading") >= 3, 20, "the retries")
        assert svc.log().count("subscription refused by the broker") == 1  # said once, retried quietly
        assert "tessdb_mqtt_subscribed 0.0" in _get(svc, "/metrics")[1]
    finally:
        svc.stop()
        broker.stop()
    # the positive control: the same service on a broker that grants QoS 1 is healthy and subscribed
    good = Broker(tmp_path / "broker2").start()
    svc2 = Service(tmp_path / "svc2", good)
    svc2.cwd.mkdir()
    try:
        svc2.start()
        assert _get(svc2, "/health")[0] == 200 and "tessdb_mqtt_subscribed 1.0" in _get(svc2, "/metrics")[1]
    finally:
        svc2.stop()
        good.stop()


def _get(svc, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{svc.http_port}{path}", timeout=5) as r:
            raw = r.read().decode()
            return r.status, (json.loads(raw) if path == "/health" else raw)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
