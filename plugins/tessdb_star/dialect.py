"""The small dialect: what the shared queries need a database to say its own way.

Why: the queries of the star schema (catalogue, registrations, maintenance,
reports) are written once, in SQL both databases understand (``?`` placeholders,
row values, ``||``, ``LIMIT ?``), and run on a connection that speaks that style
(``sqlite3`` does; the PostgreSQL store hands a translating wrapper).  What is left
is listed here: how a table's columns are listed, how a new row's key comes back,
how the next free id is computed, which error means "this row was refused", and
whether a statement can be undone alone.  A store implements one :class:`Dialect`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol, TypeVar

from .ddl import TypeMap
from .layout import SchemaState

T = TypeVar("T")


class Connection(Protocol):
    """A connection in the ``sqlite3`` calling style: ``?`` placeholders, a cursor back
    (``fetchone``, ``fetchall``, iteration, ``rowcount``)."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...


class Runner(Protocol):
    """What the query objects need of a store: ``action(conn)`` run as one transaction (a write
    one, holding the store's write lock, when ``write``), with the store's lock waits and retries."""

    def run(self, what: str, action: Callable[[Any], T], write: bool = False) -> T: ...


class Dialect:
    """What differs between the databases holding the star schema (override every method
    that raises NotImplementedError)."""

    #: for messages
    name: str = "?"
    #: how the DDL spells the types
    types: TypeMap = TypeMap()
    #: the driver's "this row breaks a constraint" errors
    integrity_errors: tuple[type[BaseException], ...] = ()

    def columns(self, conn: Connection, table: str) -> dict[str, bool]:
        """Column name -> NOT NULL without default, in table order (empty if no such table)."""
        raise NotImplementedError

    def schema_state(self, conn: Connection) -> SchemaState:
        """Which tables (and other objects) the database holds."""
        raise NotImplementedError

    def insert(self, conn: Connection, sql: str, values: Sequence[Any], key: str) -> Any:
        """Run the one-row INSERT ``sql`` and return the new row's ``key``."""
        raise NotImplementedError

    def insert_next_id(self, conn: Connection, table: str, key: str, cols: Sequence[str],
                       values: Sequence[Any]) -> int:
        """Insert with the next id, never below 1: the preload holds -1 (Unknown), and 0 reads
        as "no value" to many tools.  The caller holds the write lock, so no one takes it meanwhile."""
        raise NotImplementedError

    def savepoint(self, conn: Connection) -> AbstractContextManager[Any]:
        """A block whose failure undoes only itself (where the database needs one to go on)."""
        return nullcontext()
