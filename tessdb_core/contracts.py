"""The objects that stateful stages return from their factory hooks.

Stateless stages are plain hook calls; stateful ones (the filters and the store)
are objects made by a factory hook and composed by the engine.  These protocols
are their whole contract: the engine calls nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from .catalog import Catalog, RegistrationPlan, Version
from .events import Reading


@dataclass(slots=True)
class ResolvedReading:
    """A reading attributed to the instrument version valid at its own timestamp."""

    reading: Reading
    version: Version
    units_id: int


@dataclass(slots=True)
class WriteReport:
    """What a batch write did.  Every row of the batch is in exactly one bucket."""

    stored: int = 0
    duplicates: list[ResolvedReading] = field(default_factory=list)
    failed: list[tuple[ResolvedReading, str]] = field(default_factory=list)


class StoreError(Exception):
    """A store cannot do what was asked (bad file, foreign tables, unreachable server)."""


class StoreConflict(StoreError):
    """A registration plan was decided on a catalogue that another writer (a second
    collector, a maintenance command) has changed since: nothing was written; reload
    the catalogue and decide again."""


class StoreUnavailable(StoreError):
    """The database cannot take writes now, for a reason that is not the data's own
    fault: a full disk, a read-only file, an I/O error, a lost server connection.
    Nothing was written: the caller keeps its data (in the inbox) and tries again
    later, with a backoff.  A store raises it, never quarantines because of it."""


class StoreBusy(StoreUnavailable):
    """The database is held by someone else for longer than the store's patience.
    Nothing was written: the caller keeps its data and tries again later."""


@runtime_checkable
class Store(Protocol):
    """One database.  Only stores speak SQL."""

    #: where it points (a path or URL), for logs and messages
    url: str

    def initialise(self) -> str:
        """Create the schema and preload if needed; return a one-line report.
        Idempotent; raises StoreError for a file that is not ours to touch."""

    def open(self) -> None:
        """Connect (and check the schema is usable, without altering it)."""

    def close(self) -> None:
        """Close every connection (pause closes the store)."""

    def load_catalog(self) -> Catalog:
        """Read every name mapping and instrument version."""

    def apply_registration(self, plan: RegistrationPlan) -> RegistrationPlan:
        """Apply the plan in one transaction; return it with the new rows' keys filled."""

    def write_readings(self, batch: Sequence[ResolvedReading]) -> WriteReport:
        """Insert a batch idempotently: duplicates are reported, never raised."""

    def set_patience(self, seconds: float | None) -> None:
        """How long to wait for a database held by someone else before raising
        StoreBusy (None: wait as long as it takes, the default)."""


@runtime_checkable
class ReadingFilter(Protocol):
    """One link of the filter chain; it may hold readings back (look-ahead)."""

    #: the name used in ``[filter] chain`` and in the counters
    name: str

    def process(self, reading: Reading) -> tuple[Sequence[Reading], Sequence[Reading]]:
        """Take one reading; return (released, dropped).  Released readings go on
        down the chain in order; dropped ones are counted, never quarantined."""

    def flush(self) -> Sequence[Reading]:
        """Release every reading held back (graceful stop, end of an ingest)."""

    def reconfigure(self, settings: Any) -> None:
        """Apply a reloaded settings snapshot."""

    def state(self) -> dict[str, Any]:
        """A JSON-able view of the filter's state (admin API, debugging); the photometers
        it holds state for are the keys of its ``"photometers"`` entry, if any."""


@runtime_checkable
class ConfigurableFilter(ReadingFilter, Protocol):
    """A filter with per-photometer options and a view of its state, served by the admin
    API (``/v1/filter/{name}`` and ``/v1/filter/{name}/config``).  Optional: a filter
    without these methods is simply not shown there."""

    def view(self, name: str) -> dict[str, Any]:
        """This filter's part of ``GET /v1/filter/{name}``: one key (its section of the
        reference's body, e.g. ``"sampler"``) mapping to a JSON-able dict."""

    def options(self, name: str) -> dict[str, Any]:
        """The options this filter lets an operator set for one photometer, with their
        values in force (``GET /v1/filter/{name}/config``)."""

    def configure(self, name: str, options: Mapping[str, Any]) -> None:
        """Apply the given options (only keys of :meth:`options`); raise ValueError naming
        the option and the accepted values when one is not acceptable, before changing
        anything."""
