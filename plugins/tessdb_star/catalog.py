"""Reading the catalogue (name_to_mac_t, tess_t) with the one name-mapping SELECT.

Why one: the catalogue load of both stores, the maintenance view, the reports and
the registration re-check all read name mappings; they read them here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tessdb_core import Catalog, NameMapping, Version

from .dialect import Connection
from .instruments import mapping_from_row, version_from_row
from .layout import quote
from .tables import MAPPING_KEYS

#: every name_to_mac_t column tessdb reads (``rowid`` is implicit in 4.x databases)
MAPPING_SELECT = f"SELECT {', '.join(MAPPING_KEYS)} FROM name_to_mac_t"


def mapping_rows(conn: Connection, tail: str = "", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """name_to_mac_t rows as dicts of text; ``tail`` is what follows ``FROM name_to_mac_t``
    (`` WHERE ... ORDER BY ...``) with ``?`` placeholders."""
    return [dict(zip(MAPPING_KEYS, row)) for row in conn.execute(MAPPING_SELECT + tail, list(params)).fetchall()]


def read_mappings(conn: Connection, tail: str = " ORDER BY rowid", params: Sequence[Any] = ()) -> list[NameMapping]:
    return [mapping_from_row(row) for row in mapping_rows(conn, tail, params)]


def read_versions(conn: Connection, columns: Sequence[str], tail: str = " ORDER BY tess_id",
                  params: Sequence[Any] = ()) -> list[Version]:
    """tess_t rows (every column in ``columns``, the table's own) as Versions."""
    cols = list(columns)
    rows = conn.execute(f"SELECT {', '.join(map(quote, cols))} FROM tess_t{tail}", list(params)).fetchall()
    return [version_from_row(dict(zip(cols, row))) for row in rows]


def read_catalog(conn: Connection, tess_columns: Sequence[str]) -> Catalog:
    """Every mapping and version (inside the caller's read transaction: one snapshot)."""
    return Catalog(mappings=read_mappings(conn), versions=read_versions(conn, tess_columns))
