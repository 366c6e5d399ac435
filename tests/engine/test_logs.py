"""Log sinks, JSON lines, per-namespace and per-photometer levels, stdlib routing, safe tracebacks."""

from __future__ import annotations

import json
import logging

from loguru import logger

from tessdb_core import logs
from tessdb_core.settings import Settings


def setup(tmp_path, **over):
    cfg = {"level": "info", "console": False, "file": str(tmp_path / "t.log"), "json": False,
           "namespaces": {}, "photometers": {}}
    cfg.update(over)
    logs.setup(Settings.from_dict({"logs": cfg}))
    return tmp_path / "t.log"


def teardown_function():
    logger.remove()


def test_levels_per_namespace_and_photometer(tmp_path):
    path = setup(tmp_path, namespaces={"mqtt": "debug", "dbase": "error"}, photometers={"stars7": "debug"})
    logger.bind(ns="mqtt").debug("mqtt-debug-shown")
    logger.bind(ns="filter").debug("filter-debug-hidden")
    logger.bind(ns="dbase").warning("dbase-warning-hidden")
    logger.bind(ns="filter", name="stars7").debug("stars7-debug-shown")
    logger.bind(ns="filter", name="stars8").debug("stars8-debug-hidden")
    logger.bind(ns="filter").info("filter-info-shown")
    text = path.read_text()
    assert "mqtt-debug-shown" in text and "stars7-debug-shown" in text and "filter-info-shown" in text
    assert "hidden" not in text


def test_json_lines_and_stdlib_logging_routed(tmp_path):
    path = setup(tmp_path, json=True)
    logging.getLogger("paho.mqtt.client").warning("from paho %s", "lib")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records[-1]["record"]["message"] == "from paho lib"
    assert records[-1]["record"]["extra"]["ns"] == "paho.mqtt.client"


def test_tracebacks_never_show_variable_values(tmp_path):
    path = setup(tmp_path)
    secret_value = "hunter2-password"  # noqa: F841 - must not appear in the log
    try:
        raise ValueError("boom")
    except ValueError:
        logger.bind(ns="x").exception("failed")
    text = path.read_text()
    assert "ValueError: boom" in text and "hunter2-password" not in text


def test_json_also_on_the_console_for_the_journal(tmp_path, capsys):
    for as_json in (True, False):  # the text console is the positive control
        setup(tmp_path, json=as_json, console=True, file="")
        logger.bind(ns="server").warning("to the journal")
        err = capsys.readouterr().err.strip().splitlines()[-1]
        if as_json:
            assert json.loads(err)["record"]["message"] == "to the journal"
        else:
            assert "to the journal" in err and not err.startswith("{")
