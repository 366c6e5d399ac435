"""Optional parts of the distribution: a command says which extra it needs instead of failing.

Why: a production collector needs neither plots, nor the demo's broker, nor a PostgreSQL
driver; they are extras (``pip install 'tessdb-core[plots]'``, ``[postgres]``, ``[demo]``,
or ``[all]``).  A plugin loads without them and a command that needs one says so.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import UserError


class MissingExtra(UserError):
    """A command needs an optional dependency that is not installed."""


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module`` or raise MissingExtra naming the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{what} needs the optional dependency {module!r}: "
                           f"pip install 'tessdb-core[{extra}]'") from None
