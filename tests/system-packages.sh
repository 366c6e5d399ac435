#!/usr/bin/env bash
# The programs the tests run for real, from Debian/Ubuntu packages: mosquitto (the live
# tests), the PostgreSQL server binaries (tests/pgserver.py starts its own throwaway
# cluster on 127.0.0.1), promtool (the metrics check) and chromium (the status page's browser
# tests, headless, driven by Playwright's Python package). Installs only what is missing;
# as root, or through sudo. Elsewhere it says what to install and exits 1.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/system-packages.sh: install ${need[*]} (mosquitto, the PostgreSQL server, promtool, chromium) with your package manager" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "tests/system-packages.sh: run as root to install ${need[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
