"""``tessdb-core web`` on its own: the command as an operator runs it (a child process, SIGTERM
ends it), its connection read-only (a write through it fails), and the same answers from a
PostgreSQL copy of the database as from the SQLite file."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from broker import free_port

from .conftest import HOST, Client, serve


def test_the_command_serves_until_sigterm(fleet_db):
    port = free_port()
    env = dict(fleet_db.cli.env)
    child = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", "web", "--db", str(fleet_db.path),
                              "--port", str(port)], cwd=fleet_db.path.parent, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                data = json.loads(urllib.request.urlopen(f"http://{HOST}:{port}/api/v1/photometers", timeout=5).read())
                break
            except OSError:
                assert child.poll() is None and time.monotonic() < deadline, child.stderr.read() if child.poll() else ""
                time.sleep(0.2)
        assert data["total"] == 4 and data["counts"]["live"] == 2
    finally:
        child.send_signal(signal.SIGTERM)
        rc = child.wait(30)
    assert rc == 0, child.stderr.read()


def test_its_connection_cannot_write(served):
    store = served.runtime.store
    before = served.db.sql("SELECT COUNT(*) FROM tess_t")[0][0]
    with pytest.raises(Exception, match="readonly|read-only|attempt to write"):
        store.run("a write", lambda conn: conn.execute("DELETE FROM tess_t"))
    assert served.db.sql("SELECT COUNT(*) FROM tess_t")[0][0] == before
    assert served.client.json("/api/v1/photometers")["total"] == 4  # still serving


def test_postgresql_answers_as_sqlite(fleet_db, served):
    from pgserver import PgServer

    server = PgServer().start()
    try:
        url = server.fresh_database("web")
        fleet_db.cli("copy", "--from", str(fleet_db.path), "--to", url, "--no-progress")
        pg = serve(fleet_db, url=url)
        try:
            a = served.client.json("/api/v1/photometers")
            b = pg.client.json("/api/v1/photometers")
            assert b["photometers"] == a["photometers"]
            window = f"from={fleet_db.now:%Y-%m-%d}T00:00:00Z&to={fleet_db.now:%Y-%m-%dT%H:%M:%S}Z"
            for path in ("/api/v1/photometers/stars1", f"/api/v1/photometers/stars1/readings?{window}"):
                assert pg.client.json(path) == served.client.json(path), path
            with pytest.raises(Exception, match="read-only|read only"):
                pg.runtime.store.run("a write", lambda conn: conn.execute("DELETE FROM tess_t"))
        finally:
            pg.runtime.stop()
    finally:
        server.stop()
