"""The web's reads of the database: one store of its own, read-only, through the store
plugin's ``"reports"`` queries (the web speaks no SQL).

Read-only: a SQLite connection is put in ``query_only`` mode, a PostgreSQL session's
transactions are read-only (a reconnection after a lost server opens a new session without it:
give ``tessdb-core web`` a role with SELECT rights only, docs/operations.md).  Nothing here
asks for a write transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timezone
from typing import Any

from tessdb_core import NotFound, ReportQueries, load_plugins

from .fleet import Instrument, Newest, Site

#: the readings' public columns of channels 2-4 (a TESS4C)
_C_EXTRA = ("frequency2", "magnitude2", "frequency3", "magnitude3", "frequency4", "magnitude4")
#: the version fields shown in a photometer's history
_VERSION_FIELDS = ("mac_address", "model", "firmware", "nchannels", "valid_state")


def open_store(settings: Any, url: str, pm: Any | None = None) -> tuple[Any, Any]:
    """(store, reports queries) for ``url``, opened read-only.  ``pm``: the plugin manager
    (the running service's plugin is handed none: it builds one from the same entry points)."""
    if pm is None:
        pm = load_plugins(settings)
    store = pm.hook.tessdb_store(url=url, settings=settings)
    if store is None:
        raise NotFound(f"no installed store plugin handles {url!r}")
    store.open()
    _read_only(store)
    queries = pm.hook.tessdb_queries(store=store, interface=ReportQueries, settings=settings)
    if queries is None:
        store.close()
        raise NotFound(f"no installed plugin provides reports queries for {url!r}")
    return store, queries


def _read_only(store: Any) -> None:
    """Make the store's session read-only: ``query_only`` on SQLite, the session's default
    transaction read-only on PostgreSQL (set after the store's own session set-up, which
    makes temporary tables)."""
    def switch(conn: Any) -> None:
        if isinstance(conn, sqlite3.Connection):
            conn.execute("PRAGMA query_only = ON")
        else:
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    store.run("web: read-only", switch)


def _utc(dt: datetime) -> float:
    return dt.replace(tzinfo=timezone.utc).timestamp()


def _text(dt: datetime | None) -> str | None:
    return None if dt is None or dt.year >= 2999 else dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sky() -> Any | None:
    """The sky library's API (tessdb_sky, its ``sky`` extra), or None without it: the readings
    are then served without their context columns."""
    try:
        from tessdb_sky import api
    except ImportError:
        return None
    return api


class WebReader:
    """What the listener reads from the database."""

    def __init__(self, queries: Any, settings: Any = None) -> None:
        self.q = queries
        self.settings = settings
        self.sky = _sky()
        self.cloud = self.sky.cloud_settings(settings) if self.sky is not None else None

    def instruments(self) -> dict[str, Instrument]:
        out = {}
        for r in self.q.fleet():
            site = None
            if any(r[k] is not None for k in ("place", "town", "country", "longitude", "latitude")):
                site = Site(r["place"], r["town"], r["country"], r["longitude"], r["latitude"])
            out[r["name"]] = Instrument(r["name"], r["mac_address"], r["model"], int(r["nchannels"] or 1), site,
                                        bool(r.get("retired")))
        return out

    def newest(self) -> dict[str, Newest]:
        return {name: Newest(_utc(t), tuple(m for m in mags if m is not None))
                for name, (t, mags) in self.q.newest_readings().items()}

    def detail(self, name: str) -> dict[str, Any]:
        """The versions of the photometer (ZP and filter history) and its name's mappings."""
        versions = self.q.versions_of(name)
        if not versions:
            raise NotFound(f"no photometer named {name!r}")
        history = []
        for v in versions:
            n = int(v.get("nchannels") or 1)
            item = {k: v.get(k) for k in _VERSION_FIELDS}
            item.update({"since": _text(v["since"]), "until": _text(v["until"]),
                         "zp": [v.get(f"zp{i}") for i in range(1, n + 1)],
                         "filters": [v.get(f"filter{i}") for i in range(1, n + 1)]})
            history.append(item)
        names = [{"mac_address": m["mac_address"], "since": _text(m["since"]), "until": _text(m["until"]),
                  "valid_state": m["valid_state"]} for m in self.q.mappings(name)]
        return {"versions": history, "mappings": names}

    def readings(self, name: str, nchannels: int, since: datetime, until: datetime
                 ) -> tuple[tuple[str, ...], Iterator[tuple]]:
        """(columns, rows) of the readings in [since, until), oldest first, read lazily in pages;
        with the sky library, each with its context (the Sun, the Moon, the sky state, the night,
        the cloud verdict: ``tessdb_sky.api.CONTEXT_COLUMNS``), computed after the query."""
        keys = ("timestamp", "sequence_number", "frequency", "magnitude", "sky_temperature", "box_temperature",
                *(_C_EXTRA if nchannels > 1 else ()))
        sky = self.sky
        context = tuple(sky.CONTEXT_COLUMNS) if sky is not None else ()
        sites: dict[Any, Any] = {}

        def site(row: dict[str, Any]) -> Any:
            lid = row["location_id"]
            if lid not in sites:  # the location's zone and height, read once per request
                sites[lid] = sky.Site.of(self.q.locations([lid]).get(lid)) if lid is not None else None
            return sites[lid]

        def rows() -> Iterator[tuple]:
            source = self.q.export_rows(name, since, until)
            if sky is not None:
                source = sky.annotate(source, time=lambda r: r["timestamp"], photometer=lambda r: r["mac_address"],
                                      site=site, magnitude=lambda r: r["magnitude"], tsky_key="sky_temperature",
                                      tamb_key="box_temperature", settings=self.cloud)
            for r in source:
                t = r["timestamp"]
                r["timestamp"] = (t if t.endswith("Z") else t + "Z") if isinstance(t, str) else t
                yield tuple(r[k] for k in keys) + tuple(r[c] for c in context)
        return keys + context, rows()

    # -- night summaries (tessdb_reports.nights, with the sky library) ------------------------------
    def nights(self, names: list[str], first: date, last: date) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
        """(columns, rows) of the night summaries of ``names`` for the evenings ``first`` ..
        ``last``: one row per photometer and night that has readings."""
        from tessdb_reports.nights import NIGHT_COLUMNS, night_summaries

        rows = list(night_summaries(self.q, names, first, last, self.settings))
        return tuple(NIGHT_COLUMNS), rows
