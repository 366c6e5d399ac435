"""The star schema that ``initialise`` creates on PostgreSQL.

The same tables, columns (names and order), primary keys, indexes and ``tess_v``
view as the SQLite store (``tessdb_sqlite/schema.py``), with the types mapped so that
the tools' SQL behaves the same:

* INTEGER stays INTEGER, except ``sequence_number`` and ``signal_strength`` (BIGINT:
  a photometer sends any integer, and SQLite stores 64 bits);
* DOUBLE / FLOAT / REAL become DOUBLE PRECISION (PostgreSQL's REAL is 4 bytes);
* VARCHAR(n) and DATETIME become TEXT: lengths were never enforced by SQLite, and the
  validity timestamps are text in the one format ``YYYY-MM-DD HH:MM:SS.ffffff`` (UTC),
  so text comparisons and ``valid_state = 'Current'`` queries behave identically;
* ``authorised`` is INTEGER 0/1 (as SQLite stores its BOOLEAN);
* ``tess_t.tess_id`` and ``name_to_mac_t.rowid`` are SERIAL (new keys from the
  sequences; ``tessdb-core copy`` keeps the source's keys and resets the sequences);
* foreign keys are NOT declared: PostgreSQL would enforce them, and tessdb never has
  (spec §1.1: declared, never enforced);
* ``tess_v`` names the observer's name column ``"name:1"`` (the name SQLite gives the
  second ``name``): PostgreSQL refuses two columns of one view with the same name.

A statement-level trigger on ``tess_t`` and ``name_to_mac_t`` sends ``NOTIFY
tessdb_catalog`` for every change, whoever makes it (a collector's registration, a
maintenance command, an operator's SQL), so that every collector reloads its catalogue.
"""

from __future__ import annotations

from tessdb_sqlite.schema import OUR_TABLES as _SQLITE_TABLES
from tessdb_sqlite.schema import TESS_V as _SQLITE_TESS_V

#: the channel of the catalogue-change notifications
CHANNEL = "tessdb_catalog"

#: the table where ``tessdb-core copy`` keeps its progress (made by the first copy)
COPY_TABLE = "tessdb_copy_t"

#: every table a tessdb PostgreSQL database has (the copy's progress table is ours too)
OUR_TABLES: frozenset[str] = frozenset(_SQLITE_TABLES)
AUX_TABLES: frozenset[str] = frozenset({COPY_TABLE})

#: without these the collector cannot work at all
REQUIRED_TABLES: tuple[str, ...] = ("tess_t", "name_to_mac_t", "tess_readings_t", "tess_readings4c_t")

#: the primary key of every table, in order (for the copy's keyset pagination)
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "date_t": ("date_id",),
    "time_t": ("time_id",),
    "tess_units_t": ("units_id",),
    "location_t": ("location_id",),
    "observer_t": ("observer_id",),
    "tess_t": ("tess_id",),
    "name_to_mac_t": ("rowid",),
    "tess_readings_t": ("date_id", "time_id", "tess_id"),
    "tess_readings4c_t": ("date_id", "time_id", "tess_id"),
}

#: SERIAL columns whose sequence must follow the highest key
SERIALS: dict[str, str] = {"tess_t": "tess_id", "name_to_mac_t": "rowid"}

_DIMENSIONS: tuple[str, ...] = (
    """CREATE TABLE date_t (
	date_id INTEGER NOT NULL,
	sql_date TEXT NOT NULL,
	date TEXT NOT NULL,
	day INTEGER NOT NULL,
	day_year INTEGER NOT NULL,
	julian_day DOUBLE PRECISION NOT NULL,
	weekday TEXT NOT NULL,
	weekday_abbr TEXT NOT NULL,
	weekday_num INTEGER NOT NULL,
	month_num INTEGER NOT NULL,
	month TEXT NOT NULL,
	month_abbr TEXT NOT NULL,
	year INTEGER NOT NULL,
	CONSTRAINT pk_date_t PRIMARY KEY (date_id)
)""",
    """CREATE TABLE time_t (
	time_id INTEGER NOT NULL,
	time TEXT NOT NULL,
	hour INTEGER NOT NULL,
	minute INTEGER NOT NULL,
	second INTEGER NOT NULL,
	day_fraction DOUBLE PRECISION NOT NULL,
	CONSTRAINT pk_time_t PRIMARY KEY (time_id)
)""",
    """CREATE TABLE observer_t (
	observer_id INTEGER NOT NULL,
	type TEXT NOT NULL,
	name TEXT NOT NULL,
	affiliation TEXT,
	acronym TEXT,
	website_url TEXT,
	email TEXT,
	valid_since TEXT NOT NULL,
	valid_until TEXT NOT NULL,
	valid_state TEXT NOT NULL,
	CONSTRAINT pk_observer_t PRIMARY KEY (observer_id)
)""",
    """CREATE TABLE location_t (
	location_id INTEGER NOT NULL,
	longitude DOUBLE PRECISION,
	latitude DOUBLE PRECISION,
	elevation DOUBLE PRECISION,
	place TEXT NOT NULL,
	town TEXT NOT NULL,
	sub_region TEXT NOT NULL,
	region TEXT NOT NULL,
	country TEXT NOT NULL,
	timezone TEXT NOT NULL DEFAULT 'Etc/UTC',
	contact_name TEXT,
	contact_email TEXT,
	organization TEXT,
	CONSTRAINT pk_location_t PRIMARY KEY (location_id),
	CONSTRAINT uq_location_t_longitude UNIQUE (longitude, latitude)
)""",
    """CREATE TABLE tess_units_t (
	units_id INTEGER NOT NULL,
	timestamp_source TEXT NOT NULL,
	reading_source TEXT NOT NULL,
	CONSTRAINT pk_tess_units_t PRIMARY KEY (units_id)
)""",
    """CREATE TABLE name_to_mac_t (
	rowid SERIAL NOT NULL,
	name TEXT NOT NULL,
	mac_address TEXT NOT NULL,
	valid_since TEXT NOT NULL,
	valid_until TEXT NOT NULL,
	valid_state TEXT NOT NULL,
	CONSTRAINT pk_name_to_mac_t PRIMARY KEY (rowid)
)""",
    "CREATE INDEX ix_name_to_mac_t_mac_address ON name_to_mac_t (mac_address)",
    "CREATE INDEX ix_name_to_mac_t_name ON name_to_mac_t (name)",
    """CREATE TABLE tess_t (
	tess_id SERIAL NOT NULL,
	mac_address TEXT NOT NULL,
	valid_since TEXT NOT NULL,
	valid_until TEXT NOT NULL,
	valid_state TEXT NOT NULL,
	model TEXT NOT NULL DEFAULT 'TESS-W',
	firmware TEXT NOT NULL DEFAULT 'Unknown',
	authorised INTEGER NOT NULL DEFAULT 0,
	registered TEXT NOT NULL DEFAULT 'Unknown',
	nchannels INTEGER NOT NULL DEFAULT 1,
	zp1 DOUBLE PRECISION NOT NULL,
	filter1 TEXT NOT NULL DEFAULT 'UV/IR-740',
	offset1 DOUBLE PRECISION NOT NULL DEFAULT 0.0,
	zp2 DOUBLE PRECISION,
	filter2 TEXT,
	offset2 DOUBLE PRECISION NOT NULL DEFAULT 0.0,
	zp3 DOUBLE PRECISION,
	filter3 TEXT,
	offset3 DOUBLE PRECISION NOT NULL DEFAULT 0.0,
	zp4 DOUBLE PRECISION,
	filter4 TEXT,
	offset4 DOUBLE PRECISION NOT NULL DEFAULT 0.0,
	location_id INTEGER NOT NULL DEFAULT -1,
	observer_id INTEGER NOT NULL DEFAULT -1,
	cover_offset DOUBLE PRECISION NOT NULL DEFAULT 0.0,
	fov DOUBLE PRECISION NOT NULL DEFAULT 17.0,
	azimuth DOUBLE PRECISION NOT NULL DEFAULT 0.0,
	altitude DOUBLE PRECISION NOT NULL DEFAULT 90.0,
	CONSTRAINT pk_tess_t PRIMARY KEY (tess_id)
)""",
    "CREATE INDEX ix_tess_t_mac_address ON tess_t (mac_address)",
)


def _readings_table(table: str, measures: str) -> str:
    """The two fact tables differ only in their measure columns."""
    return f"""CREATE TABLE {table} (
	date_id INTEGER NOT NULL,
	time_id INTEGER NOT NULL,
	tess_id INTEGER NOT NULL,
	location_id INTEGER NOT NULL DEFAULT -1,
	observer_id INTEGER NOT NULL DEFAULT -1,
	units_id INTEGER NOT NULL,
	sequence_number BIGINT NOT NULL,
{measures}
	box_temperature DOUBLE PRECISION NOT NULL,
	sky_temperature DOUBLE PRECISION NOT NULL,
	azimuth DOUBLE PRECISION,
	altitude DOUBLE PRECISION,
	longitude DOUBLE PRECISION,
	latitude DOUBLE PRECISION,
	elevation DOUBLE PRECISION,
	signal_strength BIGINT NOT NULL,
	hash TEXT,
	CONSTRAINT pk_{table} PRIMARY KEY (date_id, time_id, tess_id)
)"""


_W_MEASURES = "\tfrequency DOUBLE PRECISION NOT NULL,\n\tmagnitude DOUBLE PRECISION NOT NULL,"
_4C_MEASURES = "\n".join(f"\tfreq{i} DOUBLE PRECISION NOT NULL,\n\tmag{i} DOUBLE PRECISION NOT NULL,"
                         for i in range(1, 5))

#: the columns of tess_v, in order (as SQLite shows them: the observer's name is "name:1")
TESS_V_COLUMNS: tuple[str, ...] = (
    "tess_id", "mac_address", "name", "valid_since", "valid_until", "valid_state", "model", "firmware",
    "authorised", "registered", "nchannels", "zp1", "filter1", "offset1", "zp2", "filter2", "offset2",
    "zp3", "filter3", "offset3", "zp4", "filter4", "offset4", "longitude", "latitude", "elevation",
    "place", "town", "sub_region", "region", "country", "timezone", "name:1", "type", "affiliation", "acronym",
)

# the 5.x view, but PostgreSQL refuses two columns named "name": the observer's one is
# called as SQLite exposes it
TESS_V = _SQLITE_TESS_V.replace("observer_t.name AS name,", 'observer_t.name AS "name:1",')
assert TESS_V != _SQLITE_TESS_V

NOTIFY_FUNCTION = f"""CREATE FUNCTION tessdb_catalog_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
	RETURN NULL;
END
$$"""


def _notify_trigger(table: str) -> str:
    return (f"CREATE TRIGGER {table}_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tessdb_catalog_notify()")


#: the whole DDL, in creation order (run inside one transaction)
STATEMENTS: tuple[str, ...] = _DIMENSIONS + (
    _readings_table("tess_readings_t", _W_MEASURES),
    "CREATE INDEX ix_tess_readings_t_tess_date_time_location "
    "ON tess_readings_t (tess_id, date_id, time_id, location_id)",
    _readings_table("tess_readings4c_t", _4C_MEASURES),
    "CREATE INDEX ix_tess_readings4c_t_tess_date_time_location "
    "ON tess_readings4c_t (tess_id, date_id, time_id, location_id)",
    TESS_V,
    NOTIFY_FUNCTION,
    _notify_trigger("tess_t"),
    _notify_trigger("name_to_mac_t"),
)

#: the copy's progress, one row per source file and table (made by the first copy)
COPY_TABLE_DDL = f"""CREATE TABLE IF NOT EXISTS {COPY_TABLE} (
	source TEXT NOT NULL,
	table_name TEXT NOT NULL,
	last_key TEXT,
	copied BIGINT NOT NULL DEFAULT 0,
	done INTEGER NOT NULL DEFAULT 0,
	updated TEXT NOT NULL,
	CONSTRAINT pk_{COPY_TABLE} PRIMARY KEY (source, table_name)
)"""
