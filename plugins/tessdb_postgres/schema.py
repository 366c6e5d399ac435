"""The star schema that ``initialise`` creates on PostgreSQL.

The same tables, columns (names and order), primary keys, indexes and ``tess_v``
view as the SQLite store: the DDL is ``tessdb_star.ddl``'s, spelled through
:data:`PG_TYPES` so that the tools' SQL behaves the same:

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
  (declared, never enforced: docs/rules.md, What is stored);
* ``tess_v`` names the observer's name column ``"name:1"`` (the name SQLite gives the
  second ``name``): PostgreSQL refuses two columns of one view with the same name.

A statement-level trigger on ``tess_t`` and ``name_to_mac_t`` sends ``NOTIFY
tessdb_catalog`` for every change, whoever makes it (a collector's registration, a
maintenance command, an operator's SQL), so that every collector reloads its catalogue.
"""

from __future__ import annotations

from tessdb_star.ddl import TypeMap, statements
from tessdb_star.tables import OUR_TABLES

__all__ = ["AUX_TABLES", "CHANNEL", "COPY_TABLE", "COPY_TABLE_DDL", "OUR_TABLES", "PG_TYPES", "REQUIRED_TABLES",
           "SERIALS", "STATEMENTS", "TESS_V_COLUMNS"]

#: the channel of the catalogue-change notifications
CHANNEL = "tessdb_catalog"

#: the table where ``tessdb-core copy`` keeps its progress (made by the first copy)
COPY_TABLE = "tessdb_copy_t"

#: tables of ours besides the star schema's (the copy's progress)
AUX_TABLES: frozenset[str] = frozenset({COPY_TABLE})

#: without these the collector cannot work at all
REQUIRED_TABLES: tuple[str, ...] = ("tess_t", "name_to_mac_t", "tess_readings_t", "tess_readings4c_t")

#: SERIAL columns whose sequence must follow the highest key
SERIALS: dict[str, str] = {"tess_t": "tess_id", "name_to_mac_t": "rowid"}

#: how PostgreSQL spells the reference (SQLite) types; see the module's docstring
PG_TYPES = TypeMap(
    {"KEY": "SERIAL", "COUNTER": "BIGINT", "VARCHAR": "TEXT", "DATETIME": "TEXT", "BOOLEAN": "INTEGER",
     "DOUBLE": "DOUBLE PRECISION", "FLOAT": "DOUBLE PRECISION", "REAL": "DOUBLE PRECISION"},
    foreign_keys=False, observer_name='"name:1"')

#: the columns of tess_v, in order (as SQLite shows them: the observer's name is "name:1")
TESS_V_COLUMNS: tuple[str, ...] = (
    "tess_id", "mac_address", "name", "valid_since", "valid_until", "valid_state", "model", "firmware",
    "authorised", "registered", "nchannels", "zp1", "filter1", "offset1", "zp2", "filter2", "offset2",
    "zp3", "filter3", "offset3", "zp4", "filter4", "offset4", "longitude", "latitude", "elevation",
    "place", "town", "sub_region", "region", "country", "timezone", "name:1", "type", "affiliation", "acronym",
)

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
STATEMENTS: tuple[str, ...] = statements(PG_TYPES) + (
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
