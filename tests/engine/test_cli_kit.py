"""The CLI kit of the public API: one way to reach the app, shared groups, --json/--csv, the admin client."""

from __future__ import annotations

import csv
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import click
import pytest

from tessdb_core import AdminClient, BadValue, ServiceUnreachable, emit_rows, shared_group
from tessdb_core.cli import main


def test_plugins_lists_as_table_json_and_csv(capsys):
    assert main(["plugins", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {"sqlite", "tess_decode", "maintenance"} <= {r["name"] for r in rows}
    assert next(r for r in rows if r["name"] == "sqlite")["state"] == "active"
    assert main(["plugins", "--json", "--csv"]) == 2
    assert capsys.readouterr().err.strip() == "tessdb-core: error: --json and --csv exclude each other"


def test_quarantine_list_and_count_take_the_output_options(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESSDB_INBOX__PATH", json.dumps(str(tmp_path / "inbox.db")))
    from datetime import datetime

    from tessdb_core import Message, Quarantine, Reason, Rejection

    q = Quarantine(tmp_path / "inbox.db")
    q.add(Message("STARS4ALL/x/reading", b"{oops", datetime(2026, 1, 1)), Rejection(Reason.BAD_JSON, "not JSON",
                                                                                 stage="decode", plugin="tess"))
    q.commit()
    assert main(["quarantine", "list", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["reason"], r["plugin"], r["detail"]) for r in rows] == [("bad_json", "tess", "not JSON")]
    assert main(["quarantine", "count", "--csv"]) == 0
    assert capsys.readouterr().out == "reason,count\nbad_json,1\n"
    q.purge(None, None)
    assert main(["quarantine", "count", "--csv"]) == 0
    assert capsys.readouterr().out == "reason,count\n"


def test_emit_rows_table_json_csv_and_empty(capsys):
    from datetime import datetime

    rows = [{"name": "stars1", "since": datetime(2026, 1, 2, 3, 4, 5), "ok": True, "zp2": None}]
    emit_rows(rows, ["name", "since", "ok", "zp2"], optional=("zp2",))
    assert capsys.readouterr().out.splitlines() == ["name    since                ok", "stars1  2026-01-02 03:04:05  yes"]
    emit_rows(rows, ["name"], as_json=True)
    assert json.loads(capsys.readouterr().out) == [{"name": "stars1", "since": "2026-01-02 03:04:05", "ok": True,
                                                    "zp2": None}]
    emit_rows(rows, ["name"], as_csv=True)
    assert capsys.readouterr().out == "name,since,ok,zp2\nstars1,2026-01-02 03:04:05,1,\n"
    emit_rows([], ["name"], empty="no instruments")
    assert capsys.readouterr().out == "no instruments\n"


def test_shared_group_is_made_once_and_refuses_a_plain_command():
    root = click.Group("root")
    first = shared_group(root, "readings", "The readings.")
    assert shared_group(root, "readings", "other help") is first and root.commands["readings"] is first
    root.add_command(click.Command("stats"))
    with pytest.raises(BadValue, match="command 'stats' exists and is not a group"):
        shared_group(root, "stats", "x")


class _Admin(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.headers.get("Authorization") != "Bearer s3cret":
            body, code = b'{"detail": "missing or wrong token"}', 401
        else:
            body, code = b'{"received": 3}', 200
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def admin_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Admin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_admin_client_sends_the_token_and_names_a_refusal(admin_server):
    assert AdminClient("0.0.0.0", admin_server, "s3cret").request("GET", "/v1/stats") == {"received": 3}
    with pytest.raises(ServiceUnreachable, match=r"answered 401: missing or wrong token"):
        AdminClient("127.0.0.1", admin_server).request("GET", "/v1/stats")
    assert AdminClient("127.0.0.1", admin_server).status("/health/live") == 401


def test_admin_client_says_when_nothing_answers(admin_server):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ServiceUnreachable, match=rf"no tessdb-core service answers at http://127.0.0.1:{port}/v1/stats"):
        AdminClient("127.0.0.1", port, timeout=2).request("GET", "/v1/stats")
    assert AdminClient("127.0.0.1", port).status() is None
