"""The star schema that ``initialise`` creates.

It is the 5.x schema (``reference-schema-5x.sql``: same tables, columns, types and
order, keys, indexes and the ``tess_v`` view) plus the legacy 4.x columns that
``tess-ida`` still reads, appended at the end of their tables so the 5.x column
order is kept.  NOT NULL columns get defaults so that hand-written SQL and other
tools can insert without naming every column.  Foreign keys are declared, as in
every version, but never enforced (spec §1.1).
"""

from __future__ import annotations

#: every table a tessdb database has (4.x and 5.x alike)
OUR_TABLES: frozenset[str] = frozenset({
    "date_t", "time_t", "observer_t", "location_t", "tess_units_t",
    "name_to_mac_t", "tess_t", "tess_readings_t", "tess_readings4c_t",
})

#: tables that only older tessdb versions made; their presence is not "foreign"
LEGACY_TABLES: frozenset[str] = frozenset({"config_t"})

#: without these the collector cannot work at all
REQUIRED_TABLES: tuple[str, ...] = ("tess_t", "name_to_mac_t", "tess_readings_t")

_FK = "FOREIGN KEY({col}) REFERENCES {table} ({col})"

_DIMENSIONS: tuple[str, ...] = (
    """CREATE TABLE date_t (
	date_id INTEGER NOT NULL,
	sql_date VARCHAR(10) NOT NULL,
	date VARCHAR(10) NOT NULL,
	day INTEGER NOT NULL,
	day_year INTEGER NOT NULL,
	julian_day DOUBLE NOT NULL,
	weekday VARCHAR(9) NOT NULL,
	weekday_abbr VARCHAR(3) NOT NULL,
	weekday_num INTEGER NOT NULL,
	month_num INTEGER NOT NULL,
	month VARCHAR(8) NOT NULL,
	month_abbr VARCHAR(3) NOT NULL,
	year INTEGER NOT NULL,
	CONSTRAINT pk_date_t PRIMARY KEY (date_id)
)""",
    """CREATE TABLE time_t (
	time_id INTEGER NOT NULL,
	time VARCHAR(8) NOT NULL,
	hour INTEGER NOT NULL,
	minute INTEGER NOT NULL,
	second INTEGER NOT NULL,
	day_fraction DOUBLE NOT NULL,
	CONSTRAINT pk_time_t PRIMARY KEY (time_id)
)""",
    """CREATE TABLE observer_t (
	observer_id INTEGER NOT NULL,
	type VARCHAR(12) NOT NULL,
	name VARCHAR(255) NOT NULL,
	affiliation VARCHAR(255),
	acronym VARCHAR(16),
	website_url VARCHAR(255),
	email VARCHAR(64),
	valid_since DATETIME NOT NULL,
	valid_until DATETIME NOT NULL,
	valid_state VARCHAR(7) NOT NULL,
	CONSTRAINT pk_observer_t PRIMARY KEY (observer_id)
)""",
    """CREATE TABLE location_t (
	location_id INTEGER NOT NULL,
	longitude DOUBLE,
	latitude DOUBLE,
	elevation DOUBLE,
	place VARCHAR(255) NOT NULL,
	town VARCHAR(255) NOT NULL,
	sub_region VARCHAR(255) NOT NULL,
	region VARCHAR(255) NOT NULL,
	country VARCHAR(64) NOT NULL,
	timezone VARCHAR(64) NOT NULL DEFAULT 'Etc/UTC',
	contact_name TEXT,
	contact_email TEXT,
	organization TEXT,
	CONSTRAINT pk_location_t PRIMARY KEY (location_id),
	CONSTRAINT uq_location_t_longitude UNIQUE (longitude, latitude)
)""",
    """CREATE TABLE tess_units_t (
	units_id INTEGER NOT NULL,
	timestamp_source VARCHAR(10) NOT NULL,
	reading_source VARCHAR(8) NOT NULL,
	CONSTRAINT pk_tess_units_t PRIMARY KEY (units_id)
)""",
    """CREATE TABLE name_to_mac_t (
	rowid INTEGER NOT NULL,
	name VARCHAR(64) NOT NULL,
	mac_address VARCHAR(17) NOT NULL,
	valid_since DATETIME NOT NULL,
	valid_until DATETIME NOT NULL,
	valid_state VARCHAR(7) NOT NULL,
	CONSTRAINT pk_name_to_mac_t PRIMARY KEY (rowid)
)""",
    "CREATE INDEX ix_name_to_mac_t_mac_address ON name_to_mac_t (mac_address)",
    "CREATE INDEX ix_name_to_mac_t_name ON name_to_mac_t (name)",
    f"""CREATE TABLE tess_t (
	tess_id INTEGER NOT NULL,
	mac_address VARCHAR(17) NOT NULL,
	valid_since DATETIME NOT NULL,
	valid_until DATETIME NOT NULL,
	valid_state VARCHAR(7) NOT NULL,
	model VARCHAR(8) NOT NULL DEFAULT 'TESS-W',
	firmware VARCHAR(255) NOT NULL DEFAULT 'Unknown',
	authorised BOOLEAN NOT NULL DEFAULT 0,
	registered VARCHAR(9) NOT NULL DEFAULT 'Unknown',
	nchannels INTEGER NOT NULL DEFAULT 1,
	zp1 DOUBLE NOT NULL,
	filter1 VARCHAR(64) NOT NULL DEFAULT 'UV/IR-740',
	offset1 FLOAT NOT NULL DEFAULT 0.0,
	zp2 DOUBLE,
	filter2 VARCHAR(64),
	offset2 FLOAT NOT NULL DEFAULT 0.0,
	zp3 DOUBLE,
	filter3 VARCHAR(64),
	offset3 FLOAT NOT NULL DEFAULT 0.0,
	zp4 DOUBLE,
	filter4 VARCHAR(64),
	offset4 FLOAT NOT NULL DEFAULT 0.0,
	location_id INTEGER NOT NULL DEFAULT -1,
	observer_id INTEGER NOT NULL DEFAULT -1,
	cover_offset REAL NOT NULL DEFAULT 0.0,
	fov REAL NOT NULL DEFAULT 17.0,
	azimuth REAL NOT NULL DEFAULT 0.0,
	altitude REAL NOT NULL DEFAULT 90.0,
	CONSTRAINT pk_tess_t PRIMARY KEY (tess_id),
	CONSTRAINT fk_tess_t_location_id_location_t {_FK.format(col="location_id", table="location_t")},
	CONSTRAINT fk_tess_t_observer_id_observer_t {_FK.format(col="observer_id", table="observer_t")}
)""",
    "CREATE INDEX ix_tess_t_mac_address ON tess_t (mac_address)",
)


def _readings_table(table: str, measures: str) -> str:
    """The two fact tables differ only in their measure columns."""
    fks = ",\n".join(
        f"\tCONSTRAINT fk_{table}_{col}_{ref} {_FK.format(col=col, table=ref)}"
        for col, ref in (("date_id", "date_t"), ("time_id", "time_t"), ("tess_id", "tess_t"),
                         ("location_id", "location_t"), ("observer_id", "observer_t"),
                         ("units_id", "tess_units_t"))
    )
    return f"""CREATE TABLE {table} (
	date_id INTEGER NOT NULL,
	time_id INTEGER NOT NULL,
	tess_id INTEGER NOT NULL,
	location_id INTEGER NOT NULL DEFAULT -1,
	observer_id INTEGER NOT NULL DEFAULT -1,
	units_id INTEGER NOT NULL,
	sequence_number INTEGER NOT NULL,
{measures}
	box_temperature DOUBLE NOT NULL,
	sky_temperature DOUBLE NOT NULL,
	azimuth DOUBLE,
	altitude DOUBLE,
	longitude DOUBLE,
	latitude DOUBLE,
	elevation DOUBLE,
	signal_strength INTEGER NOT NULL,
	hash VARCHAR(6),
	CONSTRAINT pk_{table} PRIMARY KEY (date_id, time_id, tess_id),
{fks}
)"""


_W_MEASURES = "\tfrequency DOUBLE NOT NULL,\n\tmagnitude DOUBLE NOT NULL,"
_4C_MEASURES = "\n".join(f"\tfreq{i} DOUBLE NOT NULL,\n\tmag{i} DOUBLE NOT NULL," for i in range(1, 5))

TESS_V = """CREATE VIEW tess_v AS SELECT tess_t.tess_id AS tess_id, tess_t.mac_address AS mac_address, \
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
observer_t.name AS name, observer_t.type AS type, observer_t.affiliation AS affiliation, \
observer_t.acronym AS acronym
FROM tess_t JOIN location_t ON location_t.location_id = tess_t.location_id \
JOIN observer_t ON observer_t.observer_id = tess_t.observer_id \
JOIN name_to_mac_t ON name_to_mac_t.mac_address = tess_t.mac_address
WHERE name_to_mac_t.valid_state = 'Current'"""

#: the whole DDL, in creation order (run inside one transaction)
STATEMENTS: tuple[str, ...] = _DIMENSIONS + (
    _readings_table("tess_readings_t", _W_MEASURES),
    "CREATE INDEX ix_tess_readings_t_tess_date_time_location "
    "ON tess_readings_t (tess_id, date_id, time_id, location_id)",
    _readings_table("tess_readings4c_t", _4C_MEASURES),
    "CREATE INDEX ix_tess_readings4c_t_tess_date_time_location "
    "ON tess_readings4c_t (tess_id, date_id, time_id, location_id)",
    TESS_V,
)
