"""Every hook is documented in docs/plugins.md with its exact signature."""

from __future__ import annotations

import inspect
from pathlib import Path

from tessdb_core import hookspecs

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def spec_signatures():
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("tessdb_"):
            sig = inspect.signature(fn)
            params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
            yield name, f"{name}({params}) -> {sig.return_annotation}"


def test_every_hook_is_documented_with_its_signature():
    doc = DOC.read_text()
    missing = [sig for _, sig in spec_signatures() if f"### `{sig}`" not in doc]
    assert missing == [], "undocumented hooks (or signature drift): " + "; ".join(missing)


def test_every_documented_call_style_is_named():
    doc = DOC.read_text()
    for name, _ in spec_signatures():
        section = doc.split(f"### `{name}(", 1)[1].split("###", 1)[0]
        assert any(style in section for style in ("First result", "Collect-all", "Chain")), name
