#!/usr/bin/env bash
# Install tessdb-core as a systemd service on Debian 12 / Ubuntu (as root, from the source tree):
#
#     bash deploy/install.sh [--root DIR] [--no-apt] [--python PATH] [--system-site-packages]
#                            [--pip-args "ARGS"] [--package SPEC]
#
#   --root DIR               stage every file under DIR instead of / (like DESTDIR): no apt-get,
#                            no system user, no ownership changes, no systemctl; the database is
#                            created under DIR. The venv's scripts name DIR in their first line,
#                            so a staged venv runs only where it was built.
#   --no-apt                 the packages (python3-venv, mosquitto) are already installed
#   --python PATH            the Python that builds the venv (default: /usr/bin/python3)
#   --system-site-packages   the venv also sees that Python's packages
#   --pip-args "ARGS"        more `pip install` options, e.g. "--no-index --find-links /srv/wheels"
#   --package SPEC           what pip installs (default: this source tree), e.g. a built wheel
#
# Safe to run again (an upgrade): the package is reinstalled into the venv and the units
# refreshed; the settings, the secrets, the broker files and the database are never overwritten.
set -euo pipefail

src="$(cd "$(dirname "$0")/.." && pwd)"
root=/
apt=1
python=/usr/bin/python3
venv_args=()
pip_args=()
package=
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="${2:?--root needs a folder}"; shift 2 ;;
        --root=*) root="${1#--root=}"; shift ;;
        --no-apt) apt=0; shift ;;
        --python) python="${2:?--python needs a path}"; shift 2 ;;
        --system-site-packages) venv_args+=(--system-site-packages); shift ;;
        --pip-args) read -r -a more <<<"${2:-}"; pip_args+=("${more[@]}"); shift 2 ;;
        --package) package="${2:?--package needs a pip requirement or file}"; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

staged=0
if [ "$root" != / ]; then
    staged=1
    apt=0
    mkdir -p "$root"
    root="$(cd "$root" && pwd)"
fi
R="${root%/}"   # "" for the real root: every path below is "$R/etc/...", "$R/var/..."

if [ "$staged" = 0 ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run it as root (or stage it with --root DIR)" >&2
    exit 1
fi

venv=$R/opt/tessdb-core/venv
etc=$R/etc/tessdb
units=$R/etc/systemd/system
settings=$etc/settings.toml
envfile=$etc/tessdb.env
conf_d=$R/etc/mosquitto/conf.d
passwd=$R/etc/mosquitto/passwd

# 1. packages and the system user
if [ "$apt" = 1 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3 python3-venv mosquitto >/dev/null
fi
if [ "$staged" = 0 ]; then
    id tessdb >/dev/null 2>&1 || useradd --system --home-dir /var/dbase --no-create-home \
        --shell /usr/sbin/nologin tessdb
fi

# owned by tessdb on the real root; by whoever stages it under --root
own() {  # own MODE OWNER FOLDER...
    local mode=$1 owner=$2; shift 2
    if [ "$staged" = 0 ]; then install -d -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$@"
    else install -d -m "$mode" "$@"; fi
}

# 2. folders: database + inbox, logs, backups (the unit lets the service write only these)
own 0750 tessdb:tessdb "$R/var/dbase" "$R/var/log/tessdb" "$R/var/backups/tessdb"
install -d -m 0755 "$etc" "$R/opt/tessdb-core" "$units" "$conf_d"
if [ "$staged" = 0 ]; then
    # files left by an earlier install (the reference ran as root) or by a command run as root:
    # the service runs as tessdb and must write them
    find /var/log/tessdb /var/dbase -maxdepth 1 -type f ! -user tessdb \
        \( -path '/var/log/tessdb/*' -o -name 'tess.db' -o -name 'tess.db-*' -o -name 'tessdb-inbox.db*' \) \
        -printf 'Now owned by tessdb: %p\n' -exec chown tessdb:tessdb {} +
fi

# 3. the program, in its own virtual environment
"$python" -m venv "${venv_args[@]}" "$venv"
if [ ${#venv_args[@]} -gt 0 ]; then
    # A venv made by another venv's Python sees the base interpreter's packages, not that venv's:
    # name that venv's site folders in a .pth, so --system-site-packages means "that Python's packages".
    "$python" - "$venv/bin/python" <<'PY'
import site, subprocess, sys
from pathlib import Path
if sys.prefix != sys.base_prefix:
    purelib = subprocess.run([sys.argv[1], "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "tessdb-python-site-packages.pth").write_text("\n".join(site.getsitepackages()) + "\n")
PY
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pip_args[@]}" "${package:-$src}"
install -m 0644 "$src/README.md" "$R/opt/tessdb-core/README.md"

# 4. settings and secrets (kept when present)
[ -f "$settings" ] || install -m 0644 "$src/deploy/settings.toml.example" "$settings"
if [ ! -f "$envfile" ]; then
    secret() { "$venv/bin/python" -c 'import secrets; print(secrets.token_hex(20))'; }
    mqtt_password=$(secret)
    token=$(secret)
    sed -e "s/^TESSDB_MQTT__PASSWORD=.*/TESSDB_MQTT__PASSWORD=$mqtt_password/" \
        -e "s/^TESSDB_HTTP__TOKEN=.*/TESSDB_HTTP__TOKEN=$token/" \
        "$src/deploy/tessdb.env.example" > "$envfile.new"
    chmod 0600 "$envfile.new"
    mv "$envfile.new" "$envfile"
    echo "Wrote $envfile (mode 0600) with a new broker password and admin token"
fi
env_value() { sed -n "s/^$1=//p" "$envfile" | tail -n 1; }

# 5. the broker: our conf.d snippet and the collector's broker user
if [ -f "$conf_d/tessdb.conf" ] && ! cmp -s "$conf_d/tessdb.conf" "$src/deploy/mosquitto-tessdb.conf" \
        && grep -Eq '^[[:space:]]*(persistence_location|pid_file|log_dest)[[:space:]]' "$conf_d/tessdb.conf"; then
    # an older snippet repeated Debian's persistence_location: mosquitto refused to start
    mv "$conf_d/tessdb.conf" "$conf_d/tessdb.conf.old"
    echo "Replaced $conf_d/tessdb.conf (it repeated a setting of mosquitto.conf); the old one is tessdb.conf.old"
fi
[ -f "$conf_d/tessdb.conf" ] || install -m 0644 "$src/deploy/mosquitto-tessdb.conf" "$conf_d/tessdb.conf"
mqtt_user=$(env_value TESSDB_MQTT__USERNAME)
mqtt_password=$(env_value TESSDB_MQTT__PASSWORD)
if [ -n "$mqtt_user" ] && ! { [ -f "$passwd" ] && grep -q "^$mqtt_user:" "$passwd"; }; then
    if ! command -v mosquitto_passwd >/dev/null; then
        echo "NOTE: mosquitto_passwd not found: create the broker user $mqtt_user in $passwd yourself"
    elif [ -z "$mqtt_password" ] || [ "$mqtt_password" = change-me ]; then
        echo "NOTE: set TESSDB_MQTT__PASSWORD in $envfile, then: mosquitto_passwd -b $passwd $mqtt_user PASSWORD"
    else
        [ -f "$passwd" ] || install -m 0640 /dev/null "$passwd"
        mosquitto_passwd -b "$passwd" "$mqtt_user" "$mqtt_password"
        echo "Added the broker user $mqtt_user to $passwd"
    fi
fi
if [ -f "$passwd" ] && [ "$staged" = 0 ] && getent group mosquitto >/dev/null; then
    # mosquitto 2.0 reads it after dropping root for its own user
    chgrp mosquitto "$passwd" && chmod 0640 "$passwd"
fi

# 6. the database (idempotent: an existing one is kept), as the unit runs the service: its
#    environment file, its working folder, its UMask
if [ "$staged" = 0 ]; then
    # shellcheck source=/dev/null
    ( set -a; . "$envfile"; set +a; umask 0027; cd /var/dbase
      runuser -u tessdb -- "$venv/bin/tessdb-core" --env production --settings "$settings" init )
else
    # the paths of the settings, moved under the staging root
    # shellcheck source=/dev/null
    ( set -a; . "$envfile"; set +a; umask 0027; cd "$R/var/dbase"
      export TESSDB_DBASE__URL="$R/var/dbase/tess.db" TESSDB_INBOX__PATH="$R/var/dbase/tessdb-inbox.db" \
             TESSDB_LOGS__FILE="$R/var/log/tessdb/tessdb.log"
      "$venv/bin/tessdb-core" --env production --settings "$settings" init )
fi

# 7. systemd units: the service, and the backup timer (enabled by you)
for unit in tessdb-core.service tessdb-backup.service tessdb-backup.timer; do
    install -m 0644 "$src/deploy/$unit" "$units/$unit"
done
if [ "$staged" = 0 ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi

if [ "$staged" = 1 ]; then
    echo "Staged under $R"
else
    echo "Review /etc/tessdb/settings.toml (and $envfile), then:"
    echo "  systemctl restart mosquitto && systemctl enable --now tessdb-core"
    echo "  systemctl enable --now tessdb-backup.timer     # a daily online backup to /var/backups/tessdb"
fi
