"""The admin API against a web page, a sloppy client and too many connections.

Each request is sent raw (``http.client`` / sockets) so that the test controls every
header exactly as a browser or an attacker would send it.
"""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest

from live_service import reading, registration, wait_for

pytestmark = pytest.mark.live


def raw(service, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
        host: str | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", service.http_port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host or f"127.0.0.1:{service.http_port}")
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None and "Content-Length" not in (headers or {}):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, (json.loads(data) if data.startswith(b"{") else {})
    finally:
        conn.close()


def running(service) -> bool:
    return service.proc is not None and service.proc.poll() is None and service.health_code() is not None


def test_a_web_page_cannot_stop_or_pause_the_collector(service):
    service.start()
    page = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    # the reported attack: a cross-origin text/plain POST with a body
    assert raw(service, "POST", "/v1/server/stop", b"{}", page)[0] == 403
    # no Origin (an old browser, a form): a body must be JSON
    assert raw(service, "POST", "/v1/server/pause", b"{}", {"Content-Type": "text/plain"})[0] == 415
    assert raw(service, "POST", "/v1/server/pause", b"{}",
               {"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    # DNS rebinding: a page on its own name re-pointed at 127.0.0.1
    assert raw(service, "POST", "/v1/server/stop", host=f"evil.example:{service.http_port}")[0] == 421
    time.sleep(0.5)  # the service acts between two turns of its loop: give a refused stop the chance
    assert running(service)
    assert raw(service, "GET", "/health")[1]["reason"] != "paused"
    # the positive control: the same action from the command line's client works
    status, body = raw(service, "POST", "/v1/server/pause", b"{}", {"Content-Type": "application/json"})
    assert status == 200 and body == {"message": "Server paused operation"}
    assert raw(service, "POST", "/v1/server/resume", headers={"Origin": f"http://127.0.0.1:{service.http_port}"}
               )[0] == 200
    assert raw(service, "GET", "/health", host=f"localhost:{service.http_port}")[0] == 200  # a loopback name


def test_malformed_requests_get_a_4xx_and_the_api_goes_on(service, publisher):
    service.start()
    publisher.publish([registration(1)] + [reading(1, s) for s in range(5)])
    wait_for(lambda: service.count() >= 1, 20, "a stored reading")
    assert raw(service, "POST", "/v1/server/flush", b"", {"Content-Length": "abc"})[0] == 400
    assert raw(service, "POST", "/v1/server/flush", b"", {"Content-Length": "-1"})[0] == 400
    assert raw(service, "PUT", "/v1/loggers/mqtt", b"{not json", {"Content-Type": "application/json"})[0] == 422
    assert raw(service, "PUT", "/v1/loggers/mqtt", b"x" * 70_000, {"Content-Type": "application/json"})[0] == 413
    put = {"Content-Type": "application/json"}
    status, body = raw(service, "PUT", "/v1/filter/stars1/config", json.dumps({"divisor": 10 ** 100}).encode(), put)
    assert status == 422 and "divisor" in body["detail"]
    assert raw(service, "PUT", "/v1/filter/stars1/config", b'{"colour": 1}', put)[0] == 422
    assert raw(service, "PUT", "/v1/filter/stars1/config", b'{"divisor": 3, "buffered": "no"}', put)[0] == 422
    assert raw(service, "GET", "/v1/filter/stars1/config")[1] == {"divisor": 1, "buffered": True}  # nothing applied
    assert raw(service, "PUT", "/v1/filter/stars1/config", b'{"divisor": 3}', put)[0] == 200
    assert raw(service, "GET", "/v1/filter/stars1/config")[1]["divisor"] == 3
    assert raw(service, "PUT", "/v1/filter/stars4242/config", b'{"divisor": 3}', put)[0] == 404
    assert raw(service, "GET", "/v1/ploggers/nota-name")[0] == 422
    assert running(service)


def test_a_token_is_compared_as_bytes_and_must_be_ascii(service):
    service.env["TESSDB_HTTP__TOKEN"] = "s3cret"
    service.start()
    assert raw(service, "GET", "/v1/stats", headers={"Authorization": "Bearer s3cr\u00e9t"})[0] == 401
    assert raw(service, "GET", "/v1/stats", headers={"Authorization": "Bearer s3cret"})[0] == 200
    service.stop()
    service.env["TESSDB_HTTP__TOKEN"] = "s3cr\u00e9t-token"
    out = service.cli("run", check=False)
    assert out.returncode == 2 and "http.token must be printable ASCII" in out.stderr
    assert "s3cr\u00e9t-token" not in out.stderr


def test_idle_connections_are_bounded_and_cut_off(service):
    from tessdb_core.admin import MAX_CONNECTIONS, REQUEST_TIMEOUT

    service.start()
    threads_before = _threads(service)
    idle = []
    for _ in range(MAX_CONNECTIONS + 40):
        s = socket.create_connection(("127.0.0.1", service.http_port), timeout=5)
        s.sendall(b"GET /health HTTP/1.1\r\n")  # and never the end of the headers
        idle.append(s)
    time.sleep(1)
    assert _threads(service) <= threads_before + MAX_CONNECTIONS + 1
    # the ones beyond the bound were closed at once
    closed = sum(1 for s in idle if _closed(s, 0.2))
    assert closed >= 40
    # after the request timeout every idle one is gone and the API answers again
    wait_for(lambda: service.health_code() is not None, REQUEST_TIMEOUT + 10, "the API to answer again")
    wait_for(lambda: _threads(service) <= threads_before + 1, REQUEST_TIMEOUT + 10, "the idle threads to end")
    for s in idle:
        s.close()


def _threads(service) -> int:
    for line in open(f"/proc/{service.proc.pid}/status"):
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def _closed(sock: socket.socket, timeout: float) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True
