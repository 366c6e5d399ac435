"""Fixtures of the deploy tests: a copy of the source tree and its wheel, built offline once."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from .units import DEPLOY

IGNORED = shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "build", "dist", ".pytest_cache", "*.db",
                                 "*.db-wal", "*.db-shm", ".venv", "venv")


@pytest.fixture(scope="session")
def source_and_wheel(tmp_path_factory):
    """(a copy of this source tree, a wheel of it): what install.sh gets, without the network.
    The copy, because a build writes into its source folder and this one is shared."""
    import setuptools

    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} cannot build the wheel offline (pyproject needs >= 77)")
    src = tmp_path_factory.mktemp("src") / "tessdb-core"
    shutil.copytree(DEPLOY.parent, src, ignore=IGNORED)
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-w", str(wheels), str(src)], check=True, capture_output=True)
    (wheel,) = wheels.glob("tessdb_core-*.whl")
    return src, wheel
