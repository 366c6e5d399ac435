"""End-to-end helpers: the real `tessdb-core` command on real SQLite files."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_runner import Cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)
