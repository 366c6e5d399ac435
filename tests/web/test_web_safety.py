"""The public listener cannot change anything and shows no contact: every admin path and
method gets 404 or 405, no answer of any endpoint holds a contact e-mail or name present in the
database, every parameter is checked (400, one line), unknown names are 404, and connections
and slow clients are bounded."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from .conftest import CONTACT, EMAIL, HOST, OBSERVER_EMAIL, serve

ADMIN_PATHS = ["/health", "/health/live", "/health/ready", "/metrics", "/v1", "/v1/stats", "/v1/loggers",
               "/v1/loggers/tessdb", "/v1/ploggers", "/v1/ploggers/stars1", "/v1/filter/stars1",
               "/v1/filter/stars1/options"] + [f"/v1/server/{a}" for a in ("reload", "pause", "resume", "flush", "stop")]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"]


def test_every_admin_path_and_method_is_refused(served):
    before = served.client.json("/api/v1/photometers")["total"]
    for path in ADMIN_PATHS:
        for method in METHODS:
            status, _h, body = served.client.request(path, method=method, body=b"{}" if method in ("POST", "PUT", "PATCH") else None)
            assert status in (404, 405), (method, path, status)
            if method != "HEAD":
                assert len(json.loads(body)["error"].splitlines()) == 1
    # the API itself takes no write either
    for path in ("/api/v1/photometers", "/api/v1/photometers/stars1", "/", "/static/app.js"):
        for method in ("POST", "PUT", "DELETE", "PATCH", "TRACE"):
            status, headers, _b = served.client.request(path, method=method, body=b"x")
            assert status == 405 and headers["allow"] == "GET, HEAD", (method, path)
    assert served.client.json("/api/v1/photometers")["total"] == before  # positive control: still serving


def every_answer(served) -> list[tuple[str, bytes]]:
    c = served.client
    now = served.db.now
    window = f"from={now:%Y-%m-%d}T00:00:00Z&to={now:%Y-%m-%dT%H:%M:%S}Z"
    paths = ["/", "/api/v1/about", "/api/v1/openapi.json", "/api/v1/photometers", "/api/v1/photometers.geojson",
             "/static/app.js", "/static/index.html"]
    for name in ("stars1", "stars2", "stars3", "stars4"):
        paths += [f"/api/v1/photometers/{name}", f"/api/v1/photometers/{name}/readings?{window}",
                  f"/api/v1/photometers/{name}/readings?{window}&format=csv"]
    from tessdb_web.api import has_nights

    if has_nights():  # the night summaries, when installed
        paths += [f"/api/v1/nights/{now:%Y-%m-%d}", "/api/v1/photometers/stars1/nights"]
    out = []
    for p in paths:
        status, _h, body = c.request(p)
        assert status == 200, (p, status, body[:200])
        out.append((p, body))
    return out


def test_no_answer_shows_a_contact(served):
    rows = served.db.sql("SELECT contact_email, contact_name FROM location_t WHERE contact_email IS NOT NULL")
    assert (EMAIL, CONTACT) in rows  # positive control: the database does hold them
    for path, body in every_answer(served):
        text = body.decode("utf-8", "replace")
        for secret in (EMAIL, CONTACT, OBSERVER_EMAIL, "contact_email", "contact_name"):
            assert secret not in text, (path, secret)


@pytest.mark.parametrize("path, fragment", [
    ("/api/v1/photometers?status=sleeping", "status must be"),
    ("/api/v1/photometers?silent=soon", "silent must be a duration"),
    ("/api/v1/photometers?silent=0s", "silent must be a duration"),
    ("/api/v1/photometers?country=" + "x" * 65, "country must be"),
    ("/api/v1/photometers?colour=red", "unknown parameter 'colour'"),
    ("/api/v1/photometers?status=live&status=silent", "more than once"),
    ("/api/v1/photometers/stars1?x=1", "unknown parameter"),
    ("/api/v1/photometers/stars1/readings?from=yesterday", "from must be a date"),
    ("/api/v1/photometers/stars1/readings?to=2026-13-45", "to must be a date"),
    ("/api/v1/photometers/stars1/readings?from=2026-12-02&to=2026-12-01", "from must be before to"),
    ("/api/v1/photometers/stars1/readings?from=2026-01-01&to=2026-12-01", "at most 32 days"),
    ("/api/v1/photometers/stars1/readings?from=0001-01-01&to=0001-01-02", "between the years"),
    ("/api/v1/photometers/stars1/readings?format=xml", "format must be one of json, csv"),
    ("/api/v1/photometers/" + "a" * 65, "photometer name must be"),
    ("/api/v1/photometers/%01bad", "photometer name must be"),
])
def test_bad_parameters_are_400_with_one_line(served, path, fragment):
    status, headers, body = served.client.request(path)
    assert status == 400, (path, status, body[:200])
    message = json.loads(body)["error"]
    assert fragment in message and "\n" not in message


@pytest.mark.parametrize("path", ["/api/v1/photometers/nobody", "/api/v1/photometers/nobody/readings",
                                  "/api/v1/photometers/%3Cscript%3E", "/api/v2/photometers", "/nothing",
                                  "/static/../settings.toml", "/static/nothing.js", "/api/v1/photometers/stars1/x"])
def test_unknown_names_and_paths_are_404(served, path):
    status, _h, body = served.client.request(path)
    assert status == 404, (path, status)
    assert "\n" not in json.loads(body)["error"] if body.startswith(b"{") else True


def test_connections_are_bounded_and_slow_clients_dropped(fleet_db, monkeypatch):
    import tessdb_web.server

    monkeypatch.setattr(tessdb_web.server, "REQUEST_TIMEOUT", 2.0)  # 10 s in service: the same code, sooner
    s = serve(fleet_db, max_connections=4)
    try:
        # a client that connects and never sends its request is dropped, not kept forever
        idle = socket.create_connection((HOST, s.runtime.listener.port))
        idle.settimeout(30)
        t0 = time.monotonic()
        assert idle.recv(1024) == b""  # the server closed it
        waited = time.monotonic() - t0
        assert 1.5 < waited < 20, waited
        idle.close()
        # more connections at once than allowed: the extra ones are refused with 503, the others served
        held = []
        for _ in range(8):
            sock = socket.create_connection((HOST, s.runtime.listener.port))
            sock.sendall(b"GET /api/v1/photometers HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            held.append(sock)
        time.sleep(0.5)
        status, _h, _b = s.client.request("/api/v1/about")
        assert status == 503
        for sock in held:
            sock.close()
        deadline = time.monotonic() + 20
        while s.client.request("/api/v1/about")[0] != 200:
            assert time.monotonic() < deadline, "the listener did not recover"
            time.sleep(0.2)
    finally:
        s.runtime.stop()
