"""The public listener's application (Starlette): the JSON API under ``/api/v1``, its
OpenAPI document, and the status page with its scripts, styles and map data, every file
served from the package.

GET and HEAD only (anything else: 405), unknown paths 404, bad parameters 400 with one
line; ETag on every JSON answer (304 when it matches) and gzip when the client takes it.
Nothing here writes, controls, counts or shows a contact: the fleet view comes from the
in-memory :class:`~.source.FleetCache`, the rest from the read-only :class:`~.reader.WebReader`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tessdb_core import NotFound, __version__

from . import fleet, params
from .config import MAX_NIGHTS, MAX_SPAN_DAYS, NIGHTS_KEPT, WebSettings
from .openapi import document
from .params import BadRequest
from .reader import WebReader
from .source import FleetCache

STATIC = Path(str(files(__package__).joinpath("static")))
#: rows per chunk of a streamed readings answer
_CHUNK = 500
_ALLOWED = ("GET", "HEAD")


class Web:
    """The state the handlers read: settings, the fleet cache, the reader."""

    def __init__(self, cfg: WebSettings, cache: FleetCache, reader: WebReader) -> None:
        self.cfg, self.cache, self.reader = cfg, cache, reader
        #: (geojson, query) -> (snapshot, made at, body, ETag, media type, fresh for seconds)
        self.made: dict[tuple[bool, str], tuple[Any, float, bytes, str, str, float]] = {}
        #: night -> (when made, the catalogue it was made from, the answer) of /api/v1/nights/{date}
        self.nights_made: dict[Any, tuple[float, Any, dict[str, Any]]] = {}

    def rows(self, now: float) -> list[dict[str, Any]]:
        snap = self.cache.snapshot
        newest, silent_after = snap.newest, self.cfg.silent_after
        return [fleet.record(inst, newest.get(name), now, silent_after)
                for name, inst in sorted(snap.instruments.items())]

    def instrument(self, name: str) -> fleet.Instrument:
        params.text(name, "the photometer name")
        inst = self.cache.snapshot.instruments.get(name)
        if inst is None:
            raise NotFound(f"no photometer named {name!r}")
        return inst


# -- answers ----------------------------------------------------------------------------------
def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={"Cache-Control": "no-store"})


def _json(request: Request, data: Any, media_type: str = "application/json", max_age: int = 0) -> Response:
    """A JSON answer with its ETag; 304 when the client has it already."""
    body = orjson.dumps(data)
    tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}" if max_age else "no-cache"}
    if tag in (request.headers.get("if-none-match") or "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _web(request: Request) -> Web:
    return request.app.state.web


def _now() -> float:
    return time.time()


# -- the API ------------------------------------------------------------------------------------
async def photometers(request: Request) -> Response:
    return _fleet(request, geojson=False)


async def photometers_geojson(request: Request) -> Response:
    return _fleet(request, geojson=True)


def _fleet(request: Request, geojson: bool) -> Response:
    """The fleet view: made at most once a second per query from the in-memory snapshot, the
    same bytes (and ETag) served to every client meanwhile."""
    web = _web(request)
    now = _now()
    key = (geojson, request.url.query)
    made = web.made.get(key)
    if made is not None and made[0] is web.cache.snapshot and 0 <= now - made[1] < made[5]:
        return _cached(request, made[2], made[3], made[4])
    response = _make_fleet(request, geojson, now)
    if response.status_code == 200:
        if len(web.made) >= 64:
            web.made = {k: v for k, v in web.made.items() if not k[1]}  # keep the unfiltered ones
        web.made[key] = (web.cache.snapshot, now, response.body, response.headers["etag"], response.media_type, 1.0)
    return response


def prepare(web: "Web") -> None:
    """Make the unfiltered fleet answers (JSON and GeoJSON) ahead, in the fleet thread after
    each refresh, so that a request of the page never computes them."""


    now = _now()
    snapshot = web.cache.snapshot
    rows = web.rows(now)
    meta = {"generated": fleet.iso(now), "silent_after_seconds": web.cfg.silent_after,
            "counts": fleet.counts(rows), "total": len(rows)}
    for geojson, data, media in ((False, {**meta, "photometers": rows}, "application/json"),
                                 (True, {"type": "FeatureCollection", **meta,
                                         "features": [fleet.feature(r) for r in rows]}, "application/geo+json")):
        body = orjson.dumps(data)
        tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        web.made[(geojson, "")] = (snapshot, now, body, tag, media, web.cache.newest_every + 1.0)



def _cached(request: Request, body: bytes, tag: str, media_type: str) -> Response:
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if tag in (request.headers.get("if-none-match") or "").replace("W/", "").split(", "):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _make_fleet(request: Request, geojson: bool, now: float) -> Response:
    q = request.query_params
    params.known(q, ("status", "silent", "country"))
    wanted = params.statuses(q.get("status"))
    silent_for = params.duration(q.get("silent"), "silent")
    country = params.text(q["country"], "country") if "country" in q else None
    every = _web(request).rows(now)
    rows = fleet.select(every, wanted, silent_for, country, now)
    meta = {"generated": fleet.iso(now), "silent_after_seconds": _web(request).cfg.silent_after,
            "counts": fleet.counts(rows), "total": len(rows)}
    if geojson:
        return _json(request, {"type": "FeatureCollection", **meta, "features": [fleet.feature(r) for r in rows]},
                     media_type="application/geo+json")
    return _json(request, {**meta, "photometers": rows})


async def photometer(request: Request) -> Response:
    params.known(request.query_params, ())
    web = _web(request)
    inst = web.instrument(request.path_params["name"])
    now = _now()
    row = fleet.record(inst, web.cache.snapshot.newest.get(inst.name), now, web.cfg.silent_after)
    from starlette.concurrency import run_in_threadpool

    detail = await run_in_threadpool(web.reader.detail, inst.name)
    site = {k: row[k] for k in ("place", "town", "country", "longitude", "latitude")}
    return _json(request, {**row, "site": site, **detail})


async def readings(request: Request) -> Response:
    q = request.query_params
    params.known(q, ("from", "to", "format"))
    web = _web(request)
    inst = web.instrument(request.path_params["name"])
    fmt = params.choice(q.get("format"), "format", ("json", "csv"))
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    since, until = params.window(q.get("from"), q.get("to"), now)
    columns, rows = web.reader.readings(inst.name, inst.nchannels, since, until)
    headers = {"Cache-Control": "no-cache"}
    if fmt == "csv":
        headers["Content-Disposition"] = (f'attachment; filename="{_safe(inst.name)}_{since:%Y%m%dT%H%M%S}_'
                                          f'{until:%Y%m%dT%H%M%S}.csv"')
        return StreamingResponse(_csv(columns, rows), media_type="text/csv; charset=utf-8", headers=headers)
    head = {"name": inst.name, "from": f"{since:%Y-%m-%dT%H:%M:%SZ}", "to": f"{until:%Y-%m-%dT%H:%M:%SZ}",
            "columns": list(columns)}
    return StreamingResponse(_json_rows(head, rows), media_type="application/json", headers=headers)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def _csv(columns: tuple[str, ...], rows: Iterator[tuple]) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    n = 0
    for row in rows:
        writer.writerow(row)
        n += 1
        if n % _CHUNK == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


def _json_rows(head: dict[str, Any], rows: Iterator[tuple]) -> Iterator[bytes]:
    yield orjson.dumps(head)[:-1] + b', "rows": ['
    chunk: list[bytes] = []
    first = True
    for row in rows:
        chunk.append(orjson.dumps(row))
        if len(chunk) == _CHUNK:
            yield (b"" if first else b",") + b",".join(chunk)
            first, chunk = False, []
    if chunk:
        yield (b"" if first else b",") + b",".join(chunk)
    yield b"]}"


async def photometer_nights(request: Request) -> Response:
    """One photometer's night summaries, evenings ``from`` .. ``to`` (both included)."""
    q = request.query_params
    params.known(q, ("from", "to"))
    web = _web(request)
    inst = web.instrument(request.path_params["name"])
    first, last = params.days(q.get("from"), q.get("to"), datetime.now(timezone.utc).date())
    from starlette.concurrency import run_in_threadpool

    columns, rows = await run_in_threadpool(web.reader.nights, [inst.name], first, last)
    return _json(request, {"name": inst.name, "from": first.isoformat(), "to": last.isoformat(),
                           "columns": list(columns), "nights": rows})


async def nights_of(request: Request) -> Response:
    """Every photometer's summary of one night (the evening's local date); computed once and kept
    ``NIGHTS_KEPT`` seconds (a past night does not change, tonight's grows)."""
    params.known(request.query_params, ())
    night = params.day(request.path_params["date"], "the night")
    web = _web(request)
    now = _now()
    kept = web.nights_made.get(night)
    if kept is None or now - kept[0] > NIGHTS_KEPT or kept[1] is not web.cache.snapshot.instruments:
        names = sorted(n for n, i in web.cache.snapshot.instruments.items() if i.site is not None)
        from starlette.concurrency import run_in_threadpool

        columns, rows = await run_in_threadpool(web.reader.nights, names, night, night)
        kept = (now, web.cache.snapshot.instruments, {"night": night.isoformat(), "columns": list(columns),
                                                      "nights": rows})
        web.nights_made = {night: kept, **{k: v for k, v in list(web.nights_made.items())[:15] if k != night}}
    return _json(request, kept[2])


async def about(request: Request) -> Response:
    params.known(request.query_params, ())
    cfg = _web(request).cfg
    return _json(request, {"version": __version__, "silent_after_seconds": cfg.silent_after,
                           "tile_url": cfg.tile_url, "max_span_days": MAX_SPAN_DAYS, "max_nights": MAX_NIGHTS,
                           "nights": has_nights(),
                           "statuses": list(fleet.STATUSES)})


async def openapi(request: Request) -> Response:
    return _json(request, document(has_nights()), max_age=300)


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


# -- guards -----------------------------------------------------------------------------------------
class ReadOnly:
    """GET and HEAD only (and a CORS preflight when origins are configured): 405 otherwise,
    before any routing; security headers on every answer."""

    def __init__(self, app: Any, csp: str, preflight: bool) -> None:
        self.app, self.csp, self.preflight = app, csp.encode(), preflight

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":  # no websocket here
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method not in _ALLOWED and not (self.preflight and method == "OPTIONS"):
            await _error(405, f"{method} is not allowed here: this listener only reads (GET, HEAD)")(
                scope, receive, self._headers(send, allow=True))
            return
        await self.app(scope, receive, self._headers(send))

    def _headers(self, send: Any, allow: bool = False) -> Any:
        csp = self.csp

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"), (b"content-security-policy", csp),
                            (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
                if allow:
                    headers.append((b"allow", b"GET, HEAD"))
                message["headers"] = headers
            await send(message)
        return with_headers


def _csp(tile_url: str) -> str:
    img = "'self' data:"
    if tile_url.startswith(("http://", "https://")):
        scheme, rest = tile_url.split("://", 1)
        host = rest.split("/", 1)[0].replace("{s}", "*")
        img += f" {scheme}://{host}"
    return (f"default-src 'self'; img-src {img}; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(400, str(exc))


async def _not_found(request: Request, exc: Exception) -> Response:
    detail = str(exc) if isinstance(exc, NotFound) else "not found"
    return _error(404, detail)


async def _http_error(request: Request, exc: Any) -> Response:
    code = getattr(exc, "status_code", 500)
    if code == 404:
        return _error(404, f"no such page: {request.url.path[:100]}")
    if code == 405:
        return _error(405, "this listener only reads (GET, HEAD)")
    return _error(code, str(getattr(exc, "detail", "")) or "error")


async def _unavailable(request: Request, exc: Exception) -> Response:
    from loguru import logger

    logger.bind(ns="web").warning("Web: {} failed: {}: {}", request.url.path, type(exc).__name__, exc)
    return _error(503, "the data cannot be read now; try again later")


def has_nights() -> bool:
    """True when the night summaries (``tessdb_reports.nights``, with the sky library) are installed."""
    import importlib.util

    try:
        return importlib.util.find_spec("tessdb_reports.nights") is not None and reader_sky() is not None
    except ImportError:
        return False


def reader_sky() -> Any:
    from .reader import _sky

    return _sky()


def build(cfg: WebSettings, cache: FleetCache, reader: WebReader) -> Any:
    """The ASGI application."""
    from starlette.exceptions import HTTPException

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/api/v1/about", about, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        Route("/api/v1/photometers", photometers, methods=["GET"]),
        Route("/api/v1/photometers.geojson", photometers_geojson, methods=["GET"]),
        Route("/api/v1/photometers/{name}", photometer, methods=["GET"]),
        Route("/api/v1/photometers/{name}/readings", readings, methods=["GET"]),
        *([Route("/api/v1/photometers/{name}/nights", photometer_nights, methods=["GET"]),
           Route("/api/v1/nights/{date}", nights_of, methods=["GET"])] if has_nights() else []),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(GZipMiddleware, minimum_size=800)]
    if cfg.cors_origins:
        middleware.insert(0, Middleware(CORSMiddleware, allow_origins=list(cfg.cors_origins),
                                        allow_methods=list(_ALLOWED), allow_headers=[], max_age=3600))
    handlers = {BadRequest: _bad_request, NotFound: _not_found, HTTPException: _http_error,
                Exception: _unavailable}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    app.state.web = web = Web(cfg, cache, reader)
    cache.listeners.append(lambda: prepare(web))
    if cache.snapshot.read_at:
        prepare(web)
    return ReadOnly(app, _csp(cfg.tile_url), preflight=bool(cfg.cors_origins))
