"""The demo's child processes: started in their own process group, logged to files, always stopped.

Why their own process group: Ctrl-C in the terminal then reaches the demo only,
and the demo stops its children in the right order (simulator, service, broker)
instead of all of them racing.  Why ``PR_SET_PDEATHSIG`` (Linux): should the demo
itself be killed outright, the kernel still sends its children SIGTERM, so no
broker or service is left running behind it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

__all__ = ["Child", "cli_args", "environment"]

_PR_SET_PDEATHSIG = 1


def _find_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


#: looked up once, here: the child must do no imports between fork and exec
_PRCTL = _find_prctl()


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
    except Exception:  # noqa: BLE001 - best effort: the demo's own cleanup still applies
        pass


def cli_args(*args: str) -> list[str]:
    """``tessdb-core ARGS`` with this very interpreter (works without the script on PATH)."""
    return [sys.executable, "-m", "tessdb_core.cli", *args]


class Child:
    """One child process; stdout and stderr go to files in the demo directory unless piped."""

    def __init__(self, name: str, args: list[str], cwd: Path, env: dict[str, str], stdout: Path | None,
                 stderr: Path | None, pipe_stdout: bool = False, pipe_stderr: bool = False):
        self.name = name
        self.args = args
        self.stderr_path = stderr
        self._files: list[IO] = []
        out = subprocess.PIPE if pipe_stdout else self._open(stdout)
        if pipe_stderr:
            err = subprocess.PIPE
        elif stderr is not None and stderr == stdout:
            err = subprocess.STDOUT
        else:
            err = self._open(stderr)
        try:
            self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         start_new_session=True,
                                         preexec_fn=_die_with_parent if _PRCTL is not None else None,
                                         text=pipe_stdout or pipe_stderr)
        except OSError:
            self._close_files()
            raise

    def _open(self, path: Path | None):
        if path is None:
            return subprocess.DEVNULL
        f = open(path, "wb")  # noqa: SIM115 - closed in stop()
        self._files.append(f)
        return f

    def _close_files(self) -> None:
        for f in self._files:
            f.close()
        self._files = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float | None = None) -> int:
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 20.0, sig: int = signal.SIGTERM) -> int | None:
        """Ask it to stop (``sig``), wait ``timeout`` seconds, then kill it.  Idempotent."""
        proc = self.proc
        try:
            if proc.poll() is None:
                try:
                    proc.send_signal(sig)
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        finally:
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
            self._close_files()
        return proc.returncode

    def tail(self, lines: int = 5) -> str:
        """The last lines of its stderr file (for an error message)."""
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        text = self.stderr_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(t.strip() for t in text[-lines:])


def environment(overrides: dict[str, str]) -> dict[str, str]:
    """This process's environment without the user's ``TESSDB_*`` (the demo is self-contained), plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    env.update(overrides)
    return env
