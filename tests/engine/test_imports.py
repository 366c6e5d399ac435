"""The import graph: the engine has no circles and never imports a plugin.

Every import counts, including the ones inside functions and under TYPE_CHECKING:
a lazy import hides a circle from Python, not from a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "tessdb_core"
PLUGINS = ROOT / "plugins"


def _imports(path: Path, package: str) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
                if node.module is None:  # from . import x, y
                    names.update(f"{base}.{a.name}" for a in node.names)
                    continue
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def engine_graph() -> dict[str, set[str]]:
    modules = {f"tessdb_core.{p.stem}": p for p in ENGINE.glob("*.py") if p.stem != "__init__"}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path, "tessdb_core") if m in modules and m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_engine_has_no_import_circle():
    cycle = _cycle(engine_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_circle():  # the positive control of the test above
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_engine_never_imports_a_plugin():
    plugins = {p.name for p in PLUGINS.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    for path in ENGINE.glob("*.py"):
        bad = {m for m in _imports(path, "tessdb_core") if m.split(".")[0] in plugins}
        assert not bad, f"{path.name} imports plugin module(s) {sorted(bad)}"
