"""The ``[web]`` settings: their defaults, their validators and the typed view the listener reads.

The public listener is off by default (``enabled = false``): an operator turns it on and
puts it behind a reverse proxy with TLS (docs/operations.md).  None of the keys is
reloadable: the listener reads them when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dynaconf import Validator

from tessdb_core.durations import parse_duration
from tessdb_core.errors import BadValue
from tessdb_core.settings import is_bool, is_int, is_str, is_str_list, rule

SECTION = "web"

#: ``[web]``: every key and its default (documented in settings/settings.toml and docs/web.md)
DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "host": "127.0.0.1",
    "port": 8090,
    "cors_origins": [],
    "silent_after": "3h",
    "tile_url": "",
    "max_connections": 100,
}

#: the longest ``from``..``to`` window of one readings request (a month and a day)
MAX_SPAN_DAYS = 32
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


def validators() -> list[Validator]:
    key = f"{SECTION}."
    return [
        rule(f"{key}enabled", "true or false", is_bool),
        rule(f"{key}host", "an address to listen on", lambda v: is_str(v) and v != ""),
        rule(f"{key}port", "an integer port 1..65535", is_int(1, 65535)),
        rule(f"{key}cors_origins", "a list of origins such as \"https://map.example.org\", or [\"*\"]", _origins),
        rule(f"{key}silent_after", "a duration such as 90m or 3h, 1s or more", _duration_at_least(1.0)),
        rule(f"{key}tile_url", "a tile URL template with {z}, {x} and {y}, or empty for the outlines only",
             _tile_url),
        rule(f"{key}max_connections", "an integer 1..10000", is_int(1, 10_000)),
    ]


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
