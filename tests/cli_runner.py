"""Running `tessdb-core` commands in tests, and writing the capture files they read."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path


class Cli:
    """Runs `tessdb-core` as a user would, inside one working directory and environment.

    In this process by default (``main()`` with the working directory, the environment,
    stdin, stdout and stderr swapped for the call): a child interpreter per command costs
    half a second of imports, which made the fast test run minutes long.  A plugin put on
    ``PYTHONPATH`` (``extra_path``) needs a fresh interpreter to be found: then a child."""

    def __init__(self, cwd: Path, extra_path: str | None = None):
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
        self.env["TESSDB_LOGS__LEVEL"] = '"warning"'
        self.child = extra_path is not None
        if extra_path:
            self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra_path, self.env.get("PYTHONPATH")]))

    def __call__(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        out = self._child(args, stdin) if self.child else self._here(args, stdin)
        if check and out.returncode != 0:
            raise AssertionError(f"tessdb-core {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
        return out

    def _child(self, args: tuple[str, ...], stdin: str | None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tessdb_core.cli", *args], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, input=stdin, timeout=300)

    def _here(self, args: tuple[str, ...], stdin: str | None) -> subprocess.CompletedProcess:
        from loguru import logger

        from tessdb_core.cli import main

        saved_env, saved_cwd, saved_stdin = dict(os.environ), os.getcwd(), sys.stdin
        out, err = io.StringIO(), io.StringIO()
        os.environ.clear()
        os.environ.update(self.env)
        os.chdir(self.cwd)
        sys.stdin = io.TextIOWrapper(io.BytesIO((stdin or "").encode()), encoding="utf-8")
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    rc = main(list(args))
                except SystemExit as exc:
                    rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            logger.remove()  # the command's sinks write to our buffers
            sys.stdin = saved_stdin
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        return subprocess.CompletedProcess(["tessdb-core", *args], rc, out.getvalue(), err.getvalue())

    def json(self, *args: str) -> dict:
        return json.loads(self(*args, "--json").stdout)

    def db(self, name: str = "tess.db") -> sqlite3.Connection:
        conn = sqlite3.connect(self.cwd / name)
        conn.row_factory = sqlite3.Row
        return conn


def envelope(topic: str, payload: str | dict, received: str = "2026-11-30T01:00:00.000Z", retain: bool = False) -> str:
    if isinstance(payload, dict):
        payload = json.dumps(payload)
    return json.dumps({"topic": topic, "payload": payload, "received": received, "retain": retain})


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path
