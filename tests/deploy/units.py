"""A small reader of systemd unit files (keys may repeat, as SystemCallFilter= does)."""

from __future__ import annotations

import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


class Unit:
    def __init__(self, path: Path):
        self.path = path
        self.sections: dict[str, list[tuple[str, str]]] = {}
        section = None
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                self.sections.setdefault(section, [])
                continue
            assert section is not None, f"{path.name}: {line!r} before any [section]"
            assert "=" in line and not line.endswith("\\"), f"{path.name}: cannot read {line!r}"
            key, value = line.split("=", 1)
            self.sections[section].append((key.strip(), value.strip()))

    def all(self, section: str, key: str) -> list[str]:
        return [v for k, v in self.sections.get(section, []) if k == key]

    def get(self, section: str, key: str) -> str | None:
        """The value in force: the last assignment (systemd's rule for single-valued keys)."""
        values = self.all(section, key)
        return values[-1] if values else None

    def words(self, section: str, key: str) -> list[str]:
        """A list-valued key (ReadWritePaths=, RestrictAddressFamilies=): every assignment, split."""
        return [w for v in self.all(section, key) for w in v.split()]


def seconds(span: str) -> float:
    """A systemd time span ("60s", "10min", "1h 30min", "90") in seconds."""
    units = {"us": 1e-6, "ms": 1e-3, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}
    total = 0.0
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", span)
    assert parts and "".join(n + u for n, u in parts) == span.replace(" ", ""), f"not a time span: {span!r}"
    for number, unit in parts:
        total += float(number) * units[unit or "s"]
    return total
