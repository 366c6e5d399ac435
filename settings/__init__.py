"""Default settings of tessdb-core, shipped as package data (see settings.toml)."""
