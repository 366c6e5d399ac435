"""Every hook has a test named after it (datasette's rule), and the name hook works."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from tessdb_core import hookspecs

TESTS = Path(__file__).resolve().parents[1]


def hook_names() -> list[str]:
    return [n for n, fn in inspect.getmembers(hookspecs, inspect.isfunction) if n.startswith("tessdb_")]


def named_tests(root: Path = TESTS) -> set[str]:
    """The names of the test functions under ``root`` (not the words of their bodies)."""
    return {node.name for path in root.rglob("test_*.py")
            for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")}


def test_every_hook_is_named_by_a_test():
    names = named_tests()
    untested = [h for h in hook_names() if not any(h in n for n in names)]
    assert untested == [], f"hooks no test is named after: {untested}"


def test_a_hook_named_only_in_a_body_does_not_count(tmp_path):  # the positive control of the test above
    (tmp_path / "test_x.py").write_text("def test_something():\n    tessdb_decode = 1\n"
                                        "def test_tessdb_store_opens():\n    pass\n")
    assert named_tests(tmp_path) == {"test_something", "test_tessdb_store_opens"}


@pytest.mark.parametrize("typed, expected", [("stars1", "stars1"), ("STARS1267", "stars1267"),
                                             ("nota-name", None), ("stars1/../x", None), ("", None)])
def test_tessdb_photometer_name_normalises_like_the_decoder(typed, expected):
    from tessdb_core.app import create

    app = create(entrypoints=True, configure_logs=False)
    assert app.pm.hook.tessdb_photometer_name(name=typed, settings=app.settings) == expected
    assert app.stages.photometer_name(typed, app.settings) == expected


def test_tessdb_photometer_name_follows_the_name_pattern_setting(monkeypatch):
    from tessdb_core.app import create

    monkeypatch.setenv("TESSDB_RULES__NAME_PATTERN", "'^tess-[a-z]+$'")
    app = create(entrypoints=True, configure_logs=False)
    assert app.stages.photometer_name("TESS-north", app.settings) == "tess-north"
    assert app.stages.photometer_name("stars1", app.settings) is None


def test_tessdb_cli_commands_adds_each_plugins_commands():
    import click

    from tessdb_core.app import create

    app = create(entrypoints=True, configure_logs=False)
    group = click.Group("t")
    app.pm.hook.tessdb_cli_commands(cli=group)
    assert {"report", "instrument", "location", "simulate", "copy", "demo"} <= set(group.commands)


def test_tessdb_queries_gives_each_interface_for_its_store_only(tmp_path):
    from tessdb_core import BackupQueries, MaintenanceQueries, ReportQueries
    from tessdb_core.app import create

    app = create(entrypoints=True, configure_logs=False)
    store = app.store(str(tmp_path / "tess.db"))
    store.initialise()
    store.open()
    try:
        reports = app.pm.hook.tessdb_queries(store=store, interface=ReportQueries, settings=app.settings)
        maintenance = app.pm.hook.tessdb_queries(store=store, interface=MaintenanceQueries, settings=app.settings)
        assert type(reports).__name__ == "SqliteReports" and type(maintenance).__name__ == "SqliteMaintenance"
        assert isinstance(reports, ReportQueries) and isinstance(maintenance, MaintenanceQueries)
        assert isinstance(app.queries(BackupQueries, store), BackupQueries)
        assert app.pm.hook.tessdb_queries(store=store, interface=dict, settings=app.settings) is None
        assert app.pm.hook.tessdb_queries(store=object(), interface=ReportQueries, settings=app.settings) is None
    finally:
        store.close()


def test_tessdb_startup_and_tessdb_shutdown_frame_an_ingest(tmp_path, monkeypatch):
    """The offline ingest calls tessdb_startup before the first message and
    tessdb_shutdown after the last write."""
    from tessdb_core import hookimpl
    from tessdb_core.app import create
    from tessdb_core.ingest import ingest

    calls: list[str] = []

    class Recorder:
        @hookimpl
        def tessdb_startup(self, settings):
            calls.append("startup")

        @hookimpl
        def tessdb_shutdown(self, settings):
            calls.append(f"shutdown after {store_rows()} rows")

    monkeypatch.chdir(tmp_path)
    app = create(entrypoints=True, configure_logs=False, extra_plugins=[("recorder", Recorder())])
    db = tmp_path / "tess.db"
    app.store(str(db)).initialise()

    def store_rows() -> int:
        import sqlite3

        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT COUNT(*) FROM tess_t").fetchone()[0]

    capture = tmp_path / "in.jsonl"
    import json

    payload = json.dumps({"name": "stars1", "mac": "AA:BB:CC:DD:EE:01", "calib": 20.5, "rev": 2,
                          "tstamp": "2026-01-01T00:00:00"})
    capture.write_text(json.dumps({"topic": "STARS4ALL/register", "payload": payload}) + "\n")
    before = store_rows()
    ingest(app, [str(capture)], db=str(db), progress=False)
    assert calls == ["startup", f"shutdown after {before + 1} rows"]
