"""Tests that travel: no file of the project names a path outside the repository, in any spelling.

A clone with nothing beside it must pass the README's test command, so every file a test reads
lives in the repository (``tests/fixtures/``).  Three spellings of "outside" are refused in every
tracked file (code, tests, docs, deploy files):

* an absolute path into a folder that is not one of the system's own (``/usr``, ``/etc``, ``/tmp``
  ...) but exists on this machine (a work or home folder), or into the checkout's parent folder;
* a run of ``../`` longer than the file's depth in the repository;
* in Python, a path built from ``__file__`` (``Path(__file__).parents[n]``, ``.parent``,
  ``/ ".."``, ``os.path.dirname``, ``os.path.join``) that climbs above the repository's root.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from .test_docs import ROOT, project_files, text_of

HERE = Path(__file__).resolve()

#: the system's own top folders (the Filesystem Hierarchy Standard): a path there is not a sibling
#: of the checkout (a broker binary, /etc/tessdb in the deploy files, /tmp caches)
SYSTEM_TOPS = frozenset({"bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt",
                         "opt", "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var"})
ABSOLUTE = re.compile(r"(?<![\w.~:/%$}-])/([A-Za-z_][\w.-]*)(?=/)")
CLIMB = re.compile(r"(?:\.\./)+|(?:\.\.\\)+")


def depth(path: Path) -> int:
    """How many folders below the root the file lies (README.md: 0, tests/engine/x.py: 2)."""
    return len(path.relative_to(ROOT).parts) - 1


def absolute_outside(line: str) -> list[str]:
    """Absolute paths of a line into a non-system folder that exists here, or into the checkout's parent."""
    found = []
    parent = ROOT.parent
    if len(parent.parts) > 2 and f"{parent}/" in line:  # the checkout's own parent (not "/" or "/tmp")
        found.append(f"{parent}/")
    for m in ABSOLUTE.finditer(line):
        top = m.group(1)
        if top not in SYSTEM_TOPS and Path("/", top).is_dir():
            found.append(m.group(0))
    return found


def climbs_out(line: str, levels: int) -> list[str]:
    return [m.group(0) for m in CLIMB.finditer(line) if m.group(0).count("..") > levels]


# -- paths built from __file__ in Python ------------------------------------------------------------
class _Outside(Exception):
    pass


class FilePaths:
    """Follows the paths a module builds from ``__file__``, as parts relative to the root."""

    def __init__(self, path: Path):
        self.start = list(path.relative_to(ROOT).parts)
        self.names: dict[str, list[str]] = {}

    def up(self, parts: list[str], n: int) -> list[str]:
        if n > len(parts):
            raise _Outside
        return parts[: len(parts) - n]

    def join(self, parts: list[str], text: str) -> list[str]:
        if text.startswith("/"):
            raise _Outside
        for piece in text.split("/"):
            if piece == "..":
                parts = self.up(parts, 1)
            elif piece not in ("", "."):
                parts = [*parts, piece]
        return parts

    def value(self, node: ast.AST) -> list[str] | None:
        """The parts a node stands for, None when it is not a path from ``__file__``; raises _Outside."""
        if isinstance(node, ast.Name):
            return self.start if node.id == "__file__" else self.names.get(node.id)
        if isinstance(node, ast.Call):
            func = ast.unparse(node.func)
            if func in ("Path", "pathlib.Path", "PurePath", "os.path.abspath", "os.path.realpath",
                        "os.path.normpath") and node.args:
                base = self.value(node.args[0])
                for arg in node.args[1:]:
                    if base is not None and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        base = self.join(base, arg.value)
                return base
            if func == "os.path.dirname" and node.args:
                base = self.value(node.args[0])
                return None if base is None else self.up(base, 1)
            if func == "os.path.join" and node.args:
                base = self.value(node.args[0])
                for arg in node.args[1:]:
                    if base is not None and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        base = self.join(base, arg.value)
                return base
            if isinstance(node.func, ast.Attribute) and node.func.attr in ("resolve", "absolute", "expanduser"):
                return self.value(node.func.value)
            return None
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            base = self.value(node.value)
            return None if base is None else self.up(base, 1)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "parents":
            base = self.value(node.value.value)
            if base is None or not isinstance(node.slice, ast.Constant) or not isinstance(node.slice.value, int):
                return None
            return self.up(base, node.slice.value + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            base = self.value(node.left)
            if base is not None and isinstance(node.right, ast.Constant) and isinstance(node.right.value, str):
                return self.join(base, node.right.value)
            return base if base is not None and not isinstance(node.right, ast.Constant) else None
        return None


def python_climbs(path: Path, source: str) -> list[str]:
    """The lines of a module whose path from ``__file__`` leaves the repository."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    paths = FilePaths(path)
    found: dict[int, str] = {}
    for node in ast.walk(tree):  # module level first (ast.walk is breadth-first): ROOT = ... before its uses
        try:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                parts = paths.value(node.value)
                if parts is not None:
                    paths.names[node.targets[0].id] = parts
            elif isinstance(node, ast.expr):
                paths.value(node)
        except _Outside:
            found.setdefault(node.lineno, f"{node.lineno}: {ast.unparse(node)[:100]}")  # the widest node
    return [found[no] for no in sorted(found)]


# -- the checks -------------------------------------------------------------------------------------
def outside_paths(path: Path) -> list[str]:
    text = text_of(path)
    if text is None:
        return []
    hits = []
    for no, line in enumerate(text.splitlines(), 1):
        for what in absolute_outside(line) + climbs_out(line, depth(path)):
            hits.append(f"{no}: {what!r} in {line.strip()[:100]}")
    if path.suffix == ".py":
        hits += python_climbs(path, text)
    return hits


def test_no_project_file_names_a_path_outside_the_repository():
    found = {str(p.relative_to(ROOT)): hits for p in project_files()
             if p.resolve() != HERE and (hits := outside_paths(p))}
    assert found == {}, "paths outside the repository:\n" + "\n".join(
        f"  {name}:{hit}" for name, hits in sorted(found.items()) for hit in hits)


@pytest.mark.parametrize("source", [
    'ROOT = Path(__file__).resolve().parents[2]\nREF = ROOT.parent / "neighbour" / "data"\n',
    'X = Path(__file__).parents[3]\n',
    'X = Path(__file__).resolve().parent.parent.parent.parent\n',
    'X = Path(__file__).parent / "../../../sibling"\n',
    'X = os.path.join(os.path.dirname(__file__), "..", "..", "..")\n',
    'HERE = Path(__file__).parent\nX = HERE / ".." / ".." / ".."\n',
    'X = Path(__file__).parent / "/etc/passwd"\n',
])
def test_each_python_spelling_of_outside_is_caught(source):
    assert python_climbs(ROOT / "tests" / "engine" / "x.py", source)


@pytest.mark.parametrize("source", [
    'ROOT = Path(__file__).resolve().parents[2]\nREF = ROOT / "tests" / "fixtures"\n',
    'X = Path(__file__).parent.parent / "fixtures" / "ida"\n',
    'X = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")\n',
])
def test_paths_inside_pass(source):
    assert python_climbs(ROOT / "tests" / "engine" / "x.py", source) == []


def test_each_text_spelling_of_outside_is_caught(tmp_path):
    sibling = ROOT.parent / "neighbour" / "data" / "x.txt"
    assert absolute_outside(f'CAPTURE = Path("{sibling}")')
    assert climbs_out("see ../../../sibling/fixtures", 2)
    assert not climbs_out("see ../../README.md", 2)
    assert not absolute_outside('get("/v1/server/reload"); Path("/usr/sbin/mosquitto"); "/etc/tessdb/x"')
    top = ROOT.parts[1]  # the checkout's own top folder exists on every machine that runs this
    if top not in SYSTEM_TOPS:
        assert absolute_outside(f'x = "/{top}/neighbour/data/capture.txt"')
