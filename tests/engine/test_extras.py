"""A production install without the extras: every plugin loads, and a command that needs
an extra says which one (the optional modules are blocked in a child interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

BLOCK = "psycopg", "matplotlib", "ephem", "amqtt", "erfa"


def run_without_extras(tmp_path, *args: str) -> subprocess.CompletedProcess:
    code = ("import sys\n"
            f"for m in {BLOCK!r}: sys.modules[m] = None  # as if not installed: import raises ImportError\n"
            "from tessdb_core.cli import main\n"
            f"sys.exit(main({list(args)!r}))\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)


def test_every_plugin_loads_without_the_extras(tmp_path):
    out = run_without_extras(tmp_path, "plugins", "--json")
    assert out.returncode == 0, out.stderr
    states = {p["name"]: p["state"] for p in json.loads(out.stdout)}
    assert set(states.values()) == {"active"}, states
    assert {"postgres", "reports", "demo", "sky"} <= set(states)
    assert "failed" not in out.stderr


def test_a_command_that_needs_an_extra_names_it(tmp_path):
    assert run_without_extras(tmp_path, "init").returncode == 0  # SQLite needs nothing extra
    out = run_without_extras(tmp_path, "init", "--db", "postgresql://tess@127.0.0.1:1/tessdb")
    assert out.returncode == 2 and out.stderr.strip().endswith("pip install 'tessdb-core[postgres]'")
    out = run_without_extras(tmp_path, "plot", "night", "stars1", "--date", "2026-11-30", "--out", "n.png")
    assert out.returncode == 2 and "pip install 'tessdb-core[plots]'" in out.stderr
    out = run_without_extras(tmp_path, "readings", "export", "stars1", "--context")
    assert out.returncode == 2 and out.stderr.strip().endswith("pip install 'tessdb-core[sky]'"), out.stderr
    out = run_without_extras(tmp_path, "report", "geolist")  # reports without plots still work
    assert out.returncode == 0, out.stderr
