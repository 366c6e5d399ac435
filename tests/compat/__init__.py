"""Compatibility with the programs before tessdb-core: the real tessdb-server 4.x and 5.x on our files."""
