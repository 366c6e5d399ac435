"""What a database holds, compared with the star schema: its tables, and the INSERTs its columns take.

Why: databases made by the 4.x server, the 5.x tools and tessdb-core differ (older
column orders, missing optional columns, an implicit ``rowid``), and must be used
as they are, never altered.  Everything here only reads, so ``initialise`` can
decide to change nothing and ``open`` can plan each INSERT once, keeping the hot
path to one ``executemany`` whatever the layout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

from tessdb_core import StoreError

from .tables import (C_COLUMNS, LEGACY_TABLES, MAPPING_COLUMNS, OPTIONAL_READING_COLUMNS, OPTIONAL_VERSION_COLUMNS,
                     OUR_TABLES, VERSION_COLUMNS, W_COLUMNS)


# -- which tables ------------------------------------------------------------------------------------
@dataclass(slots=True)
class SchemaState:
    """What a database holds, compared with the tessdb schema."""

    tables: frozenset[str]
    others: frozenset[str] = field(default_factory=frozenset)  # views, indexes, triggers
    #: tables that may sit beside ours without making the database foreign
    tolerated: frozenset[str] = LEGACY_TABLES

    @property
    def empty(self) -> bool:
        return not self.tables and not self.others

    @property
    def missing(self) -> list[str]:
        return sorted(OUR_TABLES - self.tables)

    @property
    def foreign(self) -> list[str]:
        return sorted(self.tables - OUR_TABLES - self.tolerated)

    @property
    def complete(self) -> bool:
        return not self.missing

    def check_complete(self, where: str) -> None:
        """StoreError unless every tessdb table is there (``init`` then touches nothing)."""
        if self.complete:
            return
        if not self.tables & OUR_TABLES:
            raise StoreError(f"{where} is not a tessdb database (it has foreign tables: "
                             f"{', '.join(self.foreign) or ', '.join(sorted(self.others))}); not touching it")
        raise StoreError(f"{where} has only part of the tessdb schema (missing "
                         f"{', '.join(self.missing)}); not touching it")

    def already_initialised(self, where: str, kind: str) -> str:
        """The one-line report of ``init`` on a complete database."""
        extra = f"; other tables left alone: {', '.join(self.foreign)}" if self.foreign else ""
        return f"{where} already initialised ({kind}); nothing changed{extra}"


# -- which columns -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InsertPlan:
    """An INSERT for one table (``?`` placeholders) plus, when columns are missing, how to
    cut full rows down."""

    table: str
    columns: tuple[str, ...]
    sql: str
    project: Callable[[tuple], tuple] | None = None

    def rows(self, rows: Sequence[tuple]) -> Sequence[tuple]:
        """Rows built in the full column order, cut to the columns this table has."""
        if self.project is None:
            return rows
        return [self.project(r) for r in rows]

    def row(self, row: tuple) -> tuple:
        return row if self.project is None else self.project(row)


def insert_plan(table: str, wanted: Sequence[str], present: Mapping[str, bool],
                optional: Iterable[str] = ()) -> InsertPlan:
    """Plan an INSERT of ``wanted`` columns into a table whose columns are ``present``
    (name -> required).  Raise StoreError if the table lacks a needed column or has a
    required one that tessdb does not fill."""
    optional = frozenset(optional)
    if not present:
        raise StoreError(f"table {table} does not exist")
    lacking = [c for c in wanted if c not in present and c not in optional]
    if lacking:
        raise StoreError(f"table {table} lacks column(s) {', '.join(lacking)}: not a 4.x/5.x tessdb layout")
    unfilled = [c for c, required in present.items() if required and c not in wanted]
    if unfilled:
        raise StoreError(f"table {table} has NOT NULL column(s) without default that tessdb "
                         f"does not fill: {', '.join(unfilled)}")
    keep = [i for i, c in enumerate(wanted) if c in present]
    cols = tuple(wanted[i] for i in keep)
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    project = None if len(keep) == len(wanted) else _projector(keep)
    return InsertPlan(table, cols, sql, project)


def _projector(keep: list[int]) -> Callable[[tuple], tuple]:
    if len(keep) == 1:
        i = keep[0]
        return lambda row: (row[i],)
    return itemgetter(*keep)


@dataclass(frozen=True, slots=True)
class Layout:
    """The INSERTs of one open database, planned once from its columns."""

    #: every tess_t column, in table order (the catalogue reads them all)
    tess_columns: tuple[str, ...]
    mapping: InsertPlan
    version: InsertPlan
    w: InsertPlan
    #: None when the database has no tess_readings4c_t (some 4.x databases)
    c: InsertPlan | None


def read_layout(columns: Callable[[str], Mapping[str, bool]]) -> Layout:
    """Plan the INSERTs from the columns found (``columns(table)``: name -> required, as
    ``Dialect.columns`` gives them); StoreError for a layout tessdb cannot fill."""
    tess_cols = columns("tess_t")
    c_cols = columns("tess_readings4c_t")
    return Layout(
        tess_columns=tuple(tess_cols),
        mapping=insert_plan("name_to_mac_t", MAPPING_COLUMNS, columns("name_to_mac_t")),
        version=insert_plan("tess_t", VERSION_COLUMNS, tess_cols, OPTIONAL_VERSION_COLUMNS),
        w=insert_plan("tess_readings_t", W_COLUMNS, columns("tess_readings_t"), OPTIONAL_READING_COLUMNS),
        c=insert_plan("tess_readings4c_t", C_COLUMNS, c_cols, OPTIONAL_READING_COLUMNS) if c_cols else None,
    )


def quote(name: str) -> str:
    """A column name as an SQL identifier (legacy layouts have odd names)."""
    return '"' + name.replace('"', '""') + '"'

