"""tessdb_star: the tessdb star schema itself, whatever the database holding it.

A library, not a plugin: no hooks, no entry point.  The store plugins build on it
(``tessdb_sqlite``, ``tessdb_postgres``) and keep only what is theirs: the connection,
locking and retrying, and the bulk write.  Why: both stores must create the same
tables, write the same rows and answer the tools' queries alike, and a rule such as
"a registration may only expire a row that is still Current" must hold on every store,
so each of these is written once, here:

* :mod:`.tables`       table names, keys, the columns tessdb writes
* :mod:`.ddl`          the DDL, spelled per database by a :class:`~.ddl.TypeMap`
* :mod:`.instruments`  tess_t / name_to_mac_t rows <-> catalogue Versions / Mappings
* :mod:`.readings`     resolved readings -> fact-table rows (the hot path)
* :mod:`.preload`      the calendar, units, Unknown location and observer
* :mod:`.timestamps`   the historical timestamp texts, read; the one format, written
* :mod:`.layout`       which tables and columns a database has; INSERTs adapted to them
* :mod:`.dialect`      the few things a database says its own way (a store implements one)
* :mod:`.sqlite`       the SQLite dialect, SQLite files and URLs (the copy reads them too)
* :mod:`.catalog`      the catalogue reads, with the one name-mapping SELECT
* :mod:`.changes`      expire a Current row, apply a registration: checked, StoreConflict
* :mod:`.maintenance`  the maintenance commands' queries and changes
* :mod:`.reports`      the scientist tools' queries
"""
