"""Fixtures of the live tests: the service in a temporary folder, a QoS 1 publisher, and the
fault-test fixtures (loop-mounted images, a broker that logs every packet)."""

from __future__ import annotations

import pytest

from faults import ext4_image, verbose_broker  # noqa: F401  (fixtures for the fault tests)
from live_service import *  # noqa: F401,F403  (the tests of this folder import the helpers from here)
from live_service import Publisher, Service


@pytest.fixture
def service(tmp_path, broker):
    svc = Service(tmp_path / "svc", broker)
    svc.cwd.mkdir()
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture
def publisher(broker):
    p = Publisher(broker.port)
    try:
        yield p
    finally:
        p.close()
