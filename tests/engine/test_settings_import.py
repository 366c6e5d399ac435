"""``tessdb-core settings import`` (issue 11, part 6): a tessdb-server installation's settings become
a settings file the real loader accepts, with the secrets apart and never shown.

Each reference installation in ``REF`` (tests/fixtures/reference-config) is
imported by the real command and loaded back by ``tessdb-core --settings OUT/settings.toml settings
show --json``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tessdb_core.cli import main
from tessdb_core.settings import REDACTED, SettingsError
from tessdb_core.settings_import import REDACTED_OUT, parse_env, translate

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "fixtures" / "reference-config"
MQTT_SECRET = "mqtt-pw #7 'quoted'"
SMTP_SECRET = "smtp-pw-5813"

ENV_4X = f"""# tessdb-server 4.0.9 /etc/tessdb/tessdb.env
VIRTUAL_ENV=/home/pi/repos/tessdb-server/.venv
PYTHONIOENCODING=utf-8
DATABASE_URL=/var/dbase/tess.db
MQTT_BROKER=tcp:broker.example.org:1884
MQTT_USERNAME="tessdb"
export MQTT_PASSWORD="{MQTT_SECRET}"   # the broker's password
MQTT_CLIENT_ID=""
"""

ALARMS_ENV = f"""SMTP_HOST=smtp.example.org
SMTP_PORT=587
SMTP_SENDER=tessdb@example.org
SMTP_RECEIVERS="ops@example.org, night@example.org"
SMTP_PASSWORD='{SMTP_SECRET}'
SMTP_CACERT=
SMTP_SECURE=1
WAIT_MINUTES=15
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    return subprocess.run([sys.executable, "-m", "tessdb_core.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def import_and_load(tmp_path: Path, *args: str) -> tuple[dict, subprocess.CompletedProcess, Path]:
    """Import into tmp_path/out, then load it through the real settings loader."""
    out = tmp_path / "out"
    made = run("settings", "import", *args, "--out", str(out), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    shown = run("--settings", str(out / "settings.toml"), "settings", "show", "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    for secret in (MQTT_SECRET, SMTP_SECRET):
        assert secret not in made.stdout + made.stderr + shown.stdout + shown.stderr
    return json.loads(shown.stdout), made, out


# -- the reference installations, through the real loader ---------------------------------------
def test_4x_installation_loads(tmp_path):
    env = tmp_path / "tessdb.env"
    env.write_text(ENV_4X)
    s, made, out = import_and_load(tmp_path, "--from", str(REF / "config-4.0.9.toml"), "--env", str(env))
    mqtt = s["mqtt"]
    assert (mqtt["host"], mqtt["port"], mqtt["username"]) == ("broker.example.org", 1884, "tessdb")
    assert mqtt["client_id"] == "tessdb-core" and mqtt["password"] == REDACTED
    assert (mqtt["keepalive"], mqtt["tess_topic_register"], mqtt["tess_topics"]) == (
        60, "STARS4ALL/register", ["STARS4ALL/+/reading"])
    assert s["dbase"]["url"] == "/var/dbase/tess.db"
    assert (s["dbase"]["buffer_size"], s["dbase"]["auth_filter"]) == (1, False)
    assert (s["filter"]["depth"], s["filter"]["enable"]["daylight"]) == (7, True)
    assert s["logs"]["namespaces"] == {"server": "info", "mqtt": "info", "paho": "info", "filter": "info",
                                       "dbase": "info"}
    # the password only in .secrets.toml, mode 0600
    secrets = out / ".secrets.toml"
    assert tomllib.loads(secrets.read_text()) == {"mqtt": {"password": MQTT_SECRET}}
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert MQTT_SECRET not in (out / "settings.toml").read_text()
    # what was not mapped is said on stderr and in the file
    text = (out / "settings.toml").read_text()
    for key in ("dbase.zp_threshold", "dbase.secs_resolution", "dbase.register_log_level", "MQTT_CLIENT_ID"):
        assert f"tessdb-core: settings import: {key}: " in made.stderr and f"#   {key}: " in text
    assert "persistent session" in made.stderr
    assert "VIRTUAL_ENV" not in made.stderr


def test_5x_installation_loads(tmp_path):
    s, made, out = import_and_load(tmp_path, "--from", str(REF / "config-5.1.0.toml"),
                                   "--env", str(REF / "tessdb-5.1.0.env"),
                                   "--alarms-env", str(REF / "tdbalarm-5.1.0.env"))
    assert (s["mqtt"]["host"], s["mqtt"]["port"], s["mqtt"]["client_id"]) == ("test.mosquitto.org", 1883,
                                                                            "tessdb-core")
    assert s["dbase"]["url"] == "tess.db" and s["dbase"]["buffer_size"] == 50
    assert (s["http"]["host"], s["http"]["port"]) == ("localhost", 8080)
    assert s["stats"]["interval"] == 3600
    assert s["filter"]["divisor"] == {"stars1267": 6, "stars1277": 6, "stars1421": 6, "stars1": 2}
    assert s["filter"]["disabled_for"] == [] and s["filter"]["enable"] == {"daylight": True}
    assert s["logs"]["photometers"] == {"stars1": "info", "stars1267": "info"}
    assert s["logs"]["namespaces"]["stats"] == "info" and s["logs"]["namespaces"]["http"] == "info"
    a = s["alarms"]
    assert (a["smtp_host"], a["smtp_port"], a["smtp_starttls"], a["stalled_after"]) == ("localhost", 25, False, "20m")
    assert (a["receivers"], a["sender"], a["smtp_user"], a["ca_file"]) == ([], "", "", "")
    for key in ("filter.flush_threshold", "dbase.queue_size", "dbase.zp_threshold", "DATABASE_URL",
                "SMTP_RECEIVERS", "WAIT_MINUTES", "ALARMS_DATABASE_URL"):
        assert f"settings import: {key}: " in made.stderr
    assert "(no password or token was set)" in (out / ".secrets.toml").read_text()


def test_alarm_mailing_loads_with_its_password_apart(tmp_path):
    alarms = tmp_path / "tdbalarm.env"
    alarms.write_text(ALARMS_ENV)
    s, _, out = import_and_load(tmp_path, "--from", str(REF / "config-5.1.0.toml"),
                                "--env", str(REF / "tessdb-5.1.0.env"), "--alarms-env", str(alarms))
    a = s["alarms"]
    assert a["receivers"] == ["ops@example.org", "night@example.org"]
    assert (a["smtp_host"], a["smtp_port"], a["smtp_starttls"]) == ("smtp.example.org", 587, True)
    assert a["sender"] == a["smtp_user"] == "tessdb@example.org"  # tess-db-alarms logged in as the sender
    assert (a["smtp_password"], a["stalled_after"]) == (REDACTED, "15m")
    assert tomllib.loads((out / ".secrets.toml").read_text()) == {"alarms": {"smtp_password": SMTP_SECRET}}


def test_alarm_keys_are_the_plugins():
    """Every [alarms] key written is one that plugins/tessdb_alarms declares (its exact names)."""
    config = pytest.importorskip("tessdb_alarms.config")
    imported = translate({}, {}, parse_env(ALARMS_ENV))
    written = set(imported.settings["alarms"]) | set(imported.secrets["alarms"])
    assert written <= set(config.DEFAULTS) and "smtp_password" in written


def test_printing_shows_no_secret_and_stays_a_settings_file(tmp_path):
    env = tmp_path / "tessdb.env"
    env.write_text(ENV_4X)
    printed = run("settings", "import", "--from", str(REF / "config-4.0.9.toml"), "--env", str(env), cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert MQTT_SECRET not in printed.stdout + printed.stderr
    assert f'# password = "{REDACTED_OUT}"' in printed.stdout
    assert tomllib.loads(printed.stdout)["mqtt"]["host"] == "broker.example.org"  # `> settings.toml` works
    assert not (tmp_path / "settings.toml").exists()


# -- the pure mapping -----------------------------------------------------------------------------
def test_env_files_are_parsed_like_systemd_and_decouple():
    env = parse_env('# c\n\nexport A=1\nB="two # not a comment" # a comment\nC=\'lit\\n$x\'\n'
                    'D=plain value # comment\nE="esc \\" \\\\ q"\nF=\nG=a#b\n')
    assert env == {"A": "1", "B": "two # not a comment", "C": "lit\\n$x", "D": "plain value",
                   "E": 'esc " \\ q', "F": "", "G": "a#b"}


@pytest.mark.parametrize("url,expected", [
    ("sqlite+aiosqlite:////var/dbase/tess.db", "/var/dbase/tess.db"),
    ("sqlite:///var/dbase/tess.db", "var/dbase/tess.db"),
    ("/var/dbase/tess.db", "/var/dbase/tess.db"),
    ("postgresql+asyncpg://tess@db.example/tessdb", "postgresql://tess@db.example/tessdb"),
])
def test_database_urls(url, expected):
    assert translate({}, {"DATABASE_URL": url}).settings["dbase"]["url"] == expected


def test_a_database_url_with_a_password_goes_to_the_secrets():
    out = translate({}, {"DATABASE_URL": "postgresql+asyncpg://tess:pg-secret@db/tessdb"})
    assert "dbase" not in out.settings and out.secrets == {"dbase": {"url": "postgresql://tess:pg-secret@db/tessdb"}}
    assert all("pg-secret" not in str(n) for n in out.notes)


@pytest.mark.parametrize("endpoint,host,port,tls", [
    ("tcp:test.mosquitto.org:1883", "test.mosquitto.org", 1883, False),
    ("tcp:host=b.example:port=1884:timeout=30", "b.example", 1884, False),
    ("ssl:b.example:8883", "b.example", 8883, True),
])
def test_4x_broker_endpoints(endpoint, host, port, tls):
    mqtt = translate({}, {"MQTT_BROKER": endpoint}).settings["mqtt"]
    assert (mqtt["host"], mqtt["port"], mqtt.get("tls", {}).get("enabled", False)) == (host, port, tls)


def test_websockets_is_said_unsupported_and_its_port_left_out():
    out = translate({}, {"MQTT_TRANSPORT": "websockets", "MQTT_HOST": "b.example", "MQTT_PORT": "9001"})
    assert out.settings["mqtt"] == {"host": "b.example"}
    assert any(n.key == "MQTT_TRANSPORT" and "websockets is not supported" in n.reason for n in out.notes)


def test_a_fixed_client_id_is_kept():
    assert translate({}, {"MQTT_CLIENT_ID": "tessdb-main"}).settings["mqtt"]["client_id"] == "tessdb-main"


def test_4x_log_selected_and_string_lists():
    out = translate({"tessdb": {"log_selected": "stars1, stars2"}, "mqtt": {"tess_blacklist": "stars9,stars10"}}, {})
    assert out.settings["mqtt"]["tess_blacklist"] == ["stars9", "stars10"]
    assert [n.key for n in out.notes] == ["tessdb.log_selected"]


# -- bad input: one line naming the file and the key, exit 2, no secret -----------------------------
def test_bad_inputs_are_one_line(tmp_path):
    env = tmp_path / "tessdb.env"
    env.write_text(ENV_4X)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[mqtt]\nkeepalive = 60\n[broker]\nhost = 'x'\n")
    badvalue = tmp_path / "badvalue.toml"
    badvalue.write_text("[mqtt]\nkeepalive = 'sixty'\n")
    badenv = tmp_path / "bad.env"
    badenv.write_text(f'MQTT_HOST=x\nMQTT_PASSWORD="{MQTT_SECRET}\n')
    cases = [
        (["--from", str(tmp_path / "missing.toml")], ["missing.toml", "cannot read"]),
        (["--from", str(env)], ["tessdb.env", "not a TOML file"]),  # the env file (with a password) given as --from
        (["--from", str(unknown)], ["unknown.toml", "unknown section [broker]"]),
        (["--from", str(badvalue)], ["badvalue.toml", "mqtt.keepalive = 'sixty'", "an integer"]),
        (["--from", str(REF / "config-4.0.9.toml"), "--env", str(badenv)], ["bad.env", "line 2", "MQTT_PASSWORD"]),
        (["--from", str(REF / "config-4.0.9.toml"), "--env", str(tmp_path / "nope.env")], ["nope.env"]),
    ]
    for args, says in cases:
        out = run("settings", "import", *args, cwd=tmp_path)
        assert out.returncode == 2, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and out.stderr.startswith("tessdb-core: error: ")
        assert all(s in out.stderr for s in says), out.stderr
        assert MQTT_SECRET not in out.stdout + out.stderr and "Traceback" not in out.stderr


def test_translate_names_the_section():
    with pytest.raises(SettingsError, match=r"old.toml: unknown section \[broker\]"):
        translate({"broker": {}}, config_source="old.toml")


def test_out_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "etc"
    out.mkdir()
    (out / "settings.toml").write_text("# mine\n")
    args = ["settings", "import", "--from", str(REF / "config-4.0.9.toml"), "--out", str(out)]
    refused = run(*args, cwd=tmp_path)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert (out / "settings.toml").read_text() == "# mine\n" and not (out / ".secrets.toml").exists()
    assert run(*args, "--force", cwd=tmp_path).returncode == 0
    assert "[dbase]" in (out / "settings.toml").read_text()


def test_help(capsys):
    assert main(["settings", "import", "--help"]) == 0
    assert "--alarms-env" in capsys.readouterr().out
