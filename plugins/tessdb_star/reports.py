"""The queries of the scientist tools (``tessdb_reports``), on any store.

``StarReports(store, dialect)`` implements ``tessdb_core.ReportQueries``: it
returns plain dicts (the shapes are documented there) and never formats anything.
Every method runs through the store's ``run`` (one read transaction, lock waits and
retries; SQL in the portable ``?`` style of :mod:`.dialect`); long exports are read
page by page, each page its own transaction, so the live service is never held up
for long.

Readings are attributed to a name through the name -> MAC mapping valid at the
reading's own timestamp (half-open ``valid_since <= ts < valid_until``), so a name
keeps its readings across a replacement and a renamed MAC's older readings stay
with its older name.  Reading timestamps have a resolution of one second
(``date_id``/``time_id``); windows are turned into integer keys
``date_id * 1000000 + time_id``, a bound between two seconds rounding up.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from .catalog import mapping_rows
from .dialect import Connection, Dialect, Runner
from .tables import C_MEASURES, W_MEASURES
from .timestamps import parse_ts

#: legacy tess_t columns tess-ida reads, with the 4.x defaults when a 5.x database lacks them
_LEGACY_TESS = {"cover_offset": 0.0, "fov": 17.0, "azimuth": 0.0, "altitude": 90.0}
_TESS_COLUMNS = ("tess_id", "mac_address", "valid_since", "valid_until", "valid_state", "model", "firmware",
                 "authorised", "registered", "nchannels", "zp1", "filter1", "offset1", "zp2", "filter2", "offset2",
                 "zp3", "filter3", "offset3", "zp4", "filter4", "offset4", "location_id", "observer_id")
_LOCATION_COLUMNS = ("location_id", "longitude", "latitude", "elevation", "place", "town", "sub_region", "region",
                     "country", "timezone", "contact_name", "contact_email", "organization")
_OBSERVER_COLUMNS = ("observer_id", "type", "name", "affiliation", "acronym", "website_url", "email")

_LAYOUT_TABLES = ("tess_t", "location_t", "observer_t", "tess_readings4c_t")

_KEY = 1_000_000
_NO_TESS_ID = -(2 ** 62)


def ts_key(dt: datetime) -> int:
    """The first whole second at or after ``dt``, as ``date_id * 1000000 + time_id``."""
    if dt.microsecond:
        dt = dt.replace(microsecond=0) + timedelta(seconds=1)
    return (dt.year * 10000 + dt.month * 100 + dt.day) * _KEY + dt.hour * 10000 + dt.minute * 100 + dt.second


def key_datetime(date_id: int, time_id: int) -> datetime:
    return datetime(date_id // 10000, date_id // 100 % 100, date_id % 100,
                    time_id // 10000, time_id // 100 % 100, time_id % 100)


_MIN_KEY = ts_key(datetime(1, 1, 1))
_MAX_KEY = ts_key(datetime(9999, 12, 31, 23, 59, 59))


def _split(key: int) -> tuple[int, int]:
    return key // _KEY, key % _KEY


class StarReports:
    """The ``ReportQueries`` for one open store."""

    def __init__(self, store: Runner, dialect: Dialect, page_size: int = 5000) -> None:
        self.store = store
        self.dialect = dialect
        self.page_size = page_size
        self._layout: dict[str, dict[str, bool]] | None = None

    # -- layout of this database (4.x, 5.x and tessdb-core differ) -----------------------------
    def _columns(self, table: str) -> dict[str, bool]:
        if self._layout is None:
            def read(conn: Connection) -> dict[str, dict[str, bool]]:
                return {t: self.dialect.columns(conn, t) for t in _LAYOUT_TABLES}
            self._layout = self.store.run("reports: layout", read)
        return self._layout[table]

    def _select(self, table: str, wanted: Iterable[str], defaults: dict[str, Any] | None = None,
                alias: str = "") -> str:
        """A select list naming every wanted column, a literal default for those this database lacks."""
        have, defaults = self._columns(table), defaults or {}
        prefix = f"{alias}." if alias else ""
        out = []
        for col in wanted:
            if col in have:
                out.append(f"{prefix}{col}")
            else:
                value = defaults.get(col)
                out.append(f"{'NULL' if value is None else repr(value)} AS {col}")
        return ", ".join(out)

    @property
    def _has_4c(self) -> bool:
        return bool(self._columns("tess_readings4c_t"))

    # -- names and the catalogue -----------------------------------------------------------------
    def mappings(self, name: str | None = None) -> list[dict[str, Any]]:
        """name_to_mac_t rows (all, or those of ``name``), oldest first, with parsed times."""
        tail, args = (" WHERE name = ?", (name,)) if name is not None else ("", ())
        rows = self.store.run("reports: mappings", lambda conn: mapping_rows(conn, tail, args))
        out = []
        for row in rows:
            del row["rowid"]
            out.append({**row, "since": parse_ts(row["valid_since"]), "until": parse_ts(row["valid_until"])})
        out.sort(key=lambda m: (m["name"], m["since"]))
        return out

    def names(self, since: datetime | None = None, until: datetime | None = None) -> list[str]:
        """Every name whose mapping overlaps [since, until) (every name when unbounded), sorted."""
        found = set()
        for m in self.mappings():
            if (until is None or m["since"] < until) and (since is None or m["until"] > since):
                found.add(m["name"])
        return sorted(found)

    def versions(self, tess_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """tess_t rows by tess_id, with parsed ``since``/``until`` and the legacy columns
        (their 4.x defaults when this database has none)."""
        ids = sorted(set(tess_ids))
        if not ids:
            return {}
        select = self._select("tess_t", _TESS_COLUMNS + tuple(_LEGACY_TESS), _LEGACY_TESS)
        return self._by_id("tess_t", "tess_id", select, ids, _TESS_COLUMNS + tuple(_LEGACY_TESS), parse_times=True)

    def versions_of(self, name: str) -> list[dict[str, Any]]:
        """Every tess_t version of every MAC the name was ever mapped to, oldest first."""
        macs = sorted({m["mac_address"] for m in self.mappings(name)})
        if not macs:
            return []
        marks = ", ".join("?" * len(macs))
        ids = self.store.run("reports: versions", lambda conn: [r[0] for r in conn.execute(
            f"SELECT tess_id FROM tess_t WHERE mac_address IN ({marks})", macs)])
        return sorted(self.versions(ids).values(), key=lambda v: (v["since"], v["tess_id"]))

    def locations(self, location_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        ids = sorted(set(location_ids))
        select = self._select("location_t", _LOCATION_COLUMNS)
        return self._by_id("location_t", "location_id", select, ids, _LOCATION_COLUMNS)

    def observers(self, observer_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        ids = sorted(set(observer_ids))
        if not self._columns("observer_t"):
            return {}
        select = self._select("observer_t", _OBSERVER_COLUMNS)
        return self._by_id("observer_t", "observer_id", select, ids, _OBSERVER_COLUMNS)

    def _by_id(self, table: str, key: str, select: str, ids: list[int], names: tuple[str, ...],
               parse_times: bool = False) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}

        def read(conn: Connection) -> list[tuple]:
            rows: list[tuple] = []
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                rows += conn.execute(f"SELECT {select} FROM {table} WHERE {key} IN ({', '.join('?' * len(chunk))})",
                                     chunk).fetchall()
            return rows

        out = {}
        for row in self.store.run(f"reports: {table}", read):
            item = dict(zip(names, row))
            if parse_times:
                item["since"], item["until"] = parse_ts(item["valid_since"]), parse_ts(item["valid_until"])
            out[item[key]] = item
        return out

    # -- attribution: which tess_ids, in which key windows, belong to a name -----------------------
    def _segments(self, name: str, since: datetime | None, until: datetime | None
                  ) -> list[tuple[str, list[int], int, int]]:
        """(mac, tess_ids of that MAC, lo_key, hi_key) for each mapping of ``name``
        overlapping [since, until), clipped to it."""
        lo_all = ts_key(since) if since is not None else _MIN_KEY
        hi_all = ts_key(until) if until is not None else _MAX_KEY
        segments = []
        tess_ids_of: dict[str, list[int]] = {}
        for m in self.mappings(name):
            lo, hi = max(ts_key(m["since"]), lo_all), min(ts_key(m["until"]), hi_all)
            if lo >= hi:
                continue
            mac = m["mac_address"]
            if mac not in tess_ids_of:
                tess_ids_of[mac] = self.store.run("reports: tess ids", lambda conn: [r[0] for r in conn.execute(
                    "SELECT tess_id FROM tess_t WHERE mac_address = ? ORDER BY tess_id", (mac,))])
            segments.append((mac, tess_ids_of[mac], lo, hi))
        return segments

    # -- readings for the IDA files and the plots ---------------------------------------------------
    def readings(self, name: str, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Every reading attributed to ``name`` with since <= timestamp < until, in time order.

        Keys: utc (naive UTC datetime), date_id, time_id, tess_id, mac_address, location_id,
        observer_id, units_id, sequence_number, box_temperature, sky_temperature, nchannels (1 for
        tess_readings_t, 4 for tess_readings4c_t), freq and mag (tuples of nchannels values)."""
        out: list[dict[str, Any]] = []
        for mac, tess_ids, lo, hi in self._segments(name, since, until):
            for table, measures, nchannels in self._tables():
                cols = ", ".join(("date_id", "time_id", "tess_id", "location_id", "observer_id", "units_id",
                                  "sequence_number", "box_temperature", "sky_temperature") + measures)
                sql = (f"SELECT {cols} FROM {table} WHERE tess_id = ? AND date_id BETWEEN ? AND ? "
                       f"AND (date_id, time_id) >= (?, ?) AND (date_id, time_id) < (?, ?) ORDER BY date_id, time_id")

                def read(conn: Connection, sql: str = sql) -> list[tuple]:
                    rows: list[tuple] = []
                    for tess_id in tess_ids:
                        rows += conn.execute(sql, (tess_id, lo // _KEY, (hi - 1) // _KEY, *_split(lo),
                                                   *_split(hi))).fetchall()
                    return rows

                for row in self.store.run("reports: readings", read):
                    d, t, tess_id, loc, obs, units, seq, tamb, tsky, *values = row
                    out.append({"utc": key_datetime(d, t), "date_id": d, "time_id": t, "tess_id": tess_id,
                                "mac_address": mac, "location_id": loc, "observer_id": obs, "units_id": units,
                                "sequence_number": seq, "box_temperature": tamb, "sky_temperature": tsky,
                                "nchannels": nchannels, "freq": tuple(values[0::2]), "mag": tuple(values[1::2])})
        out.sort(key=lambda r: (r["date_id"], r["time_id"], r["tess_id"]))
        return out

    #: the columns of a ``sky_rows`` tuple
    SKY_ROW = ("date_id", "time_id", "location_id", "box_temperature", "sky_temperature", "mag1", "mag2", "mag3",
               "mag4")

    def sky_rows(self, name: str, since: datetime, until: datetime) -> list[tuple]:
        """The readings of ``name`` in [since, until), in time order, as bare tuples
        (``SKY_ROW``; a TESS-W's rows stop after mag1, or carry None for mag2..mag4 when
        the name also has TESS4C rows in the window): what the night summaries and the year
        plots need, without a dict or a datetime per reading."""
        runs: list[list[tuple]] = []  # each in time order (the primary key's)
        for _mac, tess_ids, lo, hi in self._segments(name, since, until):
            for table, measures, nchannels in self._tables():
                mags = ("magnitude",) if nchannels == 1 else ("mag1", "mag2", "mag3", "mag4")
                sql = (f"SELECT date_id, time_id, location_id, box_temperature, sky_temperature, {', '.join(mags)} "
                       f"FROM {table} WHERE tess_id = ? AND date_id BETWEEN ? AND ? "
                       f"AND (date_id, time_id) >= (?, ?) AND (date_id, time_id) < (?, ?) "
                       f"ORDER BY date_id, time_id")

                def read(conn: Connection, sql: str = sql, tess_ids: list[int] = tess_ids, lo: int = lo,
                         hi: int = hi) -> list[list[tuple]]:
                    return [conn.execute(sql, (tess_id, lo // _KEY, (hi - 1) // _KEY, *_split(lo),
                                               *_split(hi))).fetchall() for tess_id in tess_ids]

                runs += [rows for rows in self.store.run("reports: sky rows", read) if rows]
        if len(runs) == 1:  # one instrument version, one table: already in time order
            return runs[0]
        if len({len(run[0]) for run in runs}) > 1:  # TESS-W and TESS4C rows: one width
            runs = [run if len(run[0]) == 9 else [(*r, None, None, None) for r in run] for run in runs]
        return list(heapq.merge(*runs, key=lambda r: (r[0], r[1])))

    def _tables(self) -> list[tuple[str, tuple[str, ...], int]]:
        tables = [("tess_readings_t", W_MEASURES, 1)]
        if self._has_4c:
            tables.append(("tess_readings4c_t", C_MEASURES, 4))
        return tables

    # -- geolist and daily report ----------------------------------------------------------------------
    def current_instruments(self) -> list[dict[str, Any]]:
        """name, mac_address, model, longitude, latitude, location_id, place, town of every
        Current mapping joined to the Current version of its MAC, by name."""
        sql = ("SELECT m.name, i.mac_address, i.model, l.longitude, l.latitude, i.location_id, l.place, l.town "
               "FROM name_to_mac_t AS m "
               "JOIN tess_t AS i ON i.mac_address = m.mac_address AND i.valid_state = 'Current' "
               "LEFT JOIN location_t AS l ON l.location_id = i.location_id "
               "WHERE m.valid_state = 'Current' ORDER BY m.name, i.tess_id")
        rows = self.store.run("reports: current instruments", lambda conn: conn.execute(sql).fetchall())
        keys = ("name", "mac_address", "model", "longitude", "latitude", "location_id", "place", "town")
        return [dict(zip(keys, r)) for r in rows]

    def daily_keys(self, by: str, since: datetime, until: datetime) -> list[str]:
        """The photometers of a daily report over [since, until): the names whose mapping
        overlaps it (``by="name"``), or every MAC of tess_t (``by="mac"``), sorted."""
        if by == "name":
            return self.names(since, until)
        return self.store.run("reports: macs", lambda conn: [r[0] for r in conn.execute(
            "SELECT DISTINCT mac_address FROM tess_t ORDER BY mac_address")])

    def daily_counts(self, key: str, by: str, since: datetime, until: datetime, quarters: bool = False
                     ) -> list[tuple[int, int, int, int]]:
        """Readings of one photometer (a name, or a MAC with ``by="mac"``) in [since, until),
        both fact tables, as ``(date_id, quarter, location_id, count)``.  ``quarters``: per
        quarter of an hour of the UTC day (``quarter`` 0..95) and location, so that the
        caller can place each count in the site's local time (every time zone offset is a
        whole number of quarters); else ``quarter`` and ``location_id`` are 0, one row per
        UTC day.  One range query per tess_id and table on the (tess_id, date_id, time_id)
        index: the time grows with the period, not with the table."""
        if by == "name":
            segments = [(ids, lo, hi) for _mac, ids, lo, hi in self._segments(key, since, until)]
        else:
            ids = self.store.run("reports: tess ids", lambda conn: [r[0] for r in conn.execute(
                "SELECT tess_id FROM tess_t WHERE mac_address = ? ORDER BY tess_id", (key,))])
            segments = [(ids, ts_key(since), ts_key(until))]
        if quarters:
            q = "((time_id / 10000) * 4 + (time_id / 100 % 100) / 15)"
            group, cols = f"date_id, {q}, location_id", f"date_id, {q}, location_id"
        else:
            group, cols = "date_id", "date_id, 0, 0"
        out: list[tuple[int, int, int, int]] = []
        for table, _measures, _n in self._tables():
            sql = (f"SELECT {cols}, COUNT(*) FROM {table} WHERE tess_id = ? AND date_id BETWEEN ? AND ? "
                   f"AND (date_id, time_id) >= (?, ?) AND (date_id, time_id) < (?, ?) GROUP BY {group}")
            for ids, lo, hi in segments:
                if lo >= hi:
                    continue

                def read(conn: Connection, sql: str = sql, ids: list[int] = ids, lo: int = lo, hi: int = hi
                         ) -> list[tuple]:
                    rows: list[tuple] = []
                    for tess_id in ids:
                        rows += conn.execute(sql, (tess_id, lo // _KEY, (hi - 1) // _KEY, *_split(lo),
                                                   *_split(hi))).fetchall()
                    return rows

                out += [tuple(int(v) for v in row) for row in self.store.run("reports: daily", read)]
        return out

    # -- CSV export (sample query 2) --------------------------------------------------------------------
    def export_count(self, name: str | None, since: datetime | None, until: datetime | None) -> int:
        """How many rows ``export_rows`` yields for the same arguments."""
        total = 0
        window = "(date_id, time_id) >= (?, ?) AND (date_id, time_id) < (?, ?)"
        for table, _measures, _n in self._tables():
            for tess_ids, lo, hi in self._export_windows(name, since, until):
                bounds = (*_split(lo), *_split(hi))
                if tess_ids is None:
                    sql = f"SELECT COUNT(*) FROM {table} WHERE {window}"
                    total += self.store.run("reports: count", lambda conn, sql=sql, args=bounds: conn.execute(
                        sql, args).fetchone()[0])
                    continue
                sql = f"SELECT COUNT(*) FROM {table} WHERE tess_id = ? AND {window}"
                for tess_id in tess_ids:
                    total += self.store.run("reports: count", lambda conn, sql=sql, args=(tess_id, *bounds):
                                            conn.execute(sql, args).fetchone()[0])
        return total

    #: the keys of an export row: sample query 2's, then the name, the instrument and its site
    #: (coordinates, location id, town; the place is sample query 2's), and channels 2-4 of a TESS4C (None for a TESS-W)
    EXPORT_KEYS = ("julian_day", "timestamp", "sequence_number", "place", "mac_address", "frequency", "magnitude",
                   "zp1", "sky_temperature", "box_temperature", "name", "model", "longitude", "latitude",
                   "location_id", "town", "frequency2", "magnitude2", "zp2", "frequency3", "magnitude3", "zp3",
                   "frequency4", "magnitude4", "zp4")

    def export_rows(self, name: str | None, since: datetime | None, until: datetime | None) -> Iterator[dict[str, Any]]:
        """Export rows in time order (``EXPORT_KEYS``; a TESS4C row gives channel 1 as
        frequency/magnitude/zp1 and channels 2-4 after): each row's ``name`` is that of the
        name -> MAC mapping valid at its time (None for a MAC without a name then).  Read
        in pages; lazily."""
        streams = []
        for table, measures, _n in self._tables():
            if measures == W_MEASURES:
                chans = f"r.{measures[0]}, r.{measures[1]}, i.zp1"
                more = ", NULL, NULL, NULL" * 3
            else:
                chans = "r.freq1, r.mag1, i.zp1"
                more = "".join(f", r.freq{c}, r.mag{c}, i.zp{c}" for c in (2, 3, 4))
            select = (f"SELECT r.date_id, r.time_id, r.tess_id, (d.julian_day + t.day_fraction), "
                      f"(d.sql_date || 'T' || t.time), r.sequence_number, l.place, i.mac_address, {chans}, "
                      f"r.sky_temperature, r.box_temperature, i.model, l.longitude, l.latitude, r.location_id, "
                      f"l.town{more} "
                      f"FROM {table} AS r "
                      f"JOIN tess_t AS i ON i.tess_id = r.tess_id "
                      f"LEFT JOIN location_t AS l ON l.location_id = r.location_id "
                      f"JOIN date_t AS d ON d.date_id = r.date_id JOIN time_t AS t ON t.time_id = r.time_id ")
            for tess_ids, lo, hi in self._export_windows(name, since, until):
                if tess_ids is None:
                    streams.append(self._pages_all(select, lo, hi))
                else:
                    streams += [self._pages_one(select, tess_id, lo, hi) for tess_id in tess_ids]
        name_of = (lambda mac, key: name) if name is not None else self._namer()
        keys = self.EXPORT_KEYS
        for row in heapq.merge(*streams, key=lambda r: (r[0], r[1], r[2])):
            who = name_of(row[7], row[0] * _KEY + row[1])
            yield dict(zip(keys, (*row[3:13], who, *row[13:])))

    def _namer(self) -> Any:
        """``namer(mac, key)``: the name mapped to the MAC at the timestamp key (None if none)."""
        spans: dict[str, list[tuple[int, int, str]]] = {}
        for m in self.mappings():
            spans.setdefault(m["mac_address"], []).append((ts_key(m["since"]), ts_key(m["until"]), m["name"]))
        for v in spans.values():
            v.sort()
        starts = {mac: [s[0] for s in v] for mac, v in spans.items()}

        def namer(mac: str, key: int) -> str | None:
            i = bisect.bisect_right(starts.get(mac, []), key) - 1
            while i >= 0:
                lo, hi, who = spans[mac][i]
                if lo <= key < hi:
                    return who
                i -= 1
            return None
        return namer

    def _export_windows(self, name: str | None, since: datetime | None, until: datetime | None
                        ) -> list[tuple[list[int] | None, int, int]]:
        if name is None:
            return [(None, ts_key(since) if since else _MIN_KEY, ts_key(until) if until else _MAX_KEY)]
        return [(tess_ids, lo, hi) for _mac, tess_ids, lo, hi in self._segments(name, since, until)]

    def _pages_all(self, select: str, lo: int, hi: int) -> Iterator[tuple]:
        """Every row of the table in [lo, hi), in primary-key order, page by page."""
        sql = (select + "WHERE (r.date_id, r.time_id, r.tess_id) > (?, ?, ?) AND (r.date_id, r.time_id) < (?, ?) "
               "ORDER BY r.date_id, r.time_id, r.tess_id LIMIT ?")
        after = (*_split(lo), _NO_TESS_ID)
        while True:
            rows = self.store.run("reports: export", lambda conn, a=after: conn.execute(
                sql, (*a, *_split(hi), self.page_size)).fetchall())
            yield from rows
            if len(rows) < self.page_size:
                return
            after = rows[-1][:3]

    def _pages_one(self, select: str, tess_id: int, lo: int, hi: int) -> Iterator[tuple]:
        """The rows of one tess_id in [lo, hi), in time order, page by page (its own index)."""
        sql = (select + "WHERE r.tess_id = ? AND (r.date_id, r.time_id) > (?, ?) AND (r.date_id, r.time_id) < (?, ?) "
               "ORDER BY r.date_id, r.time_id LIMIT ?")
        d, t = _split(lo)
        after = (d, t - 1) if t > 0 else (d - 1, 999999)
        while True:
            rows = self.store.run("reports: export", lambda conn, a=after: conn.execute(
                sql, (tess_id, *a, *_split(hi), self.page_size)).fetchall())
            yield from rows
            if len(rows) < self.page_size:
                return
            after = rows[-1][:2]

    # -- the public fleet view (tessdb_web) -------------------------------------------------------------
    def fleet(self) -> list[dict[str, Any]]:
        """Every Current name with the Current version of its MAC and that version's site:
        name, mac_address, model, nchannels, place, town, country, longitude, latitude
        (no contact column: this feeds a public page), and ``retired``: False for those,
        True for the retired names added after them (their newest mapping ended, the MAC
        took no other name since)."""
        sql = ("SELECT m.name, i.mac_address, i.model, i.nchannels, l.place, l.town, l.country, l.longitude, "
               "l.latitude FROM name_to_mac_t AS m "
               "JOIN tess_t AS i ON i.mac_address = m.mac_address AND i.valid_state = 'Current' "
               "LEFT JOIN location_t AS l ON l.location_id = i.location_id "
               "WHERE m.valid_state = 'Current' ORDER BY m.name, i.tess_id")
        # retired: a name whose newest mapping expired, no Current mapping left for it, and its
        # MAC has no other name since (``instrument retire``; not a rename)
        retired = ("SELECT m.name, i.mac_address, i.model, i.nchannels, l.place, l.town, l.country, l.longitude, "
                   "l.latitude FROM name_to_mac_t AS m "
                   "JOIN tess_t AS i ON i.mac_address = m.mac_address AND i.valid_state = 'Current' "
                   "LEFT JOIN location_t AS l ON l.location_id = i.location_id "
                   "WHERE m.valid_state = 'Expired' "
                   "AND m.valid_until = (SELECT MAX(x.valid_until) FROM name_to_mac_t AS x WHERE x.name = m.name) "
                   "AND NOT EXISTS (SELECT 1 FROM name_to_mac_t AS c WHERE c.name = m.name "
                   "AND c.valid_state = 'Current') "
                   "AND NOT EXISTS (SELECT 1 FROM name_to_mac_t AS o WHERE o.mac_address = m.mac_address "
                   "AND o.valid_since >= m.valid_until) ORDER BY m.name, i.tess_id")
        keys = ("name", "mac_address", "model", "nchannels", "place", "town", "country", "longitude", "latitude")

        def read(conn: Connection) -> tuple[list[tuple], list[tuple]]:
            return conn.execute(sql).fetchall(), conn.execute(retired).fetchall()

        current, gone = self.store.run("reports: fleet", read)
        out: dict[str, dict[str, Any]] = {}
        for rows, is_retired in ((current, False), (gone, True)):
            for r in rows:
                out.setdefault(r[0], {**dict(zip(keys, r)), "retired": is_retired})
        return list(out.values())

    def newest_readings(self) -> dict[str, tuple[datetime, tuple[float, ...]]]:
        """name -> (time, magnitudes per channel) of the newest reading of every Current name
        since its mapping began: one probe of the (tess_id, date_id, time_id) index per
        version and fact table, all in one read transaction."""
        tables = self._tables()

        def read(conn: Connection) -> dict[str, tuple[datetime, tuple[float, ...]]]:
            found: dict[str, tuple[datetime, tuple[float, ...]]] = {}
            current = conn.execute("SELECT m.name, m.mac_address, m.valid_since, t.tess_id FROM name_to_mac_t m "
                                   "JOIN tess_t t ON t.mac_address = m.mac_address "
                                   "WHERE m.valid_state = 'Current'").fetchall()
            for name, _mac, since_text, tess_id in current:
                since = ts_key(parse_ts(since_text))
                for table, measures, _n in tables:
                    mags = ", ".join(measures[1::2])
                    row = conn.execute(f"SELECT date_id, time_id, {mags} FROM {table} WHERE tess_id = ? "
                                       "ORDER BY date_id DESC, time_id DESC LIMIT 1", (tess_id,)).fetchone()
                    if row is None or row[0] * _KEY + row[1] < since:
                        continue
                    when = key_datetime(row[0], row[1])
                    if name not in found or found[name][0] < when:
                        found[name] = (when, tuple(row[2:]))
            return found

        return self.store.run("reports: newest readings", read)

