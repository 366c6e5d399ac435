"""The stores build on the star schema, never on each other: their imports, read from the source.

Why a test: the PostgreSQL store once subclassed the SQLite store's query classes and
imported its private helpers, so a change to one store silently changed the other.
"""

from __future__ import annotations

import ast
import importlib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

#: package -> packages it must never import
FORBIDDEN = {
    "tessdb_sqlite": ("tessdb_postgres",),
    "tessdb_postgres": ("tessdb_sqlite",),
    "tessdb_star": ("tessdb_sqlite", "tessdb_postgres"),
}


def imported_modules(package: str) -> dict[str, set[str]]:
    """file name -> the absolute module names its import statements name (relative imports
    stay inside the package and are left out)."""
    folder = Path(importlib.import_module(package).__file__).parent
    out: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        out[path.relative_to(folder.parent).as_posix()] = names
    return out


@pytest.mark.parametrize("package", FORBIDDEN)
def test_no_store_imports_the_other(package):
    modules = imported_modules(package)
    assert modules, f"no source found for {package}"
    bad = {f"{file}: {name}" for file, names in modules.items() for name in names
           for other in FORBIDDEN[package] if name == other or name.startswith(other + ".")}
    assert not bad, sorted(bad)


@pytest.mark.parametrize("package", ["tessdb_sqlite", "tessdb_postgres"])
def test_both_stores_build_on_the_star_schema(package):
    assert any(name == "tessdb_star" or name.startswith("tessdb_star.")
               for names in imported_modules(package).values() for name in names)


def test_the_star_schema_is_a_library_not_a_plugin():
    """No entry point and no hook: nothing to enable or disable, it registers nothing."""
    assert "tessdb_star" not in {ep.value.split(":")[0].split(".")[0] for ep in entry_points(group="tessdb")}
    folder = Path(importlib.import_module("tessdb_star").__file__).parent
    assert not [path.name for path in folder.glob("*.py") if "hookimpl" in path.read_text()]
