"""The Prometheus rules and the Grafana dashboard in deploy/: valid, tested, and naming only
metrics the collector exposes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tessdb_core import metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "tessdb-alerts.yml"


def promtool() -> str:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is not installed (apt-get install prometheus); tests/system-packages.sh installs it")
    return exe


def test_the_rules_pass_promtool_check_and_their_unit_tests():
    check = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert check.returncode == 0 and "SUCCESS: 6 rules found" in check.stdout, check.stdout + check.stderr
    unit = subprocess.run([promtool(), "test", "rules", "tessdb-alerts.test.yml"], cwd=RULES.parent,
                          capture_output=True, text=True)
    assert unit.returncode == 0 and "SUCCESS" in unit.stdout, unit.stdout + unit.stderr


def test_a_broken_rule_is_caught():  # the positive control of the check above
    bad = RULES.parent / "broken.yml"
    try:
        bad.write_text("groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(tessdb_inbox_depth[5m]\n")
        assert subprocess.run([promtool(), "check", "rules", str(bad)], capture_output=True).returncode != 0
    finally:
        bad.unlink()


def exposed_names() -> set[str]:
    snap = {"counters": {"mqtt.num_published": 1, "stored": 1, "quarantined.bad_json": 1,
                         "dbase_readings.rej_duplicated": 1, "filter.dropped.daylight": 1},
            "inbox_depth": 0, "last_message_age": 0.0, "connected": True, "subscribed": True, "paused": False,
            "write_seconds": [0.01], "outages": {"store": 0}, "last_readings": {"stars1": 1.0}}
    return {line.split("{")[0].split(" ")[0] for line in metrics.render(snap).splitlines()
            if line and not line.startswith("#")}


def test_the_dashboard_and_the_rules_name_only_exposed_metrics():
    names = exposed_names()
    dashboard = json.loads((DEPLOY / "grafana" / "tessdb-core.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = set(re.findall(r"tessdb_[a-z_]+", " ".join(exprs) + RULES.read_text()))
    unknown = sorted(u for u in used if u not in names)
    assert unknown == [], f"not exposed by /metrics: {unknown}"
    assert len(exprs) >= 10
