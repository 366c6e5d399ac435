"""Entry point ``tess_filters``: the decimation and look-ahead daylight filters."""

from __future__ import annotations

from typing import Any

from tessdb_core import hookimpl

from .filters import Daylight, Decimation


@hookimpl
def tessdb_filters(settings) -> list[Any]:
    return [Decimation(settings), Daylight(settings)]
