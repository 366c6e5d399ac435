"""install.sh on the REAL root, as on a fresh Debian box, without touching this machine.

In private namespaces (`unshare --mount --net --pid`), /etc, /opt and /var (and the folders above
this Python that others cannot enter) are overlays whose changes land in a temp folder, /run is a
tmpfs and the loopback is the namespace's own.  There install.sh runs without --root (useradd, the
ownerships, runuser for the database; only apt-get is skipped: --no-apt), twice; then
realroot_scenario.py starts mosquitto as Debian's unit does, with its unmodified main file plus
our snippet, and the collector as the installed unit says, and a photometer publishes through
them.  Afterwards the overlays' upper folders show exactly what install.sh changed.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .debian_broker import DEBIAN_MAIN

TESTS = Path(__file__).resolve().parents[1]

DRIVER = r"""
set -euo pipefail
T=$1 SRC=$2 WHEEL=$3 PY=$4 TESTS=$5
shift 5
for d in /etc /opt /var "$@"; do
    mkdir -p "$T/upper$d" "$T/work$d"
    mount -t overlay overlay -o "lowerdir=$d,upperdir=$T/upper$d,workdir=$T/work$d" "$d"
done
for d in "$@"; do chmod o+x "$d"; done
mount -t tmpfs tmpfs /run
ip link set lo up
args=(--no-apt --python "$PY" --system-site-packages --pip-args "--no-deps --no-index" --package "$WHEEL")
bash "$SRC/deploy/install.sh" "${args[@]}" >"$T/first.txt" 2>&1 || { cat "$T/first.txt"; exit 11; }
bash "$SRC/deploy/install.sh" "${args[@]}" >"$T/second.txt" 2>&1 || { cat "$T/second.txt"; exit 12; }
"$PY" "$TESTS/deploy/realroot_scenario.py" >"$T/scenario.json"
"""


def closed_ancestors(path: Path) -> list[str]:
    """Folders above ``path`` that others cannot enter (e.g. /root above a pyenv Python)."""
    return [str(p) for p in reversed(path.parents) if p != Path("/") and not p.stat().st_mode & stat.S_IXOTH]


def namespaces_work(tmp: Path) -> str | None:
    """Why the private namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "needs root (mount namespaces and overlays)"
    for tool in ("unshare", "ip", "setpriv", "runuser", "useradd", "mosquitto_passwd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    for d in ("lower", "upper", "work", "mnt"):
        (tmp / d).mkdir()
    probe = subprocess.run(["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
                            "--propagation", "private", "sh", "-c",
                            f"mount -t overlay overlay -o lowerdir={tmp}/lower,upperdir={tmp}/upper,"
                            f"workdir={tmp}/work {tmp}/mnt && ip link set lo up"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"no private mount/network namespaces with overlays: {probe.stderr}"


@pytest.fixture(scope="module")
def real_root(source_and_wheel, tmp_path_factory):
    if not DEBIAN_MAIN.exists():
        pytest.skip(f"{DEBIAN_MAIN} is absent: Debian's mosquitto is not installed")
    why = namespaces_work(tmp_path_factory.mktemp("probe"))
    if why:
        pytest.skip(why)
    src, wheel = source_and_wheel
    t = tmp_path_factory.mktemp("realroot")
    # the Python and, in a virtual environment, that venv (whose packages install.sh's venv sees)
    extra = list(dict.fromkeys(closed_ancestors(Path(sys.base_prefix)) + closed_ancestors(Path(sys.prefix))))
    before = this_machine()
    run = subprocess.run(["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
                          "--propagation", "private", "bash", "-c", DRIVER, "driver", str(t), str(src), str(wheel),
                          sys.executable, str(TESTS), *extra], capture_output=True, text=True, timeout=600)
    after = this_machine()
    assert run.returncode == 0, run.stdout + run.stderr
    return t, json.loads((t / "scenario.json").read_text()), before, after


def this_machine() -> dict:
    """What install.sh would change on this machine, were it not in the namespace."""
    def user() -> bool:
        try:
            return pwd.getpwnam("tessdb") is not None
        except KeyError:
            return False

    paths = ["/etc/tessdb", "/opt/tessdb-core", "/var/dbase", "/var/log/tessdb", "/var/backups/tessdb",
             "/etc/mosquitto/conf.d/tessdb.conf", "/etc/mosquitto/passwd", "/etc/systemd/system/tessdb-core.service"]
    return {"user": user(), "passwd": Path("/etc/passwd").read_bytes(),
            **{p: (Path(p).exists() and Path(p).stat().st_mtime_ns) for p in paths}}


def upper(t: Path, path: str) -> Path:
    return t / "upper" / path.lstrip("/")


def passwd_entry(t: Path, name: str) -> list[str] | None:
    for line in upper(t, "/etc/passwd").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split(":")
    return None


def test_install_creates_the_system_user_and_owns_its_folders(real_root):
    t = real_root[0]
    entry = passwd_entry(t, "tessdb")
    assert entry and entry[5] == "/var/dbase" and entry[6] == "/usr/sbin/nologin", entry
    uid = int(entry[2])
    assert uid < 1000  # a system user
    for folder in ("/var/dbase", "/var/log/tessdb", "/var/backups/tessdb"):
        st = upper(t, folder).stat()
        assert st.st_uid == uid and stat.S_IMODE(st.st_mode) == 0o750, folder
    db = upper(t, "/var/dbase/tess.db").stat()
    assert db.st_uid == uid and stat.S_IMODE(db.st_mode) == 0o640
    assert not upper(t, "/home/tessdb").exists()


def test_install_leaves_the_broker_password_file_to_mosquittos_group(real_root):
    t = real_root[0]
    st = upper(t, "/etc/mosquitto/passwd").stat()
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_uid == 0 and st.st_gid == grp.getgrnam("mosquitto").gr_gid
    assert stat.S_IMODE(upper(t, "/etc/tessdb/tessdb.env").stat().st_mode) == 0o600
    assert upper(t, "/etc/tessdb/tessdb.env").stat().st_uid == 0


def test_the_second_run_creates_nothing_twice(real_root):
    t = real_root[0]
    first, second = (t / "first.txt").read_text(), (t / "second.txt").read_text()
    assert "Wrote /etc/tessdb/tessdb.env" in first and "Added the broker user tessdb" in first
    assert "Wrote" not in second and "Added" not in second
    assert sum(1 for line in upper(t, "/etc/passwd").read_text().splitlines() if line.startswith("tessdb:")) == 1
    assert "systemctl enable --now tessdb-core" in second  # what to do next, said every time


def test_debians_mosquitto_and_the_installed_unit_carry_readings_into_the_database(real_root):
    result = real_root[1]
    assert result.get("mosquitto"), result.get("mosquitto_said")
    assert result.get("ready") and result.get("enable") == 0 and result.get("watchdog"), result
    assert result.get("exit") == 0 and result.get("stored") == 10, result


def test_nothing_outside_the_namespace_changed(real_root):
    t, _, before, after = real_root
    assert before == after
