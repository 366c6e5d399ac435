"""The admin HTTP API: the reference's ``/v1`` endpoints, ``/metrics`` and ``/health``.

Served by the standard library's threading HTTP server on ``[http] host:port``
(127.0.0.1 by default), with an optional bearer token.  It sees the service only
through :class:`.controls.Controls`, whose calls the service carries out in its
own thread: handlers never touch the pipeline.

Why the request checks: the API can stop or pause the collector, and any web page
open in a browser on the same machine can send requests to 127.0.0.1.  So a
request with a body must say ``Content-Type: application/json`` (a page cannot
send that cross-site without the browser asking first), a foreign ``Origin`` is
refused, and the ``Host`` must be the address the API is bound to (a page on a
DNS name re-pointed at 127.0.0.1 sends its own name).  Connections are bounded in
number and in time, and every malformed request is a 4xx, never a 500.
"""

from __future__ import annotations

import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from loguru import logger
from . import logs, metrics
from .controls import ACTIONS, Controls
from .errors import BadValue

log = logger.bind(ns="http")

#: the loggers of the reference's /v1/loggers
NAMESPACES = ("mqtt", "filter", "dbase", "http", "stats", "server")
#: the level names the admin API accepts and answers, quietest first
API_LEVEL_NAMES = ("none", "critical", "error", "warn", "info", "debug", "trace")
#: most connections served at once; more are closed at once (each one is a thread)
MAX_CONNECTIONS = 32
#: seconds a client may take to send its request (headers and body)
REQUEST_TIMEOUT = 10.0
#: the largest request body (the API's bodies are a few bytes)
MAX_BODY = 64 * 1024
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


class HttpError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


class AdminServer:
    """The HTTP server and its routes; it talks to the service only through ``controls``."""

    def __init__(self, controls: Controls, settings: Any):
        self.controls = controls
        self.token = b""
        #: paths a GET may reach without the token
        self.public_paths: set[str] = set()
        self.use(settings)
        host, port = settings.http.host, int(settings.http.port)
        self.httpd = _BoundedServer((host, port), _handler(self))
        bound_port = self.httpd.server_address[1]
        #: Host headers accepted (DNS rebinding): the bound address, and loopback names on loopback
        names = {host} | (set(_LOOPBACK) if host in _LOOPBACK else set())
        self.hosts = None if host in ("0.0.0.0", "::", "") else {f"{n}:{bound_port}".lower() for n in names}
        self.origins = None if self.hosts is None else {f"http://{h}" for h in self.hosts}
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="tessdb-admin", daemon=True)

    def use(self, settings: Any) -> None:
        """Take the token and the public paths of a settings snapshot (at start and at each
        reload: a token rotated because it leaked is refused from the reload on).  BadValue,
        nothing changed, for a token that cannot travel in an HTTP header."""
        token = settings.http.token or ""
        if token and not (token.isascii() and token.isprintable() and " " not in token):
            raise BadValue("setting http.token must be printable ASCII without spaces (it travels in an "
                           "HTTP header)")
        self.token, self.public_paths = (token.encode("ascii"),
                                         {p.rstrip("/") for p in settings.get("http.public_paths", ()) or ()})

    def start(self) -> None:
        self.thread.start()
        host, port = self.httpd.server_address[:2]
        log.info("Admin API on http://{}:{}/v1 ({})", host, port, "token required" if self.token else "no token")

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- who may ask ------------------------------------------------------------------------------
    def check_request(self, method: str, headers: Any, path: str = "/") -> None:
        """Refuse what a web page could send cross-site, and a missing or wrong token (except
        on ``[http] public_paths``, for a Prometheus scraper or a load balancer)."""
        if self.hosts is not None and (headers.get("Host") or "").lower() not in self.hosts:
            raise HttpError(421, "unexpected Host header: the admin API answers on its own address only")
        origin = headers.get("Origin")
        if origin is not None and (self.origins is None or origin.lower() not in self.origins):
            raise HttpError(403, "cross-origin requests are refused")
        token = self.token  # (one read: a reload may swap it meanwhile)
        if token and not (method == "GET" and path.split("?")[0].rstrip("/") in self.public_paths):
            given = (headers.get("Authorization") or "").encode("latin-1", "replace")
            if not hmac.compare_digest(given, b"Bearer " + token):
                raise HttpError(401, "missing or wrong bearer token")

    @staticmethod
    def read_body(method: str, headers: Any, rfile: Any) -> Any:
        raw_length = headers.get("Content-Length")
        if raw_length is None or method == "GET":
            return None
        if not raw_length.strip().isdigit():
            raise HttpError(400, "Content-Length must be a non-negative integer")
        length = int(raw_length)
        if length > MAX_BODY:
            raise HttpError(413, f"the body is larger than {MAX_BODY} bytes")
        if length == 0:
            return None
        kind = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise HttpError(415, "a request body must be Content-Type: application/json")
        try:
            return json.loads(rfile.read(length))
        except (ValueError, UnicodeDecodeError):
            raise HttpError(422, "the body is not JSON") from None

    # -- routes -----------------------------------------------------------------------------------
    def route(self, method: str, path: str, body: Any) -> tuple[int, Any, str]:
        controls = self.controls
        parts = [p for p in path.split("?")[0].split("/") if p]
        if parts in (["health"], ["health", "ready"], ["health", "live"]) and method == "GET":
            ok, why = controls.live() if parts[-1] == "live" else controls.health()
            return (200 if ok else 503), {"status": "ok" if ok else "unhealthy", "reason": why}, "json"
        if parts == ["metrics"] and method == "GET":
            return 200, self.metrics(), "text"
        if not parts or parts[0] != "v1":
            raise HttpError(404, "Not Found")
        rest = parts[1:]
        if not rest and method == "GET":
            return 200, {"message": "I'm alive"}, "json"
        if len(rest) == 2 and rest[0] == "server" and method == "POST":
            action = rest[1]
            if action not in ACTIONS:
                raise HttpError(404, f"no server action {action!r}")
            try:
                message = controls.act(action)
            except ValueError as exc:
                raise HttpError(422, f"{action} refused: {exc}") from None
            return 200, {"message": message}, "json"
        if rest == ["stats"] and method == "GET":
            return 200, _v1_stats(controls.stats()), "json"
        if rest and rest[0] == "loggers":
            return self.loggers(method, rest[1:], body)
        if rest and rest[0] == "ploggers":
            return self.ploggers(method, rest[1:], body)
        if rest and rest[0] == "filter" and len(rest) >= 2:
            return self.filter(method, self._photometer(rest[1]), rest[2:], body)
        raise HttpError(404, "Not Found")

    def _photometer(self, raw: str) -> str:
        name = self.controls.photometer_name(raw)
        if name is None:
            raise HttpError(422, f"{raw!r} is not a photometer name")
        return name

    def loggers(self, method: str, rest: list[str], body: Any) -> tuple[int, Any, str]:
        """/v1/loggers: the six namespaces of the reference."""

        def check(raw: str) -> str:
            if raw not in NAMESPACES:
                raise HttpError(422, f"unknown logger {raw!r}: expected one of {', '.join(NAMESPACES)}")
            return raw

        return self._levels(method, rest, body, NAMESPACES, check, logs.levels_in_force.namespaces, "namespace")

    def ploggers(self, method: str, rest: list[str], body: Any) -> tuple[int, Any, str]:
        """/v1/ploggers: one logger per photometer seen (or configured)."""
        known = self.controls.photometers()

        def check(raw: str) -> str:
            name = self._photometer(raw)
            if name not in known:
                raise HttpError(404, f"Logger {name} not yet available")
            return name

        return self._levels(method, rest, body, sorted(known), check, logs.levels_in_force.photometers, "photometer")

    def _levels(self, method: str, rest: list[str], body: Any, names: Any, check: Any, table: dict[str, int],
                kind: str) -> tuple[int, Any, str]:
        if not rest and method == "GET":
            return 200, [{"name": n, "level": _level_name(table.get(n))} for n in names], "json"
        if len(rest) == 1:
            raw = rest[0]
            if method == "PUT" and isinstance(body, dict) and body.get("name"):
                raw = str(body["name"])  # the reference sets the logger named in the body
            name = check(raw)
            if method == "GET":
                return 200, {"name": name, "level": _level_name(table.get(name))}, "json"
            if method == "PUT":
                level = _level(body)
                self.controls.set_level(level, **{kind: name})
                return 200, {"name": name, "level": level}, "json"
        raise HttpError(405, "Method Not Allowed")

    def filter(self, method: str, name: str, rest: list[str], body: Any) -> tuple[int, Any, str]:
        controls = self.controls
        if rest == ["config"] and method == "PUT":
            if not isinstance(body, dict):
                raise HttpError(422, "the body must be a JSON object of filter options")
            if name not in controls.photometers() and not controls.is_registered(name):
                raise HttpError(404, f"photometer {name} is neither registered nor seen")
            try:
                controls.configure_filters(name, body)
            except ValueError as exc:
                raise HttpError(422, str(exc)) from None
            return 200, body, "json"
        if name not in controls.photometers():
            raise HttpError(404, f"Sampler/Filter {name} not yet available")
        if rest == ["config"] and method == "GET":
            return 200, controls.filter_options(name), "json"
        if not rest and method == "GET":
            return 200, {"name": name, **controls.filter_view(name)}, "json"
        raise HttpError(405, "Method Not Allowed")

    def metrics(self) -> str:
        return metrics.render(self.controls.metrics())


def _v1_stats(d: dict[str, Any]) -> dict[str, Any]:
    """The 5.x /v1/stats body, plus the quarantine counters."""
    return {"mqtt": d["mqtt"], "dbase_register": d["dbase_register"], "dbase_readings": d["dbase_readings"],
            "stored": d["stored"], "quarantined": d["quarantined"], "discarded": d["discarded"],
            "filter": d["filter"], "quarantine": d.get("quarantine", {"dropped": 0})}






def _level(body: Any) -> str:
    level = body.get("level") if isinstance(body, dict) else None
    if not isinstance(level, str) or level.lower() not in API_LEVEL_NAMES:
        raise HttpError(422, f"level must be one of {', '.join(API_LEVEL_NAMES)}")
    return level.lower()


def _level_name(number: int | None) -> str:
    if number is None:
        number = logs.levels_in_force.default
    for name in API_LEVEL_NAMES:
        if logs.LEVEL_NO[name] == number:
            return name
    return "info"


class _BoundedServer(ThreadingHTTPServer):
    """At most MAX_CONNECTIONS connections at once (one thread each); the others are
    closed at once instead of piling up threads."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("Admin API: more than {} connections at once; closing one from {}", MAX_CONNECTIONS,
                        client_address[0])
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _handler(admin: AdminServer):
    class Handler(BaseHTTPRequestHandler):
        server_version = "tessdb-core"
        timeout = REQUEST_TIMEOUT  # a client that sends its request slowly is cut off

        def log_message(self, fmt: str, *args: Any) -> None:  # into loguru, quietly
            log.debug("{} {}", self.address_string(), fmt % args)

        def _serve(self, method: str) -> None:
            try:
                admin.check_request(method, self.headers, self.path)
                body = admin.read_body(method, self.headers, self.rfile)
                status, payload, kind = admin.route(method, self.path, body)
            except HttpError as exc:
                status, payload, kind = exc.status, {"detail": exc.detail}, "json"
            except TimeoutError:
                return  # the client went quiet while sending its body
            except Exception as exc:  # the API never takes the service down
                log.error("{} {} failed: {}: {}", method, self.path, type(exc).__name__, exc)
                status, payload, kind = 500, {"detail": f"{type(exc).__name__}: {exc}"}, "json"
            data = (json.dumps(payload) if kind == "json" else payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if kind == "json"
                             else "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

    return Handler
