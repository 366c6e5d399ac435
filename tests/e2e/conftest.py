"""End-to-end helpers: the real `tessdb-core` command on real SQLite files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


class Cli:
    """Runs `tessdb-core` in a child process inside one working directory."""

    def __init__(self, cwd: Path, extra_path: str | None = None):
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
        self.env["TESSDB_LOGS__LEVEL"] = '"warning"'
        if extra_path:
            self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra_path, self.env.get("PYTHONPATH")]))

    def __call__(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        out = subprocess.run([sys.executable, "-m", "tessdb_core.cli", *args], cwd=self.cwd, env=self.env,
                             capture_output=True, text=True, input=stdin, timeout=300)
        if check and out.returncode != 0:
            raise AssertionError(f"tessdb-core {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
        return out

    def json(self, *args: str) -> dict:
        return json.loads(self(*args, "--json").stdout)

    def db(self, name: str = "tess.db") -> sqlite3.Connection:
        conn = sqlite3.connect(self.cwd / name)
        conn.row_factory = sqlite3.Row
        return conn


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


def envelope(topic: str, payload: str | dict, received: str = "2026-11-30T01:00:00.000Z", retain: bool = False) -> str:
    if isinstance(payload, dict):
        payload = json.dumps(payload)
    return json.dumps({"topic": topic, "payload": payload, "received": received, "retain": retain})


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path
