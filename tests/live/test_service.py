"""End-to-end: publish over MQTT to a real mosquitto, read the database back."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request

from live_service import BASE, Publisher, fleet, reading, registration, wait_for

READING_COLUMNS = ("date_id, time_id, tess_id, location_id, observer_id, sequence_number, frequency, magnitude, "
                   "box_temperature, sky_temperature, signal_strength, hash")


def registrations(n: int):
    return [registration(i) for i in range(1, n + 1)]


def test_mqtt_rows_equal_the_offline_ingest_rows(service, publisher, tmp_path):
    service.start()
    msgs = registrations(3) + fleet(3, 30) + [
        # with the optional fields a publisher may add
        reading(1, 100, az=10.0, alt=45.0, hash="001")]
    publisher.publish(msgs)
    wait_for(lambda: service.count() >= 3 * 30 - 9, 30, "the readings")
    assert service.stop() == 0
    live = service.db().execute(f"SELECT {READING_COLUMNS}, units_id FROM tess_readings_t ORDER BY 1,2,3").fetchall()
    assert len(live) == 91 and {r[-1] for r in live} == {1}  # Publisher, Direct
    # the same messages through `tessdb-core ingest` on a fresh database
    offline = tmp_path / "offline"
    offline.mkdir()
    data = offline / "msgs.jsonl"
    data.write_text("".join(json.dumps({"topic": t, "payload": p, "received": "2026-11-30T00:00:00Z"}) + "\n"
                            for t, p in msgs))
    from cli_runner import Cli

    cli = Cli(offline)
    cli("init")
    cli("ingest", str(data))
    off = cli.db().execute(f"SELECT {READING_COLUMNS}, units_id FROM tess_readings_t ORDER BY 1,2,3").fetchall()
    assert [tuple(r)[:-1] for r in off] == [r[:-1] for r in live]
    assert {r[-1] for r in off} == {3}  # Publisher, Imported
    tess_live = service.db().execute("SELECT mac_address, zp1, valid_since, valid_state FROM tess_t").fetchall()
    tess_off = cli.db().execute("SELECT mac_address, zp1, valid_since, valid_state FROM tess_t").fetchall()
    assert [tuple(r) for r in tess_off] == tess_live


def test_kill_9_in_a_burst_then_restart_stores_every_reading_once(service, broker):
    service.start()
    pub = Publisher(broker.port, "burst-publisher")
    pub.publish(registrations(100))
    msgs = fleet(100, 200)  # 20,000 QoS 1 readings
    done = threading.Event()
    sent = []

    def burst():
        sent.append(pub.publish(msgs))
        done.set()

    threading.Thread(target=burst, daemon=True).start()
    wait_for(lambda: service.count() > 3000, 60, "part of the burst to be stored")
    service.kill9()
    done.wait(120)
    pub.close()
    assert sent == [20_000]
    service.start()
    wait_for(lambda: service.count() >= 20_000 - 300, 120, "the rest of the burst after the restart")
    assert service.stop() == 0  # the stop releases the readings held in the windows
    with service.db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0] == 20_000
        keys = conn.execute("SELECT COUNT(DISTINCT tess_id || '-' || sequence_number) FROM tess_readings_t").fetchone()
        assert keys[0] == 20_000
    inbox = sqlite3.connect(service.cwd / "tessdb-inbox.db")
    assert inbox.execute("SELECT COUNT(*) FROM inbox_t").fetchone()[0] == 0
    assert inbox.execute("SELECT COUNT(*) FROM quarantine_t").fetchone()[0] == 0


def test_pause_keeps_the_backlog_on_disk_and_resume_writes_it(service, publisher):
    service.start()
    publisher.publish(registrations(50))
    wait_for(lambda: service.count("tess_t") == 50, 20, "the registrations")
    assert service.cli("pause").stdout.strip() == "Server paused operation"
    rss_before = service.rss_kb()
    sent = publisher.publish(fleet(50, 600), rate=1000)  # 30,000 readings in 30 s while paused
    rss_after = service.rss_kb()
    inbox = sqlite3.connect(service.cwd / "tessdb-inbox.db")
    assert inbox.execute("SELECT COUNT(*) FROM inbox_t").fetchone()[0] >= sent - 50
    assert service.count() == 0  # nothing written while paused
    assert rss_after - rss_before < 25_000, f"memory grew by {rss_after - rss_before} kB while paused"
    assert service.cli("resume").stdout.strip() == "Server resumed operation"
    wait_for(lambda: service.count() >= sent - 150, 60, "the backlog")
    assert service.stop() == 0
    assert service.count() == sent


def test_signals_pause_resume_and_stop(service, publisher):
    service.start()
    publisher.publish(registrations(2))
    service.signal(signal.SIGUSR1)
    wait_for(lambda: "Database writer paused" in service.log(), 10, "the pause")
    publisher.publish(fleet(2, 20))
    time.sleep(0.5)
    assert service.count() == 0
    service.signal(signal.SIGUSR2)
    wait_for(lambda: service.count() >= 40 - 6, 20, "the readings after resume")
    service.signal(signal.SIGTERM)
    assert service.proc.wait(30) == 0
    assert service.count() == 40


def test_broker_restart_in_a_burst_loses_nothing(service, broker):
    service.start()
    pub = Publisher(broker.port, "restart-publisher")
    pub.publish(registrations(20))
    pub.publish(fleet(20, 250))  # 5,000 acknowledged by the broker
    pub.close()
    broker.restart()  # persistence on: the service's session and its queue survive
    wait_for(lambda: "MQTT connected" in service.log().split("MQTT disconnected")[-1], 30, "the reconnection")
    pub = Publisher(broker.port, "restart-publisher-2")
    pub.publish([reading(i, seq) for seq in range(250, 300) for i in range(1, 21)])
    pub.close()
    wait_for(lambda: service.count() >= 6000 - 60, 60, "every reading")
    assert service.stop() == 0
    assert service.count() == 6000
    assert service.log().count("subscribing to STARS4ALL/+/reading") >= 2  # resubscribed on reconnect


def test_a_database_held_exclusively_for_10_s_loses_nothing(service, publisher):
    service.start()
    publisher.publish(registrations(10))
    wait_for(lambda: service.count("tess_t") == 10, 20, "the registrations")
    lock = sqlite3.connect(service.cwd / "tess.db", timeout=30, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    t0 = time.monotonic()
    sent = publisher.publish(fleet(10, 200), rate=400)  # 2,000 readings while the database is held
    inbox = sqlite3.connect(service.cwd / "tessdb-inbox.db")
    assert inbox.execute("SELECT COUNT(*) FROM inbox_t").fetchone()[0] > 0  # still accepting
    time.sleep(max(0.0, 10 - (time.monotonic() - t0)))
    lock.execute("ROLLBACK")
    lock.close()
    wait_for(lambda: service.count() >= sent - 30, 60, "the readings after the lock")
    assert service.stop() == 0
    assert service.count() == sent
    assert "is locked" in service.log()


def test_reload_changes_whitelist_and_auth_filter_and_survives_a_bad_file(service, publisher):
    settings = service.cwd / "site.toml"
    settings.write_text("[filter.enable]\ndaylight = false\n")
    service.start("--settings", str(settings))
    publisher.publish(registrations(2))
    publisher.publish([reading(1, 0), reading(2, 0)])
    wait_for(lambda: service.count() == 2, 20, "the first readings")
    settings.write_text('[filter.enable]\ndaylight = false\n[mqtt]\ntess_whitelist = ["stars1"]\n'
                        "[dbase]\nauth_filter = true\n")
    assert service.cli("reload").stdout.strip() == "Server reloaded; applied: dbase.auth_filter, mqtt.tess_whitelist"
    # stars2 is not whitelisted (discarded); stars1 is not authorised (quarantined)
    publisher.publish([reading(1, 1), reading(2, 1)])
    wait_for(lambda: "not_authorised" in json.dumps(_stats(service)), 20, "the auth filter")
    stats = _stats(service)
    assert stats["mqtt"]["num_filtered"] == 1 and stats["dbase_readings"]["rej_not_authorised"] == 1
    settings.write_text("[dbase]\nbuffer_size = -1\n")
    out = service.cli("reload", check=False)
    assert out.returncode == 2 and "dbase.buffer_size" in out.stderr
    assert "Reload refused" in service.log()
    publisher.publish([reading(2, 2)])  # the old settings (whitelist) are still in force
    wait_for(lambda: _stats(service)["mqtt"]["num_filtered"] == 2, 20, "the whitelist still applied")
    assert service.proc.poll() is None and service.count() == 2


def _stats(service):
    return json.loads(service.cli("stats", "--json").stdout)


def _http(service, method, path, body=None, token=None):
    req = urllib.request.Request(f"http://127.0.0.1:{service.http_port}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read().decode()
            return r.status, (json.loads(raw) if r.headers["Content-Type"].startswith("application/json") else raw)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_admin_api_endpoints(service, publisher):
    service.start()
    publisher.publish(registrations(1) + [reading(1, s) for s in range(10)])
    wait_for(lambda: service.count() >= 7, 20, "readings")
    assert _http(service, "GET", "/v1") == (200, {"message": "I'm alive"})
    status, stats = _http(service, "GET", "/v1/stats")
    assert status == 200 and stats["mqtt"]["num_published"] == 11 and stats["dbase_register"]["num_created"] == 1
    assert set(stats["dbase_readings"]) == {"num_readings", "rej_not_registered", "rej_hash_mismatch",
                                            "rej_not_authorised", "rej_duplicated"}
    status, loggers = _http(service, "GET", "/v1/loggers")
    assert [x["name"] for x in loggers] == ["mqtt", "filter", "dbase", "http", "stats", "server"]
    assert _http(service, "PUT", "/v1/loggers/mqtt", {"name": "mqtt", "level": "debug"}) == (
        200, {"name": "mqtt", "level": "debug"})
    assert _http(service, "GET", "/v1/loggers/mqtt")[1]["level"] == "debug"
    assert _http(service, "GET", "/v1/loggers/nosuch")[0] == 422
    assert _http(service, "PUT", "/v1/loggers/mqtt", {"level": "loud"})[0] == 422
    assert _http(service, "GET", "/v1/ploggers")[1] == [{"name": "stars1", "level": "info"}]
    assert _http(service, "PUT", "/v1/ploggers/stars1", {"name": "stars1", "level": "debug"})[0] == 200
    assert _http(service, "GET", "/v1/ploggers/stars1")[1]["level"] == "debug"
    assert _http(service, "GET", "/v1/ploggers/stars999")[0] == 404
    assert _http(service, "GET", "/v1/ploggers/nota-name")[0] == 422
    assert _http(service, "GET", "/v1/filter/stars1/config") == (200, {"divisor": 1, "buffered": True})
    assert _http(service, "PUT", "/v1/filter/stars1/config", {"divisor": 3, "buffered": False})[0] == 200
    assert _http(service, "GET", "/v1/filter/stars1/config") == (200, {"divisor": 3, "buffered": False})
    status, state = _http(service, "GET", "/v1/filter/stars1")
    assert status == 200 and state["name"] == "stars1" and state["sampler"] == {"divisor": 3}
    assert _http(service, "GET", "/v1/filter/stars77/config")[0] == 404
    status, metrics = _http(service, "GET", "/metrics")
    assert status == 200 and "tessdb_messages_received_total 11.0" in metrics
    assert 'tessdb_registrations_applied_total{case="created"} 1.0' in metrics
    assert "tessdb_inbox_depth" in metrics and "tessdb_commit_duration_seconds_bucket" in metrics
    assert 'tessdb_photometer_last_reading_timestamp_seconds{name="stars1"}' in metrics
    assert 'tessdb_build_info{paho_mqtt="' in metrics
    assert _http(service, "GET", "/health") == (200, {"status": "ok", "reason": "ok"})
    assert _http(service, "POST", "/v1/server/flush")[1] == {"message": "Server flushed"}
    wait_for(lambda: service.count() == 10, 10, "the flushed readings")
    assert _http(service, "POST", "/v1/server/pause")[1] == {"message": "Server paused operation"}
    status, health = _http(service, "GET", "/health")
    assert status == 200 and health["reason"].startswith("paused")  # ready: a pause is the operator's choice
    assert _http(service, "GET", "/health/live") == (200, {"status": "ok", "reason": "ok"})
    assert _http(service, "POST", "/v1/server/resume")[1] == {"message": "Server resumed operation"}
    assert _http(service, "POST", "/v1/server/reload")[1] == {"message": "Server reloaded; no setting changed"}
    assert _http(service, "GET", "/v1/nosuch")[0] == 404


def test_admin_token_is_required_when_set(service):
    service.env["TESSDB_HTTP__TOKEN"] = "s3cret-token"
    service.start()
    assert _http(service, "GET", "/v1/stats")[0] == 401
    # [http] public_paths: a scraper and a probe need no token, and may only read
    assert _http(service, "GET", "/metrics")[0] == 200
    assert _http(service, "GET", "/health/live")[0] == 200 and _http(service, "GET", "/health/ready")[0] == 200
    assert _http(service, "GET", "/health")[0] == 401  # not in the list
    assert _http(service, "POST", "/health/live")[0] == 401  # only a GET is let through
    assert _http(service, "GET", "/v1/stats", token="wrong")[0] == 401
    assert _http(service, "GET", "/v1/stats", token="s3cret-token")[0] == 200
    assert service.cli("stats", "--json").returncode == 0  # the CLI sends the token of the settings
    assert "s3cret-token" not in service.log()


def test_health_reports_a_broker_that_is_down(service, broker):
    service.start()
    assert service.health_code() == 200
    broker.stop()
    wait_for(lambda: service.health_code() == 503, 20, "health to turn 503")
    status, health = _http(service, "GET", "/health")
    assert "not connected" in health["reason"]
    broker.start()
    wait_for(lambda: service.health_code() == 200, 30, "health to recover")
