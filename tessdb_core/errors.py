"""The errors a user can fix, for every command of the engine and of the plugins.

Why a family: the command line prints these as one line and exits 2; anything else
is a bug (a stray KeyError, an AttributeError) and is reported as an internal
error with exit 3 and a pointer to ``--debug``.  They subclass the built-in error
they refine, so ``except ValueError`` around a rule keeps working.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix: a bad value, a missing row, a refused request."""


class BadValue(UserError, ValueError):
    """A value that is not acceptable (an option, a setting, a name, a date)."""


class NotFound(UserError, LookupError):
    """What was asked for does not exist (a photometer, a location, an entry)."""


class PluginError(UserError):
    """A plugin the settings require is not installed, failed to load, or is also disabled."""
