"""What a command imports: each imports only what it needs, so that it starts quickly.

Why the imports rather than the time: a timed test fails on a loaded machine; the imports are
what the start-up time is made of (``bench/startup.py`` prints the figures).  Each probe runs one
command in a fresh interpreter and lists ``sys.modules`` afterwards; the same probe on a command
that does need a library shows it there (the positive control: the probe sees imports).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from broker import free_port

ROOT = Path(__file__).resolve().parents[2]
#: every package under plugins/ (the plugins and the libraries they share)
PLUGIN_PACKAGES = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists())
#: heavy libraries that listing the instruments never needs
NOT_FOR_INSTRUMENT_LIST = ("paho", "matplotlib", "numpy", "starlette", "uvicorn", "psycopg")

PROBE = """\
import json, sys
from tessdb_core.cli import main
rc = main(sys.argv[1:])
print("\\nPROBE " + json.dumps({"rc": rc, "modules": sorted(sys.modules)}))
"""


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """No TESSDB_ variable of the caller's; the admin API and the broker on closed local ports."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    out.update(TESSDB_HTTP__PORT=str(free_port()), TESSDB_MQTT__HOST="127.0.0.1",
               TESSDB_MQTT__PORT=str(free_port()))
    return out


def probe(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, set[str], str]:
    """Run ``tessdb-core ARGS`` in a fresh interpreter: its exit code, the modules it imported, its output."""
    out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=300)
    head, _, last = out.stdout.rpartition("\nPROBE ")
    assert last, f"the probe printed nothing: {out.stderr}"
    found = json.loads(last)
    return found["rc"], set(found["modules"]), head + out.stderr


def roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_version_imports_no_settings_library_no_logs_and_no_plugin(tmp_path, env):
    rc, modules, output = probe(tmp_path, env, "version")
    assert rc == 0 and "  sqlite: " in output and "  maintenance: " in output  # still lists every plugin
    assert {"dynaconf", "loguru", "pluggy"}.isdisjoint(roots(modules)), sorted(
        m for m in modules if roots({m}) & {"dynaconf", "loguru", "pluggy"})
    assert not roots(modules) & set(PLUGIN_PACKAGES), sorted(roots(modules) & set(PLUGIN_PACKAGES))


def test_instrument_list_imports_no_broker_client_plots_or_web(tmp_path, env):
    init = subprocess.run([sys.executable, "-m", "tessdb_core.cli", "init", "--db", "tess.db"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stderr
    rc, modules, output = probe(tmp_path, env, "instrument", "list", "--db", "tess.db")
    assert rc == 0, output
    # what it does need is seen: the settings, the logs and the plugin that owns the command
    assert {"dynaconf", "loguru", "tessdb_maint", "tessdb_sqlite"} <= roots(modules)
    assert not roots(modules) & set(NOT_FOR_INSTRUMENT_LIST), sorted(roots(modules) & set(NOT_FOR_INSTRUMENT_LIST))


def test_the_probe_sees_a_broker_client_where_a_command_needs_one(tmp_path, env):
    # the positive control: forgetting the broker session connects with paho (to a closed port)
    rc, modules, output = probe(tmp_path, env, "mqtt", "forget-session", "--yes")
    assert rc == 2 and "cannot connect to the MQTT broker" in output, output
    assert "paho" in roots(modules)


def test_help_still_lists_the_plugins_commands(tmp_path, env):
    rc, _, output = probe(tmp_path, env, "--help")
    assert rc == 0
    for command in ("version", "run", "instrument", "simulate", "alarms", "mqtt"):
        assert f"  {command} " in output, command
