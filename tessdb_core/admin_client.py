"""The one client of the running service's admin API (``pause``, ``stats``, the demo, maintenance).

Why one: the address rule (a wildcard listener is reached on the loopback), the bearer
token, the JSON body and the one-line error naming the URL were written three times.
Only the standard library: ``tessdb-core stats`` must start fast.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

__all__ = ["AdminClient", "ServiceUnreachable"]


class ServiceUnreachable(OSError):
    """No service answers on the admin address, or it refused the request (the reason is in the message)."""


class AdminClient:
    """Requests to one service's admin API at ``host:port`` (with its ``[http] token``, if any)."""

    def __init__(self, host: str, port: int, token: str | None = None, timeout: float = 35.0):
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"  # a service listening on every address answers on the loopback
        self.base_url = f"http://{host}:{port}"
        self.token = token or None
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Any, timeout: float = 35.0) -> "AdminClient":
        """The client of the service these settings describe (``[http] host``, ``port``, ``token``)."""
        http = settings.http
        return cls(http.host, int(http.port), http.get("token") or None, timeout)

    def request(self, method: str, path: str, body: Any = None, timeout: float | None = None) -> Any:
        """One call; the decoded JSON answer, or ServiceUnreachable with a one-line reason."""
        url = self.base_url + path
        data = json.dumps(body).encode() if body is not None else (b"{}" if method != "GET" else None)
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout if timeout is None else timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail", exc.reason)
            except (ValueError, AttributeError):
                detail = exc.reason
            hint = ""
            if exc.code == 401:  # a token changed in the settings: the running service still has the old one
                hint = ("; if [http] token was just changed, reload by signal, which needs no token: "
                        "`systemctl reload tessdb-core` (or `kill -HUP` the service)")
            raise ServiceUnreachable(f"the service at {url} answered {exc.code}: {detail}{hint}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServiceUnreachable(f"no tessdb-core service answers at {url} ({reason}); is it running?") from None

    def status(self, path: str = "/health/live", timeout: float = 2.0) -> int | None:
        """The HTTP status of ``GET path`` (a refusal such as 401 or 503 included), or None
        when nothing answers: "is a service there?" without raising."""
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=timeout) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError, ValueError):
            return None
