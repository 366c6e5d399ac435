"""The tables of the star schema and the columns tessdb writes, whatever the database.

Why one place: the DDL, the row builders, the catalogue reads and the copy between
databases all name the same tables and columns; each list is written once here.
"""

from __future__ import annotations

#: every table a tessdb database has (4.x and 5.x alike)
OUR_TABLES: frozenset[str] = frozenset({
    "date_t", "time_t", "observer_t", "location_t", "tess_units_t",
    "name_to_mac_t", "tess_t", "tess_readings_t", "tess_readings4c_t",
})

#: tables of the 4.x server that tessdb-core never reads; their presence is not "foreign".
#: ``init`` makes config_t in a SQLite file too, so that the 4.x server can reopen it
#: (``ddl.compat_statements``): its presence does not tell a 4.x database.
LEGACY_TABLES: frozenset[str] = frozenset({"config_t"})

#: without these the collector cannot work at all (a 4.x database may lack tess_readings4c_t)
REQUIRED_TABLES: tuple[str, ...] = ("tess_t", "name_to_mac_t", "tess_readings_t")

#: the fact tables, TESS-W first
FACT_TABLES: tuple[str, ...] = ("tess_readings_t", "tess_readings4c_t")

#: the primary key of every table, in order (keyset pagination, key comparisons)
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

# -- the catalogue ----------------------------------------------------------------------------------
#: name_to_mac_t columns written (rowid is assigned by the database)
MAPPING_COLUMNS: tuple[str, ...] = ("name", "mac_address", "valid_since", "valid_until", "valid_state")
#: name_to_mac_t columns read (rowid is implicit in 4.x databases, a column since 5.x)
MAPPING_KEYS: tuple[str, ...] = ("rowid", *MAPPING_COLUMNS)

#: tess_t columns written (tess_id is assigned by the database; legacy extras take their defaults)
VERSION_COLUMNS: tuple[str, ...] = (
    "mac_address", "valid_since", "valid_until", "valid_state", "model", "firmware",
    "authorised", "registered", "nchannels",
    "zp1", "filter1", "offset1", "zp2", "filter2", "offset2",
    "zp3", "filter3", "offset3", "zp4", "filter4", "offset4",
    "location_id", "observer_id",
)
#: offsets arrived with 4.x data model 04; a 03 database lacks them
OPTIONAL_VERSION_COLUMNS = frozenset({"offset1", "offset2", "offset3", "offset4"})

LOCATION_COLUMNS: tuple[str, ...] = ("location_id", "longitude", "latitude", "elevation", "place", "town",
                                     "sub_region", "region", "country", "timezone")
OBSERVER_COLUMNS: tuple[str, ...] = ("observer_id", "type", "name", "affiliation", "acronym", "website_url",
                                     "email", "valid_since", "valid_until", "valid_state")

# -- the facts --------------------------------------------------------------------------------------
_KEYS = ("date_id", "time_id", "tess_id", "location_id", "observer_id", "units_id", "sequence_number")
_TAIL = ("box_temperature", "sky_temperature", "azimuth", "altitude", "longitude", "latitude",
         "elevation", "signal_strength", "hash")
#: measure columns of each fact table
W_MEASURES: tuple[str, ...] = ("frequency", "magnitude")
C_MEASURES: tuple[str, ...] = tuple(f"{m}{i}" for i in range(1, 5) for m in ("freq", "mag"))

#: tess_readings_t columns, in the order of the row tuples
W_COLUMNS: tuple[str, ...] = (*_KEYS, *W_MEASURES, *_TAIL)
#: tess_readings4c_t columns, in the order of the row tuples
C_COLUMNS: tuple[str, ...] = (*_KEYS, *C_MEASURES, *_TAIL)
#: columns a legacy fact table may lack (older writers did not store them)
OPTIONAL_READING_COLUMNS = frozenset({"azimuth", "altitude", "longitude", "latitude", "elevation", "hash"})
