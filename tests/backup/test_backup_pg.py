"""`tessdb-core backup` on PostgreSQL: pg_dump when it is on the PATH, the advice when it is not;
the password never on pg_dump's command line nor in the output."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

from .conftest import feed, make_inbox

PASSWORD = "s3cret-Pw"


def with_password(url: str) -> str:
    """The test server trusts 127.0.0.1: a password in the URL is accepted and not needed."""
    return url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@")


def spy_on_pg_dump(folder: Path) -> Path:
    """A `pg_dump` first on the PATH that writes down its arguments and PGPASSWORD, then runs the real one."""
    real = shutil.which("pg_dump")
    assert real, "pg_dump is not installed (apt-get install postgresql-client)"
    folder.mkdir()
    log = folder / "calls.txt"
    script = folder / "pg_dump"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {log}\nprintf "PGPASSWORD=%s\\n" "$PGPASSWORD" >> {log}\n'
                      f'exec {real} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return log


def test_pg_dump_writes_a_custom_archive(tdb, pg_db, tmp_path, monkeypatch):
    assert tdb("ingest", feed(tmp_path / "feed.jsonl"), "--db", pg_db).code == 0
    make_inbox(tmp_path / "tessdb-inbox.db")
    calls = spy_on_pg_dump(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    r = tdb("backup", "--to", tmp_path / "b", "--db", with_password(pg_db), "--json")
    assert r.code == 0, r.err
    assert PASSWORD not in r.out + r.err
    got = json.loads(r.out)
    dump = Path(got["database"]["path"])
    assert re.fullmatch(r"tess-\d{8}T\d{6}Z\.dump", dump.name) and dump.read_bytes()[:5] == b"PGDMP"
    assert got["database"]["pg_restore"] == "ok"
    assert Path(got["inbox"]["path"]).name == f"tessdb-inbox-{got['stamp']}.db"  # the local file too
    # the password went in PGPASSWORD, never on the command line
    args = calls.read_text().splitlines()
    assert args[-1] == f"PGPASSWORD={PASSWORD}" and not any(PASSWORD in a for a in args[:-1])
    assert "--format=custom" in args and "--no-password" in args
    # the archive restores the readings
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"TABLE DATA public tess_readings_t ", listing)
    # the text output: the paths
    r = tdb("backup", "--to", tmp_path / "b", "--db", with_password(pg_db), "--keep", "1")
    assert r.code == 0 and PASSWORD not in r.out + r.err
    assert r.out.splitlines()[0].split("  ")[0].endswith(".dump") and "pg_restore --list ok" in r.out
    assert f"deleted {dump}" in r.out


def test_without_pg_dump_it_says_how(tdb, pg_db, tmp_path, monkeypatch):
    empty = tmp_path / "nobin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    r = tdb("backup", "--to", tmp_path / "b", "--db", with_password(pg_db))
    message = r.error
    assert "is a PostgreSQL database: back it up with pg_dump, which is not on the PATH" in message
    assert "pg_dump --format=custom --file DIR/tess-" in message and PASSWORD not in message
    assert not (tmp_path / "b").exists()


def test_a_failing_pg_dump_is_one_line_without_the_password(tdb, pg_db, tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    script = fake / "pg_dump"
    script.write_text('#!/bin/sh\necho "pg_dump: error: server said: password $PGPASSWORD is wrong" >&2\n'
                      'echo "second line" >&2\nexit 1\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    message = tdb("backup", "--to", tmp_path / "b", "--db", with_password(pg_db)).error
    assert re.fullmatch(rf"cannot write the backup {re.escape(str(tmp_path / 'b'))}/tess-\d{{8}}T\d{{6}}Z\.dump: "
                        r"pg_dump failed: pg_dump: error: server said: password \*\*\* is wrong", message), message
    assert list((tmp_path / "b").iterdir()) == []  # nothing left behind


def test_the_advice_for_a_url_without_password(tdb, pg_db, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert f"'{pg_db}'" in tdb("backup", "--to", tmp_path / "b", "--db", pg_db).error
