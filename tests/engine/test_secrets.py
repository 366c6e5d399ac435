"""Secrets are strings, used verbatim, and never shown (issue 10, part 4).

A secret is any setting :func:`tessdb_core.settings.is_secret` names: ``mqtt.password``,
``http.token`` and any plugin key called ``password``, ``token``, ``secret`` or ``*_token``...
From the environment its value is taken as it is (no TOML: ``84736251``, ``true`` or
``"quoted-pw"`` stay those exact strings), and no error, log line, ``settings show`` or
traceback shows it.  Every test runs the real command where it can and greps all it produced.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dynaconf import Validator

from polling import wait_for
from broker import Broker, free_port, mosquitto_path
from tessdb_core import settings as s
from tessdb_core.settings import REDACTED, SettingsError

#: the values of the issue (refused and printed, or stripped of their quotes, before), and a few more
SECRETS = ["84736251", "true", "2026-01-01", "[1,2]", '"quoted-pw"', "True", "'single'", "@format {env[HOME]}",
           "@int 42", "{a = 1}", " spaced out "]
#: the same through the real command (each costs three runs of it)
CLI_SECRETS = ["84736251", "true", "2026-01-01", "[1,2]", '"quoted-pw"', "@format {env[HOME]}"]
REFERENCE = "reference-secret-value"

TOY_PLUGIN = '''
from dynaconf import Validator
from tessdb_core import hookimpl
from tessdb_core.settings import Setting, SettingsSection


@hookimpl
def tessdb_settings_schema():
    return [SettingsSection("toyplug", "A toy plugin.", (
        Setting("level", 1, "A level.", "an integer 1..9", lambda v: isinstance(v, int) and 1 <= v <= 9),
        Setting("api_token", "", "A token.", "empty or at least 12 characters", lambda v: v == "" or len(v) >= 12,
                secret=True),
        Setting("names", {}, "A table.", "a table", lambda v: True),
    ), validators=(Validator("toyplug.api_token", len_max=40),))]  # a plain dynaconf validator: its message shows values
'''


# -- helpers ----------------------------------------------------------------------------------
def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tessdb_core.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def toy_plugin(folder: Path) -> str:
    """An installed-looking plugin (entry point in a dist-info) the real command finds on PYTHONPATH."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "toyplug_secrets.py").write_text(TOY_PLUGIN)
    info = folder / "toyplug_secrets-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplug-secrets\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[tessdb]\ntoyplug = toyplug_secrets\n")
    return str(folder)


def everything(*outs: subprocess.CompletedProcess, logs: Path | None = None) -> str:
    """All a set of commands produced: their stdout and stderr, and the log file."""
    text = "".join(o.stdout + o.stderr for o in outs)
    if logs is not None and logs.exists():
        text += logs.read_text(errors="replace")
    return text


# -- unit: the loaded snapshot holds the exact string -----------------------------------------
@pytest.mark.parametrize("value", SECRETS)
def test_a_secret_from_the_environment_is_the_exact_string(value):
    st = s.load(environ={"TESSDB_MQTT__PASSWORD": value, "TESSDB_HTTP__TOKEN": value})
    assert st.mqtt.password == value and st.http.token == value
    shown = st.redacted()
    assert shown["mqtt"]["password"] == REDACTED and shown["http"]["token"] == REDACTED
    # nothing printable about the snapshot depends on the secret: it is the same with another one
    ref = s.load(environ={"TESSDB_MQTT__PASSWORD": REFERENCE, "TESSDB_HTTP__TOKEN": REFERENCE})
    assert repr(st) == repr(ref) and repr(st.mqtt) == repr(ref.mqtt) and shown == ref.redacted()


def test_other_values_are_still_read_as_toml():
    st = s.load(environ={"TESSDB_MQTT__PORT": "1999", "TESSDB_MQTT__TLS__ENABLED": "True",
                         "TESSDB_FILTER__DISABLED_FOR": '["stars1"]', "TESSDB_MQTT__USERNAME": '"tess"'})
    assert st.mqtt.port == 1999 and st.mqtt.tls.enabled is True and st.filter.disabled_for == ("stars1",)
    assert st.mqtt.username == "tess"


TOY = s.SettingsSection("toyplug", "A toy plugin.", (
    s.Setting("level", 1, "A level.", "an integer", s.is_int()),
    s.Setting("api_token", "", "A token.", "a string", s.is_str, secret=True),
    s.Setting("names", {}, "A table.", "a table", lambda v: True),
))


def test_a_plugin_secret_is_a_secret_too():
    st = s.load(sections=[TOY], environ={"TESSDB_TOYPLUG__API_TOKEN": "84736251",
                                                   "TESSDB_TOYPLUG__LEVEL": "3"})
    assert st.toyplug.api_token == "84736251" and st.toyplug.level == 3
    assert st.redacted()["toyplug"] == {"level": 3, "api_token": REDACTED, "names": {}}


@pytest.mark.parametrize("key, secret", [
    ("mqtt.password", True), ("http.token", True), ("x.secret", True), ("mqtt.tls.key_password", True),
    ("toyplug.api_token", True), ("db.admin_password", True), ("x.client_secret", True),
    ("mqtt.username", False), ("mqtt.port", False), ("x.tokens", False), ("x.passwords_file", False),
])
def test_one_predicate_says_what_is_secret(key, secret):
    assert s.is_secret(key) is secret


def test_secrets_from_files_are_verbatim_too(tmp_path):
    cfg = tmp_path / "site.toml"
    cfg.write_text("[mqtt]\nusername = 'tess'\n")
    (tmp_path / ".secrets.toml").write_text("[mqtt]\npassword = '@format {env[HOME]}'\n[http]\ntoken = '@int 7'\n")
    st = s.load(cfg, environ={})
    assert st.mqtt.password == "@format {env[HOME]}" and st.http.token == "@int 7"


def test_a_refused_secret_is_named_without_its_value(tmp_path):
    cfg = tmp_path / "site.toml"
    cfg.write_text("")
    (tmp_path / ".secrets.toml").write_text("[mqtt]\npassword = 84736251\n")
    with pytest.raises(SettingsError) as err:
        s.load(cfg, environ={})
    assert str(err.value) == "setting mqtt.password is not valid: expected a string"


def test_validator_messages_never_show_a_secret():
    section = s.SettingsSection("toyplug", "A toy plugin.", (
        s.Setting("api_token", "", "A token.", "at least 12 characters", lambda v: len(v) >= 12, secret=True),
        s.Setting("level", 1, "A level.", "an integer", s.is_int()),
    ), validators=(Validator("toyplug.api_token", len_max=5),))
    with pytest.raises(SettingsError) as err:
        s.load(sections=[section],
               environ={"TESSDB_TOYPLUG__API_TOKEN": "84736251"})
    message = str(err.value)
    assert "setting toyplug.api_token is not valid: expected at least 12 characters" in message
    assert "setting toyplug.api_token is not valid (its value is a secret and is not shown)" in message
    assert "84736251" not in message
    # a secret inside a table that a (non-secret) validator shows whole is blanked out as well
    with pytest.raises(SettingsError) as err:
        s.load(environ={"TESSDB_LOGS__PHOTOMETERS__TOKEN": "hunter2-in-a-table"})
    assert "setting logs.photometers = " in str(err.value) and "hunter2" not in str(err.value)


def test_a_url_password_is_hidden_by_settings_show():
    st = s.load(environ={"TESSDB_DBASE__URL": '"postgresql://tess:pg-hunter2@db.example/tessdb"'})
    assert st.dbase.url == "postgresql://tess:pg-hunter2@db.example/tessdb"
    assert st.redacted()["dbase"]["url"] == f"postgresql://tess:{REDACTED}@db.example/tessdb"


# -- the real command -------------------------------------------------------------------------
def _produce(secret: str, folder: Path) -> tuple[list[subprocess.CompletedProcess], Path]:
    folder.mkdir()
    env = clean_env(TESSDB_MQTT__PASSWORD=secret, TESSDB_HTTP__TOKEN=secret, TESSDB_LOGS__FILE="tessdb.log",
                    TESSDB_LOGS__LEVEL="trace")  # a relative log path: the outputs of two runs compare
    outs = [run("settings", "show", env=env, cwd=folder),
            run("--debug", "settings", "show", "--json", env=env, cwd=folder),
            run("--debug", "init", "--db", "x.db", env=env, cwd=folder)]
    assert [o.returncode for o in outs] == [0, 0, 0], [o.stderr for o in outs]
    return outs, folder / "tessdb.log"


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    return _produce(REFERENCE, tmp_path_factory.mktemp("reference") / "run")


@pytest.mark.parametrize("value", CLI_SECRETS)
def test_settings_show_and_the_log_never_contain_a_secret(tmp_path, value, reference_run):
    outs, log = _produce(value, tmp_path / "run")
    ref_outs, ref_log = reference_run
    shown = json.loads(outs[1].stdout)
    assert shown["mqtt"]["password"] == REDACTED and shown["http"]["token"] == REDACTED
    assert 'password = "********"' in outs[0].stdout and 'token = "********"' in outs[0].stdout
    # the output does not depend on the secret at all (this covers "true", which the output holds anyway)
    assert [o.stdout for o in outs[:2]] == [o.stdout for o in ref_outs[:2]]
    baseline = everything(*ref_outs, logs=ref_log)
    produced = everything(*outs, logs=log)
    assert log.exists() and "Initialised" in log.read_text()
    if value.strip() not in baseline:
        assert value.strip() not in produced


def test_a_refused_secret_is_not_printed_even_with_debug(tmp_path):
    (tmp_path / "site.toml").write_text("")
    (tmp_path / ".secrets.toml").write_text("[mqtt]\npassword = 84736251\n[http]\ntoken = 2026-01-01\n")
    for debug in ([], ["--debug"]):
        out = run(*debug, "--settings", "site.toml", "settings", "show", env=clean_env(), cwd=tmp_path)
        assert out.returncode == (1 if debug else 2)
        assert "setting mqtt.password is not valid: expected a string" in out.stderr
        assert "setting http.token is not valid: expected a string" in out.stderr
        assert "84736251" not in everything(out) and "2026-01-01" not in everything(out)
    assert len(out.stderr.strip().splitlines()) > 1 and "Traceback" in out.stderr  # --debug did show one


def test_a_plugin_secret_refused_by_its_validators_is_not_printed(tmp_path):
    env = clean_env(PYTHONPATH=toy_plugin(tmp_path / "plug"), TESSDB_TOYPLUG__API_TOKEN="84736251",
                    TESSDB_LOGS__FILE=str(tmp_path / "tessdb.log"))
    for debug in ([], ["--debug"]):
        out = run(*debug, "settings", "show", env=env, cwd=tmp_path)
        assert out.returncode == (1 if debug else 2), out.stderr
        assert "setting toyplug.api_token is not valid: expected empty or at least 12 characters" in out.stderr
        assert "84736251" not in everything(out, logs=tmp_path / "tessdb.log")
    long = "x" * 41  # refused by the plain dynaconf validator, whose own message would show it
    out = run("settings", "show", env=dict(env, TESSDB_TOYPLUG__API_TOKEN=long), cwd=tmp_path)
    assert out.returncode == 2 and "setting toyplug.api_token is not valid" in out.stderr and long not in out.stderr


def test_a_typo_in_a_variable_exits_2_naming_it(tmp_path):
    for var, message in [("TESSDB_MQTT__PROT", "TESSDB_MQTT__PROT: unknown setting mqtt.prot"),
                         ("TESSDB_MQTT__TLS__ENABLEDD", "TESSDB_MQTT__TLS__ENABLEDD: unknown setting mqtt.tls.enabledd"),
                         ("TESSDB_HTTP_TOKEN", "TESSDB_HTTP_TOKEN: not a setting; did you mean TESSDB_HTTP__TOKEN?")]:
        out = run("settings", "show", env=clean_env(**{var: "1"}), cwd=tmp_path)
        assert out.returncode == 2 and out.stdout == ""
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tessdb-core: error: environment variable ")
        assert message in lines[0]


def test_plugin_keys_and_non_setting_variables_are_accepted(tmp_path):
    settings_file = tmp_path / "site.toml"
    settings_file.write_text("[mqtt]\nhost = 'broker.local'\n")
    env = clean_env(PYTHONPATH=toy_plugin(tmp_path / "plug"), TESSDB_TOYPLUG__LEVEL="7",
                    TESSDB_TOYPLUG__API_TOKEN='"quoted-pw-long"', TESSDB_TOYPLUG__NAMES__STARS1="2",
                    TESSDB_ENV="production", TESSDB_SETTINGS=str(settings_file), TESSDB_PG_BIN="/usr/bin")
    out = run("settings", "show", "--json", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["toyplug"] == {"level": 7, "api_token": REDACTED, "names": {"stars1": 2}}
    assert shown["mqtt"]["host"] == "broker.local" and shown["dbase"]["url"] == "/var/dbase/tess.db"
    assert "quoted-pw-long" not in everything(out)
    typo = run("settings", "show", env=dict(env, TESSDB_TOYPLUG__LEVELL="7"), cwd=tmp_path)
    assert typo.returncode == 2 and "TESSDB_TOYPLUG__LEVELL: unknown setting toyplug.levell" in typo.stderr


# -- the live service: the broker takes the exact password, the admin API the exact token -----
def _wait_for_line(log: Path, text: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    def seen() -> bool:
        assert proc.poll() is None, f"the service exited before {text!r} was in the log"
        return log.exists() and text in log.read_text()

    wait_for(seen, timeout, f"{text!r} in the log")


@pytest.mark.live
@pytest.mark.skipif(mosquitto_path() is None, reason="mosquitto is not installed")
def test_the_service_uses_secrets_verbatim_and_never_logs_them(tmp_path):
    password, token = '"quoted-pw"', "84736251"  # lost its quotes / refused as a number, before
    broker = Broker(tmp_path / "broker", users={"tessdb": password}).start()
    cwd = tmp_path / "svc"
    cwd.mkdir()
    log = cwd / "service.log"
    http_port = free_port()
    env = clean_env(TESSDB_MQTT__HOST="127.0.0.1", TESSDB_MQTT__PORT=str(broker.port),
                    TESSDB_MQTT__CLIENT_ID=f"tessdb-secrets-{broker.port}", TESSDB_MQTT__USERNAME="tessdb",
                    TESSDB_MQTT__PASSWORD=password, TESSDB_HTTP__TOKEN=token, TESSDB_HTTP__PORT=str(http_port),
                    TESSDB_LOGS__FILE=str(log), TESSDB_LOGS__LEVEL="debug", TESSDB_STATS__INTERVAL="1")
    outs = [run("init", env=env, cwd=cwd)]
    stderr = cwd / "stderr.txt"
    with open(stderr, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", "--debug", "run"], cwd=cwd, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        # connected and subscribed: the broker took the password with its quotes
        _wait_for_line(log, "subscriptions confirmed", proc)
        stats = run("stats", "--json", env=env, cwd=cwd)  # the command reads the token as the service does
        assert stats.returncode == 0, stats.stderr
        wrong = run("stats", env=dict(env, TESSDB_HTTP__TOKEN="8473625"), cwd=cwd)
        assert wrong.returncode != 0
        outs += [stats, wrong, run("--debug", "settings", "show", env=env, cwd=cwd)]
        time.sleep(1.5)  # a periodic statistics line or two
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        broker.stop()
    assert proc.returncode == 0, stderr.read_text()[-2000:]
    produced = everything(*outs, logs=log) + stderr.read_text() + broker.log_text()
    assert "subscriptions confirmed" in produced
    for secret in (password, token, "quoted-pw"):
        assert secret not in produced
