"""The DDL of the star schema, written once and spelled per database through a type map.

Why a type map: SQLite and PostgreSQL must hold the same tables, columns (names and
order), keys, indexes and view, so that the tools' SQL runs on both; only the type
names differ (PostgreSQL's REAL is 4 bytes, its BOOLEAN is not 0/1, its VARCHAR
lengths would be enforced), and PostgreSQL would enforce the foreign keys tessdb
only ever declared (docs/rules.md, What is stored).  The tables are the 5.x schema of
``tests/fixtures/reference/reference-schema-5x.sql`` plus the legacy 4.x columns ``tess-ida`` still reads,
appended at the end of their tables so the 5.x column order is kept; NOT NULL
columns get defaults so that hand-written SQL can insert without naming every column.
:data:`SQLITE_TYPES` renders it exactly as the reference (``init`` output is compared
with it byte for byte).

One table more on SQLite only: ``config_t`` (:data:`CONFIG_T`, :func:`compat_statements`),
which the 4.x server (tessdb-server 4.0.x) looks for before anything else; without it,
4.x runs its own schema script over ours and stops.  No tool of tessdb-core, tess-ida or
5.x reads it; it is not part of :data:`TABLES` (PostgreSQL has no 4.x server to serve).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tessdb_tess.photometer import TESSW_FILTER

from .tables import C_MEASURES, W_MEASURES


@dataclass(frozen=True, slots=True)
class TypeMap:
    """How one database spells the schema.  Types are written as in the reference
    (``VARCHAR(10)``, ``DOUBLE``, ...) plus two of tessdb's own: ``KEY`` (a key the
    database assigns) and ``COUNTER`` (an integer a photometer sends, any 64-bit value)."""

    #: written type (or its name before ``(``) -> the database's type; others as written
    types: Mapping[str, str] = field(default_factory=dict)
    #: declare the foreign keys (never enforced by SQLite; PostgreSQL would enforce them)
    foreign_keys: bool = True
    #: the column name ``tess_v`` gives the observer's name (PostgreSQL refuses two ``name``)
    observer_name: str = "name"

    def spell(self, written: str) -> str:
        return self.types.get(written) or self.types.get(written.split("(", 1)[0], written)


#: the reference spelling (SQLite, as the 5.x tools and tess-ida know it)
SQLITE_TYPES = TypeMap({"KEY": "INTEGER", "COUNTER": "INTEGER"})


@dataclass(frozen=True, slots=True)
class Table:
    """One CREATE TABLE: ``columns`` is one ``name TYPE constraints`` line per column."""

    name: str
    columns: str
    primary_key: tuple[str, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    #: (column, referenced table): the referenced column has the same name
    references: tuple[tuple[str, str], ...] = ()
    #: (index name, columns)
    indexes: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(line.split(" ", 1)[0] for line in self._lines())

    def _lines(self) -> list[str]:
        return [line.strip() for line in self.columns.strip().splitlines()]

    def create(self, types: TypeMap) -> str:
        lines = []
        for line in self._lines():
            name, written, *rest = line.split(" ", 2)
            lines.append(" ".join((f"\t{name}", types.spell(written), *rest)))
        lines.append(f"\tCONSTRAINT pk_{self.name} PRIMARY KEY ({', '.join(self.primary_key)})")
        lines += [f"\tCONSTRAINT uq_{self.name}_{cols[0]} UNIQUE ({', '.join(cols)})" for cols in self.unique]
        if types.foreign_keys:
            lines += [f"\tCONSTRAINT fk_{self.name}_{col}_{ref} FOREIGN KEY({col}) REFERENCES {ref} ({col})"
                      for col, ref in self.references]
        return f"CREATE TABLE {self.name} (\n" + ",\n".join(lines) + "\n)"

    def create_indexes(self) -> list[str]:
        return [f"CREATE INDEX {name} ON {self.name} ({', '.join(cols)})" for name, cols in self.indexes]


def _validity(state: str = "VARCHAR(7)") -> str:
    return f"valid_since DATETIME NOT NULL\nvalid_until DATETIME NOT NULL\nvalid_state {state} NOT NULL"


def _readings(name: str, measures: tuple[str, ...]) -> Table:
    """The two fact tables differ only in their measure columns."""
    measure_lines = "\n".join(f"{m} DOUBLE NOT NULL" for m in measures)
    return Table(name, f"""
        date_id INTEGER NOT NULL
        time_id INTEGER NOT NULL
        tess_id INTEGER NOT NULL
        location_id INTEGER NOT NULL DEFAULT -1
        observer_id INTEGER NOT NULL DEFAULT -1
        units_id INTEGER NOT NULL
        sequence_number COUNTER NOT NULL
        {measure_lines}
        box_temperature DOUBLE NOT NULL
        sky_temperature DOUBLE NOT NULL
        azimuth DOUBLE
        altitude DOUBLE
        longitude DOUBLE
        latitude DOUBLE
        elevation DOUBLE
        signal_strength COUNTER NOT NULL
        hash VARCHAR(6)""", ("date_id", "time_id", "tess_id"),
        references=(("date_id", "date_t"), ("time_id", "time_t"), ("tess_id", "tess_t"),
                    ("location_id", "location_t"), ("observer_id", "observer_t"), ("units_id", "tess_units_t")),
        indexes=((f"ix_{name}_tess_date_time_location", ("tess_id", "date_id", "time_id", "location_id")),))


def _channel(i: int) -> str:
    """Zero point, filter and frequency offset of channel ``i``: channel 1 is always there."""
    required = f" NOT NULL DEFAULT '{TESSW_FILTER}'" if i == 1 else ""
    return (f"zp{i} DOUBLE{' NOT NULL' if i == 1 else ''}\n"
            f"filter{i} VARCHAR(64){required}\n"
            f"offset{i} FLOAT NOT NULL DEFAULT 0.0")


_CHANNELS = "\n".join(_channel(i) for i in range(1, 5))

#: every table, in creation order
TABLES: tuple[Table, ...] = (
    Table("date_t", """
        date_id INTEGER NOT NULL
        sql_date VARCHAR(10) NOT NULL
        date VARCHAR(10) NOT NULL
        day INTEGER NOT NULL
        day_year INTEGER NOT NULL
        julian_day DOUBLE NOT NULL
        weekday VARCHAR(9) NOT NULL
        weekday_abbr VARCHAR(3) NOT NULL
        weekday_num INTEGER NOT NULL
        month_num INTEGER NOT NULL
        month VARCHAR(8) NOT NULL
        month_abbr VARCHAR(3) NOT NULL
        year INTEGER NOT NULL""", ("date_id",)),
    Table("time_t", """
        time_id INTEGER NOT NULL
        time VARCHAR(8) NOT NULL
        hour INTEGER NOT NULL
        minute INTEGER NOT NULL
        second INTEGER NOT NULL
        day_fraction DOUBLE NOT NULL""", ("time_id",)),
    Table("observer_t", f"""
        observer_id INTEGER NOT NULL
        type VARCHAR(12) NOT NULL
        name VARCHAR(255) NOT NULL
        affiliation VARCHAR(255)
        acronym VARCHAR(16)
        website_url VARCHAR(255)
        email VARCHAR(64)
        {_validity()}""", ("observer_id",)),
    Table("location_t", """
        location_id INTEGER NOT NULL
        longitude DOUBLE
        latitude DOUBLE
        elevation DOUBLE
        place VARCHAR(255) NOT NULL
        town VARCHAR(255) NOT NULL
        sub_region VARCHAR(255) NOT NULL
        region VARCHAR(255) NOT NULL
        country VARCHAR(64) NOT NULL
        timezone VARCHAR(64) NOT NULL DEFAULT 'Etc/UTC'
        contact_name TEXT
        contact_email TEXT
        organization TEXT""", ("location_id",), unique=(("longitude", "latitude"),)),
    Table("tess_units_t", """
        units_id INTEGER NOT NULL
        timestamp_source VARCHAR(10) NOT NULL
        reading_source VARCHAR(8) NOT NULL""", ("units_id",)),
    Table("name_to_mac_t", f"""
        rowid KEY NOT NULL
        name VARCHAR(64) NOT NULL
        mac_address VARCHAR(17) NOT NULL
        {_validity()}""", ("rowid",),
        indexes=(("ix_name_to_mac_t_mac_address", ("mac_address",)), ("ix_name_to_mac_t_name", ("name",)))),
    Table("tess_t", f"""
        tess_id KEY NOT NULL
        mac_address VARCHAR(17) NOT NULL
        {_validity()}
        model VARCHAR(8) NOT NULL DEFAULT 'TESS-W'
        firmware VARCHAR(255) NOT NULL DEFAULT 'Unknown'
        authorised BOOLEAN NOT NULL DEFAULT 0
        registered VARCHAR(9) NOT NULL DEFAULT 'Unknown'
        nchannels INTEGER NOT NULL DEFAULT 1
        {_CHANNELS}
        location_id INTEGER NOT NULL DEFAULT -1
        observer_id INTEGER NOT NULL DEFAULT -1
        cover_offset REAL NOT NULL DEFAULT 0.0
        fov REAL NOT NULL DEFAULT 17.0
        azimuth REAL NOT NULL DEFAULT 0.0
        altitude REAL NOT NULL DEFAULT 90.0""", ("tess_id",),
        references=(("location_id", "location_t"), ("observer_id", "observer_t")),
        indexes=(("ix_tess_t_mac_address", ("mac_address",)),)),
    _readings("tess_readings_t", W_MEASURES),
    _readings("tess_readings4c_t", C_MEASURES),
)

TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

_TESS_V = """CREATE VIEW tess_v AS SELECT tess_t.tess_id AS tess_id, tess_t.mac_address AS mac_address, \
name_to_mac_t.name AS name, tess_t.valid_since AS valid_since, tess_t.valid_until AS valid_until, \
tess_t.valid_state AS valid_state, tess_t.model AS model, tess_t.firmware AS firmware, \
tess_t.authorised AS authorised, tess_t.registered AS registered, tess_t.nchannels AS nchannels, \
tess_t.zp1 AS zp1, tess_t.filter1 AS filter1, tess_t.offset1 AS offset1, \
tess_t.zp2 AS zp2, tess_t.filter2 AS filter2, tess_t.offset2 AS offset2, \
tess_t.zp3 AS zp3, tess_t.filter3 AS filter3, tess_t.offset3 AS offset3, \
tess_t.zp4 AS zp4, tess_t.filter4 AS filter4, tess_t.offset4 AS offset4, \
location_t.longitude AS longitude, location_t.latitude AS latitude, location_t.elevation AS elevation, \
location_t.place AS place, location_t.town AS town, location_t.sub_region AS sub_region, \
location_t.region AS region, location_t.country AS country, location_t.timezone AS timezone, \
observer_t.name AS {observer_name}, observer_t.type AS type, observer_t.affiliation AS affiliation, \
observer_t.acronym AS acronym
FROM tess_t JOIN location_t ON location_t.location_id = tess_t.location_id \
JOIN observer_t ON observer_t.observer_id = tess_t.observer_id \
JOIN name_to_mac_t ON name_to_mac_t.mac_address = tess_t.mac_address
WHERE name_to_mac_t.valid_state = 'Current'"""


#: the 4.x server's settings table, spelled as its schema.sql has it (section, property) -> value;
#: 4.x reads ('database', 'version') and ('database', 'uuid'), and writes the uuid when it is missing
CONFIG_T = Table("config_t", """
    section TEXT NOT NULL
    property TEXT NOT NULL
    value TEXT NOT NULL""", ("section", "property"))


def tess_v(types: TypeMap) -> str:
    """The 5.x view: each instrument version with its Current name, location and observer."""
    return _TESS_V.format(observer_name=types.observer_name)


def statements(types: TypeMap) -> tuple[str, ...]:
    """The whole DDL in creation order (run inside one transaction): each table, its indexes, the view."""
    out: list[str] = []
    for table in TABLES:
        out.append(table.create(types))
        out += table.create_indexes()
    out.append(tess_v(types))
    return tuple(out)


def compat_statements(types: TypeMap) -> tuple[str, ...]:
    """What a SQLite database needs beside :func:`statements` so that the 4.x server opens it
    as one of its own instead of running its schema script over it: ``config_t``.  Its rows
    are :func:`tessdb_star.preload.config_rows`."""
    return (CONFIG_T.create(types),)
