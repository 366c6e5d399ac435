"""INSERT statements that name their columns and adapt to the layout found.

4.x migrated databases keep older column orders and may lack optional columns;
building each INSERT from ``PRAGMA table_info`` once at open keeps the hot path
to one ``executemany`` whatever the layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import itemgetter
from typing import Callable, Iterable, Mapping, Sequence

from tessdb_core.contracts import StoreError


@dataclass(frozen=True, slots=True)
class InsertPlan:
    """An INSERT for one table plus, when columns are missing, how to cut full rows down."""

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
