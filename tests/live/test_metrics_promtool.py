"""The /metrics exposition passes promtool's checks (names, units, types, help)."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request

import pytest

from live_service import reading, registration, wait_for

pytestmark = pytest.mark.live


def promtool() -> str:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is not installed (apt-get install prometheus); .ci/run installs it")
    return exe


def test_metrics_pass_promtool_check_metrics(service, publisher):
    exe = promtool()
    service.start()
    publisher.publish([registration(1)] + [reading(1, s) for s in range(10)] + [("STARS4ALL/stars9/reading", "{")])
    wait_for(lambda: service.count() >= 3, 20, "stored readings")
    with urllib.request.urlopen(f"http://127.0.0.1:{service.http_port}/metrics", timeout=10) as r:
        text = r.read()
    assert b'tessdb_quarantined_total{reason="bad_json"} 1.0' in text
    out = subprocess.run([exe, "check", "metrics"], input=text, capture_output=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == b"" and out.stderr.strip() == b"", \
        (out.stdout + out.stderr).decode()
    # the positive control: promtool does complain about a counter without _total
    bad = b"# HELP bad_counter x\n# TYPE bad_counter counter\nbad_counter 1\n"
    assert subprocess.run([exe, "check", "metrics"], input=bad, capture_output=True).returncode != 0
