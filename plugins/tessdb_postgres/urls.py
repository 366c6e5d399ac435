"""Which URLs this store speaks: ``postgresql://`` and ``postgres://`` (libpq URIs)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit


def postgres_conninfo(url: str) -> str | None:
    """The libpq connection URI for ``url``, or None when the URL is for another database.

    ``postgresql+driver://`` (the SQLAlchemy spelling) is accepted and passed on as
    ``postgresql://``; everything after the scheme (user, password, host, port, database,
    ``?sslmode=...&connect_timeout=...``) is libpq's."""
    if not url or "://" not in url:
        return None
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    if scheme in ("postgresql", "postgres"):
        return url
    if scheme.startswith(("postgresql+", "postgres+")):
        return "postgresql://" + rest
    return None


def redact(url: str) -> str:
    """The URL with its password hidden, for logs and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
