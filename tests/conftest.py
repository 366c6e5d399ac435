"""Fixtures shared by every test folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from broker import Broker  # noqa: E402


@pytest.fixture
def broker(tmp_path):
    """A real mosquitto on a free 127.0.0.1 port, stopped after the test."""
    b = Broker(tmp_path / "broker").start()
    try:
        yield b
    finally:
        b.stop()
