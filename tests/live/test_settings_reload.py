"""A reload tells the truth: each changed key is named, in the reply and in the log, as applied or
needing a restart (from the settings schema), never with a secret's value; a reloadable key takes
effect at the first reload (``[logs] level``)."""

from __future__ import annotations

import json
import signal
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


#: a new value for every key the schema says a reload applies: a key declared reloadable must be
#: given one here, so that each is reloaded once for real
RELOADED = {
    "mqtt.username": "tess", "mqtt.password": "pw-2", "mqtt.tess_topic_register": "STARS4ALL/register2",
    "mqtt.tess_topics": ["STARS4ALL/+/reading", "OTHER/+/reading"], "mqtt.tess_whitelist": ["stars1"],
    "mqtt.tess_blacklist": ["stars9"], "mqtt.silent_after": 301, "mqtt.max_payload": 65537,
    "dbase.auth_filter": True, "dbase.buffer_size": 1001, "inbox.flush_interval": 0.2, "quarantine.max_mb": 201,
    "quarantine.keep_days": 91, "http.token": "token-rotated-77", "filter.disabled_for": ["stars1"],
    "filter.max_photometers": 20001, "filter.enable.daylight": False, "filter.divisor": {"stars1": 2},
    "stats.interval": 3601, "logs.level": "debug", "logs.namespaces": {"mqtt": "debug"},
    "logs.photometers": {"stars1": "debug"}, "alarms.smtp_password": "smtp-2",
    "rules.name_pattern": "stars[0-9]{1,8}", "rules.max_clock_ahead": "20m",
    **{f"rules.{k}": v for k, v in {
        "zp_min": 11.0, "zp_max": 31.0, "offset_min": 0.1, "offset_max": 1.1, "freq_min": 0.5, "freq_max": 1e7 + 1,
        "mag_min": -9.0, "mag_max": 51.0, "temperature_min": -273.0, "temperature_max": 401.0, "wdbm_min": -149,
        "wdbm_max": 101, "az_min": -179.0, "az_max": 361.0, "alt_min": -89.0, "alt_max": 89.0, "lat_min": -89.0,
        "lat_max": 89.0, "long_min": -179.0, "long_max": 179.0, "height_min": -999.0, "height_max": 10001.0,
        "seq_min": 1, "seq_max": 4294967296, "firmware_max_length": 256, "model_max_length": 9,
        "filter_max_length": 65}.items()},
}


def _toml_value(v) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(v)


def _toml(tree: dict) -> str:
    out = []
    for section, keys in tree.items():
        out += [f"[{section}]", *(f"{k} = {_toml_value(v)}" for k, v in keys.items())]
    return "\n".join(out) + "\n"


def test_every_reloadable_key_is_applied_by_one_reload(service):
    from tessdb_core.schema import is_secret
    from tessdb_core.settings_reference import shipped_schema

    reloadable = {d.key for d in shipped_schema() if d.setting.reloadable}
    assert set(RELOADED) == reloadable, "give each reloadable key a new value in RELOADED"
    site, secrets = service.cwd / "site.toml", service.cwd / ".secrets.toml"
    site.write_text("")
    service.env.pop("TESSDB_INBOX__FLUSH_INTERVAL")  # (a variable would win over the file)
    service.start("--settings", str(site))
    plain: dict = {}
    secret: dict = {}
    for key, value in RELOADED.items():
        section, _, name = key.partition(".")
        (secret if is_secret(key) else plain).setdefault(section, {})[name] = value
    site.write_text(_toml(plain))
    secrets.write_text(_toml(secret))
    service.signal(signal.SIGHUP)  # the token changes too: a signal needs none
    expected = set()
    for key, value in RELOADED.items():  # an open table's keys are named one by one
        expected |= {f"{key}.{k}" for k in value} if isinstance(value, dict) else {key}
    wait_for(lambda: all(f"setting {k} changed" in service.log() for k in expected), 30, "every key in the log")
    log = service.log()
    for key in expected:
        line = next(line for line in log.splitlines() if f"setting {key} changed" in line)
        assert line.endswith(": applied"), line
    assert "needs a restart" not in log and "Reload refused" not in log
    assert "pw-2" not in log and "token-rotated-77" not in log and "smtp-2" not in log
    assert service.proc.poll() is None and service.health_code() == 401  # the new token is required
    req = urllib.request.Request(f"http://{HOST}:{service.http_port}/health",
                                 headers={"Authorization": "Bearer token-rotated-77"})
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200
