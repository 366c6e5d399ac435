"""A reload tells the truth: each changed key is named, in the reply and in the log, as applied or
needing a restart (from the settings schema), never with a secret's value; a reloadable key takes
effect at the first reload (``[logs] level``)."""

from __future__ import annotations

import urllib.request

import pytest

from broker import mosquitto_path
from live_service import HOST
from polling import wait_for

pytestmark = [pytest.mark.live, pytest.mark.skipif(mosquitto_path() is None, reason="mosquitto is not installed")]

NEW_PASSWORD = "rotated-pw-5521"


def _health(service) -> None:
    with urllib.request.urlopen(f"http://{HOST}:{service.http_port}/health", timeout=5) as r:
        assert r.status == 200


def debug_lines(service) -> list[str]:
    return [line for line in service.log().splitlines() if "[DEBUG" in line]


def test_a_reload_names_each_changed_key_applied_or_needing_a_restart(service):
    site = service.cwd / "site.toml"
    site.write_text("[logs]\nlevel = 'info'\n")
    service.env.pop("TESSDB_LOGS__CONSOLE", None)
    service.start("--settings", str(site))
    _health(service)
    assert debug_lines(service) == []  # the control: at info, no admin request is logged

    site.write_text("[logs]\nlevel = 'debug'\n[mqtt]\nkeepalive = 30\nusername = 'tess'\n[stats]\ninterval = 60\n")
    (service.cwd / ".secrets.toml").write_text(f"[mqtt]\npassword = '{NEW_PASSWORD}'\n")
    out = service.cli("--settings", str(site), "reload")
    assert out.stdout.strip() == ("Server reloaded; applied: logs.level, mqtt.password, mqtt.username, "
                                  "stats.interval; needs a restart: mqtt.keepalive")
    log = service.log()
    assert "setting mqtt.keepalive changed from 60 to 30: needs a restart" in log
    assert "setting logs.level changed from 'info' to 'debug': applied" in log
    assert "setting mqtt.password changed: applied" in log
    assert "setting stats.interval changed from 3600 to 60: applied" in log
    assert NEW_PASSWORD not in log + out.stdout + out.stderr

    # [logs] level = "debug" is in force after this first reload: an admin request is now logged
    _health(service)
    wait_for(lambda: any("GET /health" in line for line in debug_lines(service)), 10, "a DEBUG line")

    out = service.cli("--settings", str(site), "reload")  # nothing changed since
    assert out.stdout.strip() == "Server reloaded; no setting changed"
