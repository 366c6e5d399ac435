"""Talking to the running service through its admin API (for `pause`, `stats`, ...)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class ServiceUnreachable(OSError):
    """No service answers on the admin address of the settings."""


def request(settings: Any, method: str, path: str, body: Any = None, timeout: float = 35.0) -> Any:
    """One admin API call; raise with a one-line reason when it fails."""
    host = settings.http.host
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"http://{host}:{settings.http.port}{path}"
    data = json.dumps(body).encode() if body is not None else (b"{}" if method != "GET" else None)
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    if settings.http.token:
        req.add_header("Authorization", f"Bearer {settings.http.token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail", exc.reason)
        except ValueError:
            detail = exc.reason
        hint = ""
        if exc.code == 401:  # a token changed in the settings: the running service still has the old one
            hint = ("; if [http] token was just changed, reload by signal, which needs no token: "
                    "`systemctl reload tessdb-core` (or `kill -HUP` the service)")
        raise ServiceUnreachable(f"the service at {url} answered {exc.code}: {detail}{hint}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceUnreachable(f"no tessdb-core service answers at {url} ({reason}); is it running?") from None
