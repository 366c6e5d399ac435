"""A throwaway PostgreSQL server for the tests, on a free 127.0.0.1 port.

``PgServer().start()`` runs ``initdb`` into a temporary directory (as the ``postgres``
system user when the tests run as root: ``initdb`` and ``postgres`` refuse root),
trusts 127.0.0.1, starts the server with ``pg_ctl start -w`` and creates the database
``tessdb``.  Durability is switched off (``fsync``, ``synchronous_commit``,
``full_page_writes``): the data is thrown away anyway, and the tests run faster.
``stop()`` runs ``pg_ctl stop -m fast`` and removes the directory; ``halt()`` and
``restart()`` stop and start it keeping its data (a database server going away).

The binaries are looked up in ``$TESSDB_PG_BIN``, then ``/usr/lib/postgresql/<newest>/bin``
(Debian and Ubuntu), then ``$PATH``.  When they are missing, :class:`PgServerError` says so
and how to install them: the PostgreSQL tests fail, they are never skipped.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"
SUPERUSER = "postgres"
DATABASE = "tessdb"


class PgServerError(RuntimeError):
    """The test server could not be found, started or used."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def find_bindir() -> Path:
    """The directory holding initdb, pg_ctl and postgres."""
    wanted = ("initdb", "pg_ctl", "postgres")
    candidates: list[Path] = []
    if os.environ.get("TESSDB_PG_BIN"):
        candidates.append(Path(os.environ["TESSDB_PG_BIN"]))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in versions), key=lambda p: _version(p.parent.name), reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if all((folder / exe).is_file() for exe in wanted):
            return folder
    raise PgServerError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in $TESSDB_PG_BIN, "
        "/usr/lib/postgresql/*/bin or $PATH: install them (apt-get install -y postgresql) "
        "to run the PostgreSQL tests")


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split("."))
    except ValueError:
        return (0,)


class PgServer:
    """One PostgreSQL cluster in a temporary directory; see the module docstring."""

    def __init__(self, port: int | None = None, database: str = DATABASE) -> None:
        self.bindir = find_bindir()
        self.port = port or free_port()
        self.host = HOST
        self.database = database
        self.root: Path | None = None
        self._as_postgres = os.geteuid() == 0
        self._counter = 0
        self.running = False

    # -- URLs -------------------------------------------------------------------------------------
    def url(self, database: str | None = None) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database or self.database}"

    @property
    def data(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> "PgServer":
        self.root = Path(tempfile.mkdtemp(prefix="tessdb-pg-"))
        if self._as_postgres:
            try:
                user = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise PgServerError("running as root, but there is no `postgres` system user to run the "
                                    "test server as (apt-get install -y postgresql creates it)") from None
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# tessdb-core test server\n"
                f"listen_addresses = '{HOST}'\n"
                f"port = {self.port}\n"
                f"unix_socket_directories = '{self.root}'\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "max_connections = 100\n"
                "shared_buffers = 64MB\n"
                "log_min_messages = warning\n"
            )
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            f"host all all {HOST}/32 trust\n"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60", "-o",
                  "-c logging_collector=off", "start")
        self.running = True
        atexit.register(self.stop)
        self.create_database(self.database)
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its directory; safe to call twice."""
        if self.running:
            self.running = False
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
            except PgServerError:
                pass
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def halt(self) -> None:
        """Stop the server (fast shutdown: sessions are cut) but keep its data, for :meth:`restart`."""
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
            self.running = False

    def restart(self) -> None:
        """Start a halted server again, on the same port with the same data."""
        if not self.running:
            self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "60", "-o",
                      "-c logging_collector=off", "start")
            self.running = True

    # -- databases -----------------------------------------------------------------------------------
    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement in autocommit mode (CREATE / DROP DATABASE)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def create_database(self, name: str, template: str | None = None) -> str:
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def fresh_database(self, prefix: str = "t", template: str | None = None) -> str:
        """A new database ``<prefix>_<n>`` (empty, or a copy of ``template``); returns its URL."""
        self._counter += 1
        return self.create_database(f"{prefix}_{self._counter}", template)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # -- plumbing ------------------------------------------------------------------------------------
    def _run(self, exe: str, *args: str) -> str:
        cmd = [str(self.bindir / exe), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=str(self.root or "/"))
        if out.returncode != 0:
            log = ""
            if self.root is not None and self.logfile.exists():
                log = "\n" + self.logfile.read_text()[-2000:]
            raise PgServerError(f"{exe} {' '.join(args)} failed ({out.returncode}): "
                                f"{out.stderr.strip() or out.stdout.strip()}{log}")
        return out.stdout
