"""The OpenAPI 3.1 document of the public API (``GET /api/v1/openapi.json``), written out
here rather than generated: it is the API's contract, and a test checks that every route
the listener serves is in it and every path in it is served."""

from __future__ import annotations

from typing import Any

from tessdb_core import __version__

from .config import MAX_NIGHTS, MAX_SPAN_DAYS
from .fleet import STATUSES

_ERROR = {"description": "One line naming the problem",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_NAME = {"name": "name", "in": "path", "required": True, "description": "The photometer's name (stars123)",
         "schema": {"type": "string", "maxLength": 64}}
_WINDOW = [
    {"name": "from", "in": "query", "description": "Start, included: a date (2026-12-01, 00:00 UTC) or an ISO "
     "8601 time (UTC without an offset). Default: `to` minus one day.", "schema": {"type": "string"}},
    {"name": "to", "in": "query", "description": "End, excluded; default now. At most "
     f"{MAX_SPAN_DAYS} days after `from`.", "schema": {"type": "string"}},
]
_NIGHTS = [
    {"name": "from", "in": "query", "description": "First evening (2026-12-01), included; default: 13 nights "
     "before `to`", "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "description": f"Last evening, included; default today. At most {MAX_NIGHTS} "
     "nights.", "schema": {"type": "string", "format": "date"}},
]
_FILTERS = [
    {"name": "status", "in": "query", "description": "Keep these statuses (comma-separated)",
     "schema": {"type": "string", "example": "silent,never"}},
    {"name": "silent", "in": "query", "description": "Keep those without a reading for at least this long "
     "(90m, 3h, 2d); never-seen ones included, retired ones not", "schema": {"type": "string"}},
    {"name": "country", "in": "query", "description": "Keep this country (any case)", "schema": {"type": "string"}},
]


def _ok(description: str, schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": schema}},
            "headers": {"ETag": {"schema": {"type": "string"}}}}


def _photometer_schema() -> dict[str, Any]:
    nullable = lambda t: {"type": [t, "null"]}  # noqa: E731
    return {"type": "object", "properties": {
        "name": {"type": "string"}, "mac": {"type": "string"}, "model": {"type": "string"},
        "nchannels": {"type": "integer"}, "place": nullable("string"), "town": nullable("string"),
        "country": nullable("string"), "longitude": nullable("number"), "latitude": nullable("number"),
        "newest": {**nullable("string"), "format": "date-time", "description": "Newest reading, UTC"},
        "magnitudes": {"type": "array", "items": {"type": "number"},
                       "description": "Of the newest reading, one per channel (mag/arcsec²)"},
        "status": {"enum": list(STATUSES)},
        "silent_since": {**nullable("string"), "format": "date-time"}}}


def document(nights: bool = True) -> dict[str, Any]:
    """The document; ``nights``: with the night summaries' paths (when they are installed)."""
    doc = _document()
    if not nights:
        for path in ("/api/v1/photometers/{name}/nights", "/api/v1/nights/{date}"):
            del doc["paths"][path]
    return doc


def _document() -> dict[str, Any]:
    fleet_meta = {"generated": {"type": "string", "format": "date-time"},
                  "silent_after_seconds": {"type": "number"},
                  "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                  "total": {"type": "integer"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "tessdb-core public API", "version": __version__,
                 "description": "Read-only: the photometers of the network, where they are, whether they "
                 "send, and their readings. No contact is ever shown. Every answer has an ETag; gzip on "
                 "request. Bad parameters: 400; unknown names: 404; only GET and HEAD."},
        "paths": {
            "/api/v1/about": {"get": {"summary": "This listener: version, silent_after, tile URL, limits",
                                      "responses": {"200": _ok("About", {"type": "object"})}}},
            "/api/v1/openapi.json": {"get": {"summary": "This document",
                                             "responses": {"200": _ok("OpenAPI 3.1", {"type": "object"})}}},
            "/api/v1/photometers": {"get": {
                "summary": "Every photometer, its site and its newest reading; status live, silent, never "
                           "or retired", "parameters": _FILTERS,
                "responses": {"200": _ok("The fleet", {"type": "object", "properties": {
                    **fleet_meta, "photometers": {"type": "array", "items": {"$ref": "#/components/schemas/Photometer"}}}}),
                    "400": _ERROR}}},
            "/api/v1/photometers.geojson": {"get": {
                "summary": "The same as a GeoJSON FeatureCollection (properties as above)", "parameters": _FILTERS,
                "responses": {"200": _ok("FeatureCollection", {"type": "object"}, "application/geo+json"),
                              "400": _ERROR}}},
            "/api/v1/photometers/{name}": {"get": {
                "summary": "One photometer: its row, its site, its versions (zero points and filters over "
                           "time) and its name's MAC history", "parameters": [_NAME],
                "responses": {"200": _ok("The photometer", {"$ref": "#/components/schemas/Detail"}),
                              "400": _ERROR, "404": _ERROR}}},
            "/api/v1/photometers/{name}/readings": {"get": {
                "summary": f"Its readings in [from, to), oldest first, streamed; at most {MAX_SPAN_DAYS} days",
                "parameters": [_NAME, *_WINDOW, {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]},
                                                 "description": "json (default): columns and rows; csv: a header line"}],
                "responses": {"200": {"description": "The readings", "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Readings"}},
                    "text/csv": {"schema": {"type": "string"}}}},
                    "400": _ERROR, "404": _ERROR}}},
            "/api/v1/photometers/{name}/nights": {"get": {
                "summary": "Its night summaries: one row per night with readings (counts, clear fraction, "
                           "dark clear brightness per channel, the Moon, one word for the sky)",
                "parameters": [_NAME, *_NIGHTS],
                "responses": {"200": _ok("The nights", {"$ref": "#/components/schemas/Nights"}),
                              "400": _ERROR, "404": _ERROR}}},
            "/api/v1/nights/{date}": {"get": {
                "summary": "Every photometer's summary of one night (the evening's local date)",
                "parameters": [{"name": "date", "in": "path", "required": True,
                                "schema": {"type": "string", "format": "date"}}],
                "responses": {"200": _ok("The night", {"$ref": "#/components/schemas/Nights"}), "400": _ERROR}}},
        },
        "components": {"schemas": {
            "Nights": {"type": "object", "properties": {
                "columns": {"type": "array", "items": {"type": "string"}},
                "nights": {"type": "array", "items": {"type": "object"},
                           "description": "One object per photometer and night, keyed by the columns"}}},
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
            "Photometer": _photometer_schema(),
            "Detail": {"allOf": [{"$ref": "#/components/schemas/Photometer"}, {"type": "object", "properties": {
                "site": {"type": "object"},
                "versions": {"type": "array", "items": {"type": "object", "properties": {
                    "since": {"type": "string"}, "until": {"type": ["string", "null"]},
                    "zp": {"type": "array", "items": {"type": "number"}},
                    "filters": {"type": "array", "items": {"type": "string"}}}}},
                "mappings": {"type": "array", "items": {"type": "object"}}}}]},
            "Readings": {"type": "object", "properties": {
                "name": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"},
                "columns": {"type": "array", "items": {"type": "string"}},
                "rows": {"type": "array", "items": {"type": "array"}}}},
        }},
    }
