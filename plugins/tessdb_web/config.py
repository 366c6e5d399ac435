"""The ``[web]`` settings, declared once, and the typed view the listener reads.

The public listener is off by default (``enabled = false``): an operator turns it on and
puts it behind a reverse proxy with TLS (docs/operations.md).  None of the keys is
reloadable: the listener reads them when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tessdb_core import BadValue, Setting, SettingsSection, is_bool, is_int, is_str, is_str_list, parse_duration

SECTION = "web"

#: the longest ``from``..``to`` window of one readings request (a month and a day)
MAX_SPAN_DAYS = 32
#: the most nights of one photometer's summaries per request (a year)
MAX_NIGHTS = 366
#: seconds a night summary of the whole fleet is kept before it is computed again
NIGHTS_KEPT = 300.0
#: seconds a client may take to send its request, and an idle kept-alive connection lives
REQUEST_TIMEOUT = 10.0
#: seconds between two readings of the catalogue and the sites (names, models, places)
CATALOGUE_EVERY = 60.0
#: seconds between two looks at the service's newest readings (in memory, no query)
NEWEST_EVERY = 2.0


def seconds(text: Any) -> float:
    if not isinstance(text, str):
        raise BadValue(f"{text!r} is not a duration")
    return parse_duration(text).total_seconds()


def _duration_at_least(lo: float):
    def check(v: Any) -> bool:
        try:
            return seconds(v) >= lo
        except ValueError:
            return False
    return check


def _tile_url(v: Any) -> bool:
    return v == "" or (isinstance(v, str) and v.startswith(("http://", "https://", "/")) and "{z}" in v
                       and "{x}" in v and "{y}" in v and not any(c.isspace() or c in "\"'<>" for c in v))


def _origins(v: Any) -> bool:
    return is_str_list(v) and all(o == "*" or (o.startswith(("http://", "https://")) and "/" not in o[8:])
                                  for o in v)


#: ``[web]``: every key, declared once (docs/settings.md and docs/web.md)
WEB_SECTION = SettingsSection(SECTION, "The public, read-only listener with the network's map, its status page and "
                              "a JSON API (plugin web, docs/web.md): GET and HEAD only, no control, no metrics, no "
                              "secret, no contact.", (
    Setting("enabled", False, "Serve it from the running service (`tessdb-core web` serves it on its own, "
            "read-only).", "true or false", is_bool),
    Setting("host", "127.0.0.1", "Address to listen on; keep it on loopback behind a reverse proxy with TLS.",
            "an address to listen on", lambda v: is_str(v) and v != ""),
    Setting("port", 8090, "Port to listen on.", "an integer port 1..65535", is_int(1, 65535), unit="port number"),
    Setting("cors_origins", [], 'Origins allowed to read the API from a browser page elsewhere (CORS); ["*"] for '
            "any.", 'a list of origins such as "https://map.example.org", or ["*"]', _origins),
    Setting("silent_after", "3h", "A photometer whose newest reading is older than this is shown as silent.",
            "a duration such as 90m or 3h, 1s or more", _duration_at_least(1.0), unit="duration"),
    Setting("tile_url", "", 'Map tiles under the country outlines, e.g. "https://tiles.example.org/{z}/{x}/{y}.png"; '
            "empty: the outlines shipped with the plugin only.",
            "a tile URL template with {z}, {x} and {y}, or empty for the outlines only", _tile_url),
    Setting("max_connections", 100, "Most connections served at once; beyond it a request gets 503.",
            "an integer 1..10000", is_int(1, 10_000), unit="connections"),
))

#: the defaults, by key
DEFAULTS: dict[str, Any] = WEB_SECTION.defaults()


@dataclass(frozen=True)
class WebSettings:
    """``[web]`` as the listener uses it."""

    enabled: bool
    host: str
    port: int
    cors_origins: tuple[str, ...]
    silent_after: float
    tile_url: str
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Any) -> "WebSettings":
        w = settings.get(SECTION) or {}
        get = lambda k: w.get(k, DEFAULTS[k])  # noqa: E731  (a snapshot built without the plugin)
        return cls(bool(get("enabled")), str(get("host")), int(get("port")), tuple(get("cors_origins")),
                   seconds(get("silent_after")), str(get("tile_url")), int(get("max_connections")))
