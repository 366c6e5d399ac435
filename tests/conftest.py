"""Fixtures shared by every test folder, and the markers that make a fast run possible.

Every test folder is a package; the helpers shared between folders are the modules
beside this file (``broker``, ``pgserver``, ``faults``, ``polling``), importable because
pytest puts this folder on ``sys.path`` (the first folder above the packages).

Markers, given by what a test uses (so a new test cannot forget them):
``live`` for a real mosquitto (the ``broker`` fixture, the live service, the demo,
the deploy tests) and ``postgres`` for a real PostgreSQL server.  A fast run:
``python3 -m pytest -q -m "not live and not postgres"``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from broker import Broker

HERE = Path(__file__).resolve().parent
#: folders whose every test needs the real broker / the real PostgreSQL server
LIVE_FOLDERS = {"live", "demo", "deploy"}
POSTGRES_FOLDERS = {"postgres"}
LIVE_FIXTURES = {"broker", "service", "publisher", "verbose_broker", "in_process"}
POSTGRES_FIXTURES = {"pg_server", "pg_url", "pg_db", "pg_template", "pg"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.fspath)).resolve().relative_to(HERE).parts[0]
        fixtures = set(getattr(item, "fixturenames", ()))
        if folder in LIVE_FOLDERS or fixtures & LIVE_FIXTURES:
            item.add_marker(pytest.mark.live)
        if folder in POSTGRES_FOLDERS or fixtures & POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def broker(tmp_path):
    """A real mosquitto on a free 127.0.0.1 port, stopped after the test."""
    b = Broker(tmp_path / "broker").start()
    try:
        yield b
    finally:
        b.stop()
