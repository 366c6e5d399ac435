"""The ``BackupQueries`` of a PostgresStore: ``pg_dump --format=custom``.

PostgreSQL has its own tools for backups; ``tessdb-core backup`` runs ``pg_dump`` when
it is on the PATH (one consistent snapshot: the collectors go on writing) and says how
to take one by hand when it is not.  The password never appears on ``pg_dump``'s command
line (other users can read it) nor in any message: it goes in ``PGPASSWORD``.  The dump
is checked with ``pg_restore --list`` (its table of contents names the data of the
star schema's tables) and synced.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tessdb_star.backup import BackupError, fsync_file, remove_quietly

from .store import PostgresStore

#: tables whose data the dump must hold
_REQUIRED = ("tess_t", "name_to_mac_t", "date_t", "time_t", "location_t", "tess_readings_t")


class PgBackup:
    """``tessdb_core.BackupQueries`` for a PostgresStore."""

    suffix = ".dump"

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        params = conninfo_to_dict(store._conninfo)  # noqa: SLF001 (same plugin)
        self._password = params.pop("password", None) or None
        #: the connection without its password: what pg_dump is given
        self._dbname = make_conninfo(**params)

    @property
    def source(self) -> str:
        return self.store.url

    def unavailable(self) -> str | None:
        """Why this store cannot take a backup here (pg_dump missing), or None."""
        if shutil.which("pg_dump") is None:
            return (f"{self.store.url} is a PostgreSQL database: back it up with pg_dump, which is not on "
                    f"the PATH (apt-get install postgresql-client), e.g. `pg_dump --format=custom "
                    f"--file DIR/tess-$(date -u +%Y%m%dT%H%M%SZ).dump '{self.store.url}'` "
                    "with the password in PGPASSWORD or ~/.pgpass")
        return None

    def _hide(self, text: str) -> str:
        return text.replace(self._password, "***") if self._password else text

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self._password:
            env["PGPASSWORD"] = self._password
        return env

    def backup(self, target: Path) -> dict[str, Any]:
        why = self.unavailable()
        if why:
            raise BackupError(why)
        if target.exists():
            raise BackupError("the file already exists")
        t0 = time.monotonic()
        cmd = [shutil.which("pg_dump") or "pg_dump", "--format=custom", "--no-password", f"--file={target}",
               f"--dbname={self._dbname}"]
        try:
            try:
                out = subprocess.run(cmd, env=self._env(), capture_output=True, text=True, stdin=subprocess.DEVNULL)
            except OSError as exc:
                raise BackupError(f"cannot run pg_dump: {exc.strerror or exc}") from None
            if out.returncode != 0:
                lines = [line for line in out.stderr.splitlines() if line.strip()]
                raise BackupError(f"pg_dump failed: {self._hide(lines[0] if lines else f'exit {out.returncode}')}")
            checks = self._check(target)
            fsync_file(target)
        except BaseException:
            remove_quietly(target)
            raise
        return {**checks, "seconds": round(time.monotonic() - t0, 3), "bytes": target.stat().st_size}

    def _check(self, target: Path) -> dict[str, Any]:
        """``pg_restore --list``: the archive is readable and holds the data of every table."""
        exe = shutil.which("pg_restore")
        if exe is None:
            return {"pg_restore": "not on the PATH: the archive was not listed"}
        out = subprocess.run([exe, "--list", str(target)], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            lines = [line for line in out.stderr.splitlines() if line.strip()]
            raise BackupError(f"pg_restore --list cannot read the dump: {lines[0] if lines else out.returncode}")
        data = {line.split()[-2] for line in out.stdout.splitlines()
                if " TABLE DATA " in line and len(line.split()) >= 2}
        missing = [t for t in _REQUIRED if t not in data]
        if missing:
            raise BackupError(f"the dump holds no data of table(s) {', '.join(missing)}")
        return {"pg_restore": "ok", "tables": len(data)}
