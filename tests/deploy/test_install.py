"""deploy/install.sh, run for real into a temporary root (`--root DIR`), then what it put there.

Offline: the package is built once into a wheel with this Python, and the staged venv sees this
Python's packages for the dependencies (`--system-site-packages --pip-args "--no-deps --no-index"
--package WHEEL`).  What only a real box does (apt-get, the `tessdb` user, ownership,
systemctl) is skipped by --root; the rest is the same code path.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .debian_broker import DEBIAN_MAIN, SNIPPET, DebianBroker
from .units import DEPLOY

ROOT = DEPLOY.parent
REAL_FILES = [Path("/etc/tessdb"), Path("/etc/mosquitto/conf.d/tessdb.conf"),
              Path("/etc/systemd/system/tessdb-core.service"), Path("/opt/tessdb-core")]


def install(src: Path, wheel: Path, root: Path, *more: str) -> subprocess.CompletedProcess:
    before = [p.exists() for p in REAL_FILES]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    out = subprocess.run(["bash", str(src / "deploy" / "install.sh"), "--root", str(root), "--python", sys.executable,
                          "--system-site-packages", "--pip-args", "--no-deps --no-index", "--package", str(wheel),
                          *more], capture_output=True, text=True, env=env, timeout=300, cwd=root.parent)
    assert [p.exists() for p in REAL_FILES] == before, "install.sh --root touched the real system"
    return out


@pytest.fixture(scope="module")
def staged(source_and_wheel, tmp_path_factory):
    src, wheel = source_and_wheel
    root = tmp_path_factory.mktemp("root")
    out = install(src, wheel, root)
    assert out.returncode == 0, out.stdout + out.stderr
    return root, out


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def test_install_puts_every_file_in_place(staged):
    root, out = staged
    same = {"etc/tessdb/settings.toml": "settings.toml.example",
            "etc/mosquitto/conf.d/tessdb.conf": "mosquitto-tessdb.conf",
            "etc/systemd/system/tessdb-core.service": "tessdb-core.service",
            "etc/systemd/system/tessdb-backup.service": "tessdb-backup.service",
            "etc/systemd/system/tessdb-backup.timer": "tessdb-backup.timer"}
    for there, ours in same.items():
        assert filecmp.cmp(root / there, DEPLOY / ours, shallow=False), there
        assert mode(root / there) == 0o644, there
    assert filecmp.cmp(root / "opt/tessdb-core/README.md", ROOT / "README.md", shallow=False)
    # the folders the units may write (ReadWritePaths=, LogsDirectory=), closed to others
    for folder in ("var/dbase", "var/log/tessdb", "var/backups/tessdb"):
        assert (root / folder).is_dir() and mode(root / folder) == 0o750, folder
    assert "Staged under" in out.stdout


def test_install_writes_fresh_secrets_readable_by_root_only(staged):
    root, _ = staged
    path = root / "etc/tessdb/tessdb.env"
    assert mode(path) == 0o600
    env, example = env_file(path), env_file(DEPLOY / "tessdb.env.example")
    assert env.keys() == example.keys()
    for key in ("TESSDB_MQTT__PASSWORD", "TESSDB_HTTP__TOKEN"):
        assert re.fullmatch(r"[0-9a-f]{40}", env[key]) and env[key] != example[key], key
    assert env["TESSDB_MQTT__PASSWORD"] != env["TESSDB_HTTP__TOKEN"]
    assert {k: v for k, v in env.items() if k not in ("TESSDB_MQTT__PASSWORD", "TESSDB_HTTP__TOKEN")} == \
        {k: v for k, v in example.items() if k not in ("TESSDB_MQTT__PASSWORD", "TESSDB_HTTP__TOKEN")}


@pytest.mark.skipif(not DEBIAN_MAIN.exists(), reason=f"{DEBIAN_MAIN} is absent: Debian's mosquitto is not installed")
def test_the_generated_broker_user_logs_in_to_debians_mosquitto(staged):
    """The password install.sh put in /etc/mosquitto/passwd is the one it gave the collector."""
    from .test_mosquitto_debian import Client

    root, _ = staged
    passwd = root / "etc/mosquitto/passwd"
    assert mode(passwd) == 0o640 and passwd.read_text().startswith("tessdb:")
    env = env_file(root / "etc/tessdb/tessdb.env")
    broker = DebianBroker(snippet=(root / "etc/mosquitto/conf.d/tessdb.conf").read_text(), passwd_file=passwd)
    try:
        broker.start()
        user = env["TESSDB_MQTT__USERNAME"]
        Client(broker.port, env["TESSDB_MQTT__CLIENT_ID"], user=user,
               password=env["TESSDB_MQTT__PASSWORD"]).wait_connected().close()
        refused = Client(broker.port, "x", user=user, password="change-me")
        assert refused.answered.wait(10) and not refused.connected.is_set()
        refused.close()
    finally:
        broker.close()


def test_install_creates_the_database_and_a_working_venv(staged):
    root, _ = staged
    with sqlite3.connect(root / "var/dbase/tess.db") as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"tess_t", "tess_readings_t", "location_t", "date_t", "time_t"} <= tables
    assert mode(root / "var/dbase/tess.db") == 0o640  # created as the unit's UMask=0027 would
    venv = root / "opt/tessdb-core/venv"
    where = subprocess.run([str(venv / "bin/python"), "-c", "import tessdb_core; print(tessdb_core.__file__)"],
                           capture_output=True, text=True, check=True, cwd=root).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not this source tree
    cli = subprocess.run([str(venv / "bin/tessdb-core"), "--help"], capture_output=True, text=True, cwd=root)
    assert cli.returncode == 0 and "run" in cli.stdout


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_installed_units(staged, tmp_path):
    """With ExecStart= pointed into the staged venv: the installed command itself is checked."""
    root, _ = staged
    units = root / "etc/systemd/system"
    names = ["tessdb-core.service", "tessdb-backup.service", "tessdb-backup.timer"]
    for name in names:
        text = (units / name).read_text().replace("/opt/tessdb-core/venv", str(root / "opt/tessdb-core/venv"))
        (tmp_path / name).write_text(text)
    out = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) for n in names)], capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.returncode == 0 and not (out.stdout + out.stderr).strip(), out.stdout + out.stderr


def test_a_second_run_keeps_settings_secrets_broker_users_and_database(source_and_wheel, tmp_path):
    src, wheel = source_and_wheel
    root = tmp_path / "root"
    assert install(src, wheel, root).returncode == 0
    settings = root / "etc/tessdb/settings.toml"
    settings.write_text(settings.read_text().replace("interval = 3600", "interval = 600"))
    kept = {p: p.read_bytes() for p in (settings, root / "etc/tessdb/tessdb.env", root / "etc/mosquitto/passwd")}
    db = root / "var/dbase/tess.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE tess_t SET authorised = authorised")  # the file must stay this one
        before = (db.stat().st_ino, conn.execute("SELECT COUNT(*) FROM location_t").fetchone()[0])
    # a box installed with the old snippet: mosquitto refused to start ("Duplicate persistence_location")
    old = "persistence true\npersistence_location /var/lib/mosquitto/\nlistener 1883\n"
    (root / "etc/mosquitto/conf.d/tessdb.conf").write_text(old)
    out = install(src, wheel, root)
    assert out.returncode == 0, out.stdout + out.stderr
    assert {p: p.read_bytes() for p in kept} == kept
    with sqlite3.connect(db) as conn:
        assert (db.stat().st_ino, conn.execute("SELECT COUNT(*) FROM location_t").fetchone()[0]) == before
    assert (root / "etc/mosquitto/conf.d/tessdb.conf").read_text() == SNIPPET.read_text()
    assert (root / "etc/mosquitto/conf.d/tessdb.conf.old").read_text() == old
    assert "tessdb.conf.old" in out.stdout


def test_a_site_snippet_without_repeats_is_kept(source_and_wheel, tmp_path):
    src, wheel = source_and_wheel
    root = tmp_path / "root"
    conf = root / "etc/mosquitto/conf.d/tessdb.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text("max_queued_messages 0\nlistener 1883\n")  # the operator's own choice
    assert install(src, wheel, root).returncode == 0
    assert conf.read_text() == "max_queued_messages 0\nlistener 1883\n"
    assert not conf.with_name("tessdb.conf.old").exists()


def test_install_options():
    script = str(DEPLOY / "install.sh")
    helped = subprocess.run(["bash", script, "--help"], capture_output=True, text=True)
    assert helped.returncode == 0 and "--root DIR" in helped.stdout and "set -e" not in helped.stdout
    wrong = subprocess.run(["bash", script, "--bogus"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "unknown option --bogus" in wrong.stderr
