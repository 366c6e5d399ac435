"""Entry point ``tess_decode``: TESS-W and TESS4C payloads -> typed events."""

from __future__ import annotations

from tessdb_core import hookimpl

from .decode import decode


@hookimpl
def tessdb_decode(message, settings):
    return decode(message, settings)
