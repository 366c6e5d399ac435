"""Secrets rotated by a reload (SIGHUP, as `systemctl reload`: no token needed): the admin API
refuses the old token and takes the new one; the MQTT client reconnects with the new password
(on a real mosquitto with a password file, where the old one no longer works); a wrong password
is a refused login that /health names, nothing lost, until a reload with the right one."""

from __future__ import annotations

import signal
import subprocess
import urllib.error
import urllib.request

import paho.mqtt.publish as publish
import pytest

from broker import Broker
from live_service import HOST, NO_DAYLIGHT, FaultService, reading, registration, wait_for

pytestmark = pytest.mark.live


def _secrets(svc: FaultService, token: str, password: str) -> None:
    (svc.cwd / ".secrets.toml").write_text(f'[http]\ntoken = "{token}"\n[mqtt]\nusername = "tessdb"\n'
                                           f'password = "{password}"\n')


def _status(svc: FaultService, token: str) -> int:
    req = urllib.request.Request(f"http://{HOST}:{svc.http_port}/v1/stats",
                                 headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def _reload(svc: FaultService) -> None:
    done = svc.log().count("Server reloaded") + svc.log().count("reloading server configuration")
    svc.signal(signal.SIGHUP)
    wait_for(lambda: svc.log().count("reloading server configuration") + svc.log().count("Server reloaded") > done,
             20, "the reload")


def test_a_reload_rotates_the_admin_token_and_the_mqtt_password(tmp_path):
    broker = Broker(tmp_path / "broker", users={"tessdb": "pass-1", "pub": "pub-pass"}).start()
    svc = FaultService(tmp_path / "svc", broker, extra_env={**NO_DAYLIGHT, "TESSDB_HTTP__PUBLIC_PATHS": '["/health", "/health/ready"]'})
    svc.cwd.mkdir()

    def send(*msgs):
        publish.multiple([{"topic": t, "payload": p, "qos": 1} for t, p in msgs], hostname=HOST, port=broker.port,
                         auth={"username": "pub", "password": "pub-pass"}, client_id="reload-publisher")

    try:
        _secrets(svc, "token-1", "pass-1")
        svc.start()
        send(registration(1), reading(1, 0))
        wait_for(lambda: svc.readings() == (1, 1), 20, "the first reading")
        assert _status(svc, "token-1") == 200 and _status(svc, "token-2") == 401
        # the rotation: the broker knows only the new password; the collector is told by a reload
        subprocess.run(["mosquitto_passwd", "-b", str(broker.workdir / "passwords"), "tessdb", "pass-2"], check=True)
        broker.proc.send_signal(signal.SIGHUP)
        _secrets(svc, "token-2", "pass-2")
        refused = svc.cli("reload", check=False)  # it sends the new token, which the service does not know yet
        assert refused.returncode != 0 and "reload by signal, which needs no token" in refused.stderr
        confirmed = svc.log().count("subscriptions confirmed")
        _reload(svc)
        wait_for(lambda: svc.log().count("subscriptions confirmed") > confirmed, 20,
                 "the client to reconnect with the new password")
        assert "MQTT credentials changed by the reload" in svc.log()
        assert "setting http.token changed: applied" in svc.log() and "token-2" not in svc.log()
        assert _status(svc, "token-1") == 401 and _status(svc, "token-2") == 200
        assert svc.cli("stats").returncode == 0  # the command reads the new token too
        send(reading(1, 1))
        wait_for(lambda: svc.readings() == (2, 2), 20, "a reading through the new connection")
        # a wrong password: a refused login, said on /health and in the log; nothing lost meanwhile
        _secrets(svc, "token-2", "wrong")
        reply = svc.cli("reload").stdout.strip()  # the token is unchanged: the command works and names the change
        assert reply == "Server reloaded; applied: mqtt.password", reply
        svc.wait_health(503, 20, naming="refused by broker")
        assert "nothing acknowledged is lost" in svc.log()
        send(reading(1, 2))  # kept by the broker in the collector's session
        _secrets(svc, "token-2", "pass-2")
        _reload(svc)
        wait_for(lambda: svc.readings() == (3, 3), 30, "the reading kept by the broker, after the right password")
        svc.wait_health(200, 20)
        assert svc.stop() == 0
    finally:
        if svc.proc is not None:
            svc.kill9()
        broker.stop()
