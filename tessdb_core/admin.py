"""The admin HTTP API: the reference's ``/v1`` endpoints, ``/metrics`` and ``/health``.

Served by the standard library's threading HTTP server on ``[http] host:port``
(127.0.0.1 by default), with an optional bearer token.  Handlers never touch the
pipeline themselves: every request is carried out by the service thread through
:meth:`Service.call`, between two turns of its loop.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from loguru import logger
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from . import logs

if TYPE_CHECKING:
    from .service import Service

log = logger.bind(ns="http")

#: the loggers of the reference's /v1/loggers
NAMESPACES = ("mqtt", "filter", "dbase", "http", "stats", "server")
LEVELS = ("none", "critical", "error", "warn", "info", "debug", "trace")
NAME_RE = re.compile(r"^stars\d{1,7}$")


class HttpError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


class AdminServer:
    def __init__(self, service: "Service"):
        self.service = service
        settings = service.settings
        self.httpd = ThreadingHTTPServer((settings.http.host, int(settings.http.port)), _handler(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="tessdb-admin", daemon=True)
        self.token = settings.http.token or ""

    def start(self) -> None:
        self.thread.start()
        host, port = self.httpd.server_address[:2]
        log.info("Admin API on http://{}:{}/v1 ({})", host, port, "token required" if self.token else "no token")

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- routes -----------------------------------------------------------------------------------
    def route(self, method: str, path: str, body: Any) -> tuple[int, Any, str]:
        svc = self.service
        parts = [p for p in path.split("?")[0].split("/") if p]
        if parts == ["health"] and method == "GET":
            ok, why = svc.call(svc.health)
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
            if action not in ("reload", "pause", "resume", "flush", "stop"):
                raise HttpError(404, f"no server action {action!r}")
            try:
                message = svc.call(getattr(svc, f"do_{action}"))
            except Exception as exc:
                raise HttpError(422, f"{action} refused: {exc}") from None
            return 200, {"message": message}, "json"
        if rest == ["stats"] and method == "GET":
            return 200, svc.call(lambda: _v1_stats(svc.stats.as_dict())), "json"
        if rest and rest[0] == "loggers":
            return self.loggers(method, rest[1:], body)
        if rest and rest[0] == "ploggers":
            return self.ploggers(method, rest[1:], body)
        if rest and rest[0] == "filter" and len(rest) >= 2:
            return self.filter(method, _photometer(rest[1]), rest[2:], body)
        raise HttpError(404, "Not Found")

    def loggers(self, method: str, rest: list[str], body: Any) -> tuple[int, Any, str]:
        """/v1/loggers: the six namespaces of the reference."""

        def check(raw: str) -> str:
            if raw not in NAMESPACES:
                raise HttpError(422, f"unknown logger {raw!r}: expected one of {', '.join(NAMESPACES)}")
            return raw

        return self._levels(method, rest, body, NAMESPACES, check, logs.LEVELS.namespaces, "namespace")

    def ploggers(self, method: str, rest: list[str], body: Any) -> tuple[int, Any, str]:
        """/v1/ploggers: one logger per photometer seen (or configured)."""
        known = self.service.call(self._photometers)

        def check(raw: str) -> str:
            name = _photometer(raw)
            if name not in known:
                raise HttpError(404, f"Logger {name} not yet available")
            return name

        return self._levels(method, rest, body, sorted(known), check, logs.LEVELS.photometers, "photometer")

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
                self.service.call(lambda: logs.set_level(level, **{kind: name}))
                return 200, {"name": name, "level": level}, "json"
        raise HttpError(405, "Method Not Allowed")

    def _photometers(self) -> set[str]:
        """Photometers that have filter state (seen in a reading) or a configured level."""
        names = set(logs.LEVELS.photometers)
        for f in _filters(self.service):
            names.update(f.state().get("photometers", {}))
        names.update(self.service.settings.get("filter.divisor", {}) or {})
        return names

    def filter(self, method: str, name: str, rest: list[str], body: Any) -> tuple[int, Any, str]:
        svc = self.service

        def views() -> dict[str, Any]:
            return {f.name: f.state().get("photometers", {}).get(name) for f in _filters(svc)}

        if rest == ["config"]:
            if method == "PUT":
                if not isinstance(body, dict):
                    raise HttpError(422, "body must be a JSON object with 'divisor' and/or 'buffered'")
                options = {k: body[k] for k in ("divisor", "buffered") if k in body}
                if "divisor" in options and (not isinstance(options["divisor"], int) or options["divisor"] < 1):
                    raise HttpError(422, "'divisor' must be an integer >= 1")
                if "buffered" in options and not isinstance(options["buffered"], bool):
                    raise HttpError(422, "'buffered' must be true or false")
                svc.call(lambda: [f.configure(name, options) for f in _filters(svc)
                                  if hasattr(f, "configure")])
                return 200, body, "json"
            if method == "GET":
                config = svc.call(lambda: _filter_config(svc, name) if name in self._photometers() else None)
                if config is None:
                    raise HttpError(404, f"Sampler/Filter {name} not yet available")
                return 200, config, "json"
        if not rest and method == "GET":
            state = svc.call(views)
            if not any(state.values()):
                raise HttpError(404, f"Sampler/Filter {name} not yet available")
            config = svc.call(lambda: _filter_config(svc, name)) or {}
            daylight = state.get("daylight") or {}
            return 200, {"name": name, "sampler": {"divisor": config.get("divisor", 1)},
                         "lookahead": {"window": daylight.get("window", []), "buffered": config.get("buffered", True),
                                       "flushing": False, "held": daylight.get("held", []),
                                       "saturated": daylight.get("saturated"),
                                       "monotonic": daylight.get("monotonic")}}, "json"
        raise HttpError(405, "Method Not Allowed")

    def metrics(self) -> str:
        snap = self.service.call(self.service.metrics_snapshot)
        registry = CollectorRegistry()
        registry.register(_Collector(snap))
        return generate_latest(registry).decode()


class _Collector:
    """Prometheus families made from one snapshot of the service's counters."""

    def __init__(self, snap: dict[str, Any]):
        self.snap = snap

    def collect(self):
        counters = self.snap["counters"]
        stage = CounterMetricFamily("tessdb_messages", "Messages by stage and outcome", labels=["counter"])
        quarantined = CounterMetricFamily("tessdb_quarantined", "Messages quarantined, by reason", labels=["reason"])
        dropped = CounterMetricFamily("tessdb_filter_dropped", "Readings dropped by a filter", labels=["filter"])
        trimmed = CounterMetricFamily("tessdb_quarantine_dropped",
                                      "Quarantine entries dropped to stay within [quarantine] max_mb and keep_days",
                                      counters.get("quarantine.dropped", 0))
        for key, value in sorted(counters.items()):
            if key == "quarantine.dropped":
                continue
            if key.startswith("quarantined."):
                quarantined.add_metric([key.split(".", 1)[1]], value)
            elif key.startswith("filter.dropped."):
                dropped.add_metric([key.rsplit(".", 1)[1]], value)
            else:
                stage.add_metric([key], value)
        yield stage
        yield quarantined
        yield dropped
        yield trimmed
        snap = self.snap
        yield GaugeMetricFamily("tessdb_store_available", "0 while the database cannot take writes (full disk, "
                                "I/O error, held by another program); readings wait in the inbox",
                                int(snap.get("store_available", True)))
        yield GaugeMetricFamily("tessdb_inbox_available", "0 while the inbox file cannot take messages; nothing "
                                "is acknowledged then", int(snap.get("inbox_available", True)))
        yield GaugeMetricFamily("tessdb_unacknowledged_messages", "Messages received but waiting for the inbox "
                                "(not acknowledged)", snap.get("held", 0))
        outages = CounterMetricFamily("tessdb_outages", "Times the database or the inbox became unavailable",
                                      labels=["resource"])
        for resource, n in sorted(snap.get("outages", {}).items()):
            outages.add_metric([resource], n)
        yield outages
        yield GaugeMetricFamily("tessdb_inbox_depth", "Messages waiting in the durable inbox", self.snap["inbox_depth"])
        yield GaugeMetricFamily("tessdb_last_message_age_seconds", "Seconds since the last MQTT message",
                                self.snap["last_message_age"])
        yield GaugeMetricFamily("tessdb_mqtt_connected", "1 when connected to the broker", int(self.snap["connected"]))
        yield GaugeMetricFamily("tessdb_paused", "1 while paused", int(self.snap["paused"]))
        lat = self.snap["write_seconds"]
        bounds = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)
        buckets = [(str(b), sum(1 for x in lat if x <= b)) for b in bounds] + [("+Inf", len(lat))]
        yield HistogramMetricFamily("tessdb_write_seconds", "Duration of each commit of readings and outcomes",
                                    buckets=buckets, sum_value=sum(lat))


def _filters(svc: "Service") -> list[Any]:
    """The filter chain (empty while the database has not been opened yet)."""
    return svc.pipeline.filters if svc.pipeline is not None else []


def _v1_stats(d: dict[str, Any]) -> dict[str, Any]:
    """The 5.x /v1/stats body, plus the quarantine counters."""
    return {"mqtt": d["mqtt"], "dbase_register": d["dbase_register"], "dbase_readings": d["dbase_readings"],
            "stored": d["stored"], "quarantined": d["quarantined"], "discarded": d["discarded"],
            "filter": d["filter"], "quarantine": d.get("quarantine", {"dropped": 0})}


def _filter_config(svc: "Service", name: str) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for f in _filters(svc):
        getter = getattr(f, "config_of", None)
        if getter is not None:
            out.update(getter(name))
    return out or None


def _photometer(raw: str) -> str:
    name = raw.lower()
    if not NAME_RE.match(name):
        raise HttpError(422, f"{raw!r} is not a photometer name (starsNNN)")
    return name


def _level(body: Any) -> str:
    level = body.get("level") if isinstance(body, dict) else None
    if not isinstance(level, str) or level.lower() not in LEVELS:
        raise HttpError(422, f"level must be one of {', '.join(LEVELS)}")
    return level.lower()


def _level_name(number: int | None) -> str:
    if number is None:
        number = logs.LEVELS.default
    for name in LEVELS:
        if logs.LEVEL_NO[name] == number:
            return name
    return "info"


def _handler(admin: AdminServer):
    class Handler(BaseHTTPRequestHandler):
        server_version = "tessdb-core"

        def log_message(self, fmt: str, *args: Any) -> None:  # into loguru, quietly
            log.debug("{} {}", self.address_string(), fmt % args)

        def _serve(self, method: str) -> None:
            try:
                if admin.token and not hmac.compare_digest(self.headers.get("Authorization", ""),
                                                           f"Bearer {admin.token}"):
                    raise HttpError(401, "missing or wrong bearer token")
                body = None
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    try:
                        body = json.loads(self.rfile.read(length))
                    except ValueError:
                        raise HttpError(422, "the body is not JSON") from None
                status, payload, kind = admin.route(method, self.path, body)
            except HttpError as exc:
                status, payload, kind = exc.status, {"detail": exc.detail}, "json"
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

