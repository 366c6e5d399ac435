"""Which URLs this store speaks: plain file paths and ``sqlite:///path``."""

from __future__ import annotations

from pathlib import Path


def sqlite_path(url: str) -> Path | None:
    """The database file named by ``url``, or None when the URL is for another database.

    ``sqlite:///rel/path`` is relative and ``sqlite:////abs/path`` absolute (the
    SQLAlchemy convention the 5.x tools used; ``sqlite+driver://`` is accepted too)."""
    if not url:
        return None
    if "://" not in url:
        return Path(url).expanduser()
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    if scheme != "sqlite" and not scheme.startswith("sqlite+"):
        return None
    if not rest.startswith("/") or rest == "/":
        return None  # sqlite://host/... has no meaning here; sqlite:/// alone names no file
    return Path(rest[1:]).expanduser()
