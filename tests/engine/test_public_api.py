"""The public plugin API: plugins import the engine only through ``tessdb_core``'s top level.

Every import counts, inside functions and under TYPE_CHECKING too.  A plugin may import
another plugin's *library package* through that package's top level (``tessdb_star`` is a
library; ``tessdb_sim``'s fleet model is used by the demo), never the engine's modules.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import tessdb_core

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "plugins"
EXAMPLE = ROOT / "examples" / "tessdb-example"


def engine_imports(path: Path) -> list[str]:
    """What ``path`` takes from the engine that is not the public API, as ``line: what``."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            bad += [f"{node.lineno}: import {a.name}" for a in node.names if a.name.startswith("tessdb_core.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("tessdb_core."):
                bad.append(f"{node.lineno}: from {node.module} import ...")
            elif node.module == "tessdb_core":
                bad += [f"{node.lineno}: {a.name} is not in tessdb_core.__all__" for a in node.names
                        if a.name not in tessdb_core.__all__]
    return bad


def sources() -> list[Path]:
    """The source files, not the copies a ``pip install`` of the example leaves in build/."""
    found = [*PLUGINS.rglob("*.py"), *EXAMPLE.rglob("*.py")]
    return sorted(p for p in found
                  if not any(part in ("build", "dist") or part.endswith(".egg-info")
                             for part in p.relative_to(ROOT).parts))


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_the_engine_only_through_the_public_api(path):
    assert engine_imports(path) == []


def test_the_check_catches_a_private_import(tmp_path):  # the positive control of the test above
    bad = tmp_path / "bad.py"
    bad.write_text("from tessdb_core import hookimpl, Reading\n"
                   "def f():\n    from tessdb_core.localfile import is_busy\n"
                   "from tessdb_core import pipeline\nimport tessdb_core.settings\n")
    assert engine_imports(bad) == ["4: pipeline is not in tessdb_core.__all__", "5: import tessdb_core.settings",
                                   "3: from tessdb_core.localfile import ..."]


def test_every_public_name_resolves():
    for name in tessdb_core.__all__:
        assert getattr(tessdb_core, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'pipeline_internals'"):
        tessdb_core.pipeline_internals  # noqa: B018


def test_importing_the_api_loads_no_engine_module():
    """``import tessdb_core`` is cheap: the names come on first use (``tessdb-core version``'s budget)."""
    code = ("import sys, tessdb_core; "
            "print(sorted(m for m in sys.modules if m.startswith('tessdb_core.') or m in ('click', 'dynaconf', "
            "'loguru')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    code = "import sys, tessdb_core; tessdb_core.Reading; print(sorted(m for m in sys.modules if m.startswith('tessdb_core.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['tessdb_core.events']"


def test_the_api_documents_every_name():
    doc = (ROOT / "docs" / "plugins.md").read_text()
    section = doc.split("## What to import", 1)[1].split("\n## ", 1)[0]
    missing = [n for n in tessdb_core.__all__ if f"`{n}`" not in section and f"`{n}(" not in section]
    assert missing == [], f"public names not in docs/plugins.md 'What to import': {missing}"


#: what a plugin may import from another plugin: a library package (tessdb_star: no hooks, the
#: star schema for every store) or a module another plugin publishes as its library
#: (docs/plugins.md, "Where the star-schema library lives").  Anything else is private.
LIBRARIES = ("tessdb_star", "tessdb_sky", "tessdb_tess.photometer", "tessdb_reports.nights", "tessdb_sim.fleet",
             "tessdb_sim.generator", "tessdb_sim.command")


def _library(module: str) -> bool:
    return any(module == lib or module.startswith(lib + ".") for lib in LIBRARIES)


def cross_plugin_imports(path: Path, own: str) -> list[str]:
    plugins = {p.name for p in PLUGINS.iterdir() if (p / "__init__.py").exists()}
    bad = []
    for node in ast.walk(ast.parse(path.read_text())):
        modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                   else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                   else [])
        for m in modules:
            if m.split(".")[0] not in plugins - {own}:
                continue
            # ``from tessdb_tess import photometer`` names the module tessdb_tess.photometer
            names = [f"{m}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) else []
            if not (_library(m) or (names and all(_library(n) for n in names))):
                bad.append(f"{node.lineno}: {m}")
    return bad


def test_plugins_import_each_other_only_through_their_libraries():
    bad = {str(p.relative_to(ROOT)): found for p in PLUGINS.rglob("*.py")
           if (found := cross_plugin_imports(p, p.relative_to(PLUGINS).parts[0]))}
    assert bad == {}


def test_the_cross_plugin_check_catches_a_private_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from tessdb_star.ddl import x\nfrom tessdb_tess.decode import y\nimport tessdb_sqlite.store\n"
                   "from tessdb_tess import photometer\nfrom tessdb_tess import decode\n")
    assert cross_plugin_imports(bad, "tessdb_maint") == ["2: tessdb_tess.decode", "3: tessdb_sqlite.store",
                                                         "5: tessdb_tess"]


def test_the_star_schema_library_is_no_plugin():
    """tessdb_star lives under plugins/ as a library (docs/plugins.md): no entry point, no hook."""
    import importlib.metadata as md

    assert not [ep for ep in md.entry_points(group=tessdb_core.PROJECT) if ep.value.split(".")[0] == "tessdb_star"]
    for path in (PLUGINS / "tessdb_star").rglob("*.py"):
        assert "hookimpl" not in path.read_text(), path


def test_every_plugin_module_imports():
    """A moved module leaves no import behind (a relative one the AST checks above do not resolve)."""
    for path in sorted(PLUGINS.rglob("*.py")):
        parts = path.relative_to(PLUGINS).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        try:
            importlib.import_module(name)
        except ImportError as exc:  # an optional extra (matplotlib, psycopg, ...) may be missing: not ours
            assert not (exc.name or "").startswith(("tessdb_", ".")), f"{name}: {exc}"
