"""The one way tests wait for something: poll a condition until it holds or time runs out.

Why: a test that sleeps and then looks is slow when the machine is idle and flaky when
it is busy; this polls every 50 ms and fails naming what it waited for.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
