"""The alarms of the real service (`tessdb-core run` as a child process, a real mosquitto, a
real SMTP server and a webhook receiver on 127.0.0.1): the issue's "done when" and the rest."""

from __future__ import annotations

import json
import threading
import time

import pytest

from broker import free_port
from live_service import NO_DAYLIGHT, Publisher, Service, reading, registration, wait_for

from .conftest import PASSWORD, SmtpServer, mail_env

pytestmark = pytest.mark.live


@pytest.fixture
def services(tmp_path, broker):
    """Make services in the test's folder; every one is stopped at the end."""
    made: list[Service] = []

    def make(env: dict[str, str]) -> Service:
        svc = Service(tmp_path / f"svc{len(made)}", broker, {**NO_DAYLIGHT, **env})
        svc.cwd.mkdir()
        made.append(svc)
        return svc

    try:
        yield make
    finally:
        for svc in made:
            svc.stop()


def publish_for(publisher: Publisher, names: list[int], seconds: float, seq: int) -> int:
    """A reading of each photometer every 0.5 s for ``seconds``; return the next sequence number."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        publisher.publish([reading(i, seq) for i in names])
        seq += 1
        time.sleep(0.5)
    return seq


def listing(svc: Service) -> dict:
    return json.loads(svc.cli("alarms", "list", "--json").stdout)


def checks_started(svc: Service) -> int:
    return svc.log().count("Alarms: checking every")


def test_a_stall_sends_one_email_and_one_recovery_across_a_restart(services, broker, smtp):
    svc = services(mail_env(smtp, STALLED_AFTER="10s", CHECK_EVERY="1s")).start()
    publisher = Publisher(broker.port)
    try:
        publisher.publish([registration(1)])
        seq = publish_for(publisher, [1], 3, 0)
        # the publisher stops: one e-mail, 10 s later
        wait_for(lambda: len(smtp.messages) >= 1, 25, "the stall alarm")
        assert "ALARM: the collector stores no readings" in smtp.subjects()[0]
        assert "no reading stored for 1" in smtp.messages[0].get_content()  # 10 or 11 s
        # a restart in between sends nothing twice
        svc.stop()
        svc.start()
        wait_for(lambda: checks_started(svc) == 2, 10, "the monitor of the second run")
        time.sleep(4)
        assert len(smtp.messages) == 1, smtp.subjects()
        # the publisher starts again: one recovery e-mail
        publish_for(publisher, [1], 2, seq)
        wait_for(lambda: len(smtp.messages) >= 2, 15, "the recovery e-mail")
        time.sleep(3)
    finally:
        publisher.close()
    subjects = smtp.subjects()
    assert len(subjects) == 2 and "RECOVERED: the collector stores readings again" in subjects[1], subjects
    found = listing(svc)
    assert [(a["kind"], a["state"]) for a in found["alarms"]] == [("stalled", "cleared")]
    assert found["unsent"] == []


def test_photometers_that_fall_silent_together_make_one_message(services, broker, smtp, webhook):
    svc = services(mail_env(smtp, STALLED_AFTER="1h", CHECK_EVERY="2s", PHOTOMETER_SILENT_AFTER="5s",
                            WEBHOOK_URL=webhook.url)).start()
    publisher, keeper = Publisher(broker.port), Publisher(broker.port, "keeper")
    stop = threading.Event()
    sending = [4]  # the keeper's photometers: stars1 joins it once it comes back
    try:
        publisher.publish([registration(i) for i in (1, 2, 3, 4)])
        seq = publish_for(publisher, [1, 2, 3, 4], 2, 0)

        def keep_stars4_sending(seq: int = seq) -> None:
            while not stop.is_set():
                keeper.publish([reading(i, seq + (2000 if i == 1 else 0)) for i in list(sending)])
                seq += 1
                stop.wait(0.5)

        thread = threading.Thread(target=keep_stars4_sending, daemon=True)
        thread.start()
        wait_for(lambda: len(smtp.messages) >= 1, 20, "the silent-photometer alarm")
        time.sleep(4.5)  # two more checks: nothing else
        assert smtp.subjects() == [f"[tessdb {svc_host()}] ALARM: 3 photometers silent: stars1, stars2, stars3"]
        body = smtp.messages[0].get_content()
        assert all(f"  stars{i}: no reading stored for" in body for i in (1, 2, 3)) and "stars4" not in body
        [alarm] = webhook.bodies()
        assert (alarm["event"], alarm["kind"], alarm["photometers"]) == ("alarm", "photometer_silent",
                                                                         ["stars1", "stars2", "stars3"])
        assert [a["name"] for a in alarm["alarms"]] == ["stars1", "stars2", "stars3"]
        assert alarm["subject"] == smtp.subjects()[0] and alarm["text"] == body.replace("\r\n", "\n").rstrip("\n")
        # stars1 comes back (and goes on sending, so it is not silent again when the test ends):
        # one recovery that names it alone
        publisher.publish([reading(1, seq + 1000)])
        sending.append(1)
        wait_for(lambda: len(smtp.messages) >= 2, 15, "the recovery of stars1")
        time.sleep(4.5)
    finally:
        stop.set()
        publisher.close()
        keeper.close()
    assert smtp.subjects()[1:] == [f"[tessdb {svc_host()}] RECOVERED: 1 photometer sending again: stars1"]
    assert [b["event"] for b in webhook.bodies()] == ["alarm", "recovery"]
    assert webhook.bodies()[1]["photometers"] == ["stars1"]
    still = {a["name"] for a in listing(svc)["alarms"] if a["state"] == "open"}
    assert still == {"stars2", "stars3"}


def svc_host() -> str:
    import socket

    return socket.gethostname()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # (aiosmtpd: plain AUTH, wanted here)
def test_a_failed_send_is_retried_and_delivered_once_the_server_is_back(services):
    server = SmtpServer(port=free_port(), users={"tessdb": PASSWORD})  # not started yet: the server is down
    svc = services(mail_env(server, STALLED_AFTER="2s", CHECK_EVERY="1s", SMTP_USER="tessdb",
                            SMTP_PASSWORD=PASSWORD)).start()

    def unsent_error() -> str | None:
        unsent = listing(svc)["unsent"]
        return unsent[0]["last_error"] if unsent else None

    wait_for(lambda: unsent_error() is not None, 20, "an undelivered alarm")
    assert unsent_error() == f"SMTP 127.0.0.1:{server.port}: Connection refused"
    server.start()
    try:
        wait_for(lambda: len(server.messages) >= 1, 15, "the delivery after the server came back")
        time.sleep(3)
        assert len(server.messages) == 1 and server.logins == ["tessdb"]
    finally:
        server.stop()
    found = listing(svc)
    assert found["unsent"] == [] and [(a["kind"], a["state"]) for a in found["alarms"]] == [("stalled", "open")]
    svc.stop()
    log = svc.log()
    assert log.count("Alarms: cannot send by email") == 1 and "Alarms: sending by email works again" in log
    assert PASSWORD not in log + (svc.cwd / "stderr-1.txt").read_text()


def test_with_nowhere_to_send_the_service_is_not_watched(services):
    svc = services({}).start()
    wait_for(lambda: "Alarms: no [alarms] receivers and no webhook_url" in svc.log(), 10, "the plugin's word")
    svc.stop()
    assert svc.log().count("the service is not watched") == 1
    assert not (svc.cwd / "tessdb-alarms.db").exists()


def test_a_broker_that_loses_the_session_is_a_warning_a_metric_and_an_alarm(tmp_path, smtp):
    from broker import Broker
    from live_service import FaultService

    lossy = Broker(tmp_path / "lossy-broker", extra="autosave_interval 3600").start()  # no save before the kill
    svc = FaultService(tmp_path / "svc", lossy, extra_env={**NO_DAYLIGHT, **mail_env(smtp, CHECK_EVERY="1s")})
    svc.cwd.mkdir()
    lost = "lost the collector's session"
    try:
        svc.start()
        # the control: the very first connection has no session either, and is no news
        assert "(session present: False)" in svc.log() and lost not in svc.log()
        assert svc.metric("tessdb_mqtt_sessions_lost_total") == 0
        lossy.proc.kill()  # kill -9 before its first save: the session is gone with it
        lossy.proc.wait()
        lossy.proc = None
        lossy.start()
        wait_for(lambda: lost in svc.log(), 30, "the WARNING of the lost session")
        line = next(x for x in svc.log().splitlines() if lost in x)
        assert "WARNING" in line and "may be missing" in line and " between " in line, line
        assert svc.metric("tessdb_mqtt_sessions_lost_total") == 1
        body = svc.wait_health(200, 20, naming=lost)  # ready stays ready; the reason says it
        assert "may be missing" in body["reason"]
        wait_for(lambda: any(lost in str(m["Subject"]) + m.get_content() for m in smtp.messages), 30,
                 "the alarm e-mail")
        assert [a["kind"] for a in json.loads(svc.cli("alarms", "list", "--json").stdout)["alarms"]] == ["notice"]
        assert svc.stop() == 0
    finally:
        if svc.proc is not None:
            svc.kill9()
        lossy.stop()


def test_a_retired_photometer_closes_its_alarm(services, broker, smtp):
    """``instrument retire`` on a silent photometer: the running service reloads its catalogue,
    the alarm closes with a "retired" message, and the photometer is watched no more."""
    svc = services(mail_env(smtp, STALLED_AFTER="1h", CHECK_EVERY="1s", PHOTOMETER_SILENT_AFTER="3s")).start()
    publisher = Publisher(broker.port)
    try:
        publisher.publish([registration(i) for i in (1, 2)])
        publish_for(publisher, [1, 2], 1.5, 0)
        wait_for(lambda: len(smtp.messages) >= 1, 20, "the silent-photometer alarm")
        assert smtp.subjects()[0].endswith("ALARM: 2 photometers silent: stars1, stars2")
        out = svc.cli("instrument", "retire", "stars1")
        assert out.stdout.startswith("retired stars1")
        wait_for(lambda: len(smtp.messages) >= 2, 20, "the retired photometer's closing message")
        time.sleep(3)  # more checks: nothing more
    finally:
        publisher.close()
    assert [s.split("] ", 1)[1] for s in smtp.subjects()] == ["ALARM: 2 photometers silent: stars1, stars2",
                                                              "RECOVERED: 1 photometer retired: stars1"]
    still = {a["name"] for a in listing(svc)["alarms"] if a["state"] == "open"}
    assert still == {"stars2"}
