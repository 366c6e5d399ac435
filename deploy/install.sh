#!/usr/bin/env bash
# Install tessdb-core as a systemd service on a Debian/Ubuntu box (run as root from the source tree).
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
apt-get update -qq
apt-get install -y -qq python3 python3-venv mosquitto
id tessdb >/dev/null 2>&1 || useradd --system --home /var/dbase --shell /usr/sbin/nologin tessdb
install -d -o tessdb -g tessdb /var/dbase /var/log/tessdb
install -d /etc/tessdb /opt/tessdb-core
python3 -m venv /opt/tessdb-core/venv
/opt/tessdb-core/venv/bin/pip install --quiet "$src"
cp "$src/README.md" /opt/tessdb-core/
[ -f /etc/tessdb/settings.toml ] || cp "$src/deploy/settings.toml.example" /etc/tessdb/settings.toml
[ -f /etc/tessdb/tessdb.env ] || install -m 0600 "$src/deploy/tessdb.env.example" /etc/tessdb/tessdb.env
[ -f /etc/mosquitto/conf.d/tessdb.conf ] || cp "$src/deploy/mosquitto-tessdb.conf" /etc/mosquitto/conf.d/tessdb.conf
runuser -u tessdb -- /opt/tessdb-core/venv/bin/tessdb-core --env production --settings /etc/tessdb/settings.toml init
cp "$src/deploy/tessdb-core.service" /etc/systemd/system/tessdb-core.service
systemctl daemon-reload
echo "Edit /etc/tessdb/tessdb.env (broker password, admin token), create the broker users, then:"
echo "  systemctl restart mosquitto && systemctl enable --now tessdb-core"
