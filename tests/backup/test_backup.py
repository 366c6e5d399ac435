"""`tessdb-core backup` on SQLite: checked copies, synced, named by time; only its own old files deleted."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tessdb_maint import backup as backup_mod

from .conftest import integrity, rows_of

STAMP = r"\d{8}T\d{6}Z"


def own_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_backup_writes_checked_copies_of_the_database_and_the_inbox(tdb, db, tmp_path):
    r = tdb("backup", "--to", tmp_path / "backups")
    assert r.code == 0, r.err
    folder = tmp_path / "backups"
    names = own_files(folder)
    assert len(names) == 2 and re.fullmatch(rf"tess-({STAMP})\.db", names[0])
    stamp = re.fullmatch(rf"tess-({STAMP})\.db", names[0]).group(1)
    assert names[1] == f"tessdb-inbox-{stamp}.db"  # beside it, the same time; nothing else (no partial file)
    assert abs(datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
               - datetime.now(timezone.utc)) < timedelta(minutes=1)
    # the paths printed, one line each
    lines = r.out.splitlines()
    assert lines[0].startswith(f"{folder / names[0]}  (database {db.name}: ")
    assert "integrity_check ok" in lines[0]
    assert lines[1].startswith(f"{folder / names[1]}  (inbox tessdb-inbox.db: ") and "1 waiting, 1 quarantined" in lines[1]
    # the copies: sound, and the same rows as the database and the inbox
    copy, inbox_copy = folder / names[0], folder / names[1]
    assert integrity(copy) == ["ok"] and integrity(inbox_copy) == ["ok"]
    assert rows_of(copy) == rows_of(db, copy=False)
    assert rows_of(inbox_copy) == {"inbox_t": 1, "quarantine_t": 1}
    readings = rows_of(db, copy=False)["tess_readings_t"]
    assert readings > 50 and f"{readings + 3} reading(s)" in lines[0]
    # a copy is a database the tools open as they are (restore = copy it back)
    assert tdb("readings", "count", "stars1", "--db", copy).out.strip() == f"stars1: {readings} reading(s)"
    assert not list(folder.glob("*-wal")) and not list(folder.glob("*-shm"))


def test_the_json_output_says_what_was_written_and_checked(tdb, db, tmp_path):
    r = tdb("backup", "--to", tmp_path / "b", "--json")
    got = json.loads(r.out)
    assert Path(got["database"]["path"]).name == f"tess-{got['stamp']}.db"
    assert got["database"]["integrity_check"] == "ok" and got["database"]["journal_mode"] == "wal"
    assert got["database"]["rows"] == rows_of(db, copy=False)
    assert Path(got["inbox"]["path"]).name == f"tessdb-inbox-{got['stamp']}.db"
    assert got["inbox"]["rows"]["inbox_t"] == 1 and got["deleted"] == [] and got["notes"] == []


def test_a_database_in_rollback_journal_mode(tdb, db, tmp_path):
    """A 4.x file keeps its journal mode: it is copied the same way (its writer waits meanwhile)."""
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] == "delete"
    conn.close()
    got = json.loads(tdb("backup", "--to", tmp_path / "b", "--json").out)
    assert got["database"]["journal_mode"] == "delete" and got["database"]["integrity_check"] == "ok"
    assert rows_of(Path(got["database"]["path"])) == rows_of(db, copy=False)


def test_files_and_folder_are_synced(tdb, db, tmp_path, monkeypatch):
    synced: list[tuple[int, int]] = []
    real_fsync = os.fsync

    def fsync(fd):
        st = os.fstat(fd)
        synced.append((st.st_dev, st.st_ino))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    folder = tmp_path / "b"
    got = json.loads(tdb("backup", "--to", folder, "--json").out)

    def ident(p) -> tuple[int, int]:
        st = os.stat(p)
        return st.st_dev, st.st_ino

    for path in (got["database"]["path"], got["inbox"]["path"]):
        assert ident(path) in synced, path  # the file (synced before its rename: the same inode)
    assert synced.count(ident(folder)) >= 2  # the folder, after each rename


def test_without_an_inbox_file_the_database_is_still_backed_up(tdb, db, tmp_path):
    (tmp_path / "tessdb-inbox.db").unlink()
    r = tdb("backup", "--to", tmp_path / "b")
    assert r.code == 0 and "note: no inbox file at tessdb-inbox.db ([inbox] path): not copied" in r.out
    assert [p.name.startswith("tess-") for p in (tmp_path / "b").iterdir()] == [True]


def test_keep_deletes_only_the_oldest_of_its_own_files(tdb, db, tmp_path):
    folder = tmp_path / "b"
    folder.mkdir()
    own = ["tess-20200101T000000Z.db", "tessdb-inbox-20200101T000000Z.db",  # oldest: goes
           "tessdb-inbox-20191231T000000Z.db",  # an inbox copy alone, older still: goes
           "tess-20200102T000000Z.db",  # no inbox copy: goes with --keep 2
           "tess-20200103T000000Z.dump", "tessdb-inbox-20200103T000000Z.db"]  # the newest old one: kept
    foreign = ["notes.txt", "tess-20200101T000000Z.db.bak", "tess-latest.db", "tess-2020-01-01.db",
               "tessdb-inbox.db", "TESS-20190101T000000Z.db", "tess-20190101T000000Z.db.gz"]
    for name in own + foreign:
        (folder / name).write_text("x")
    (folder / "old-copies").mkdir()
    (folder / "old-copies" / "tess-20100101T000000Z.db").write_text("x")  # another folder: never looked at
    # temporary files of a backup that died: a day old goes, a fresh one (a backup running now?) stays
    stale, fresh = folder / ".tess-20190101T000000Z.db.partial", folder / ".tess-20200104T000000Z.db.partial"
    stale.write_text("x")
    fresh.write_text("x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))

    got = json.loads(tdb("backup", "--to", folder, "--keep", "2", "--json").out)
    deleted = sorted(Path(p).name for p in got["deleted"])
    assert deleted == sorted(["tess-20200101T000000Z.db", "tessdb-inbox-20200101T000000Z.db",
                              "tessdb-inbox-20191231T000000Z.db", "tess-20200102T000000Z.db", stale.name])
    new = [Path(got["database"]["path"]).name, Path(got["inbox"]["path"]).name]
    assert own_files(folder) == sorted(foreign + new + ["tess-20200103T000000Z.dump",
                                                        "tessdb-inbox-20200103T000000Z.db", fresh.name,
                                                        "old-copies"])
    assert (folder / "old-copies" / "tess-20100101T000000Z.db").exists()
    # --keep 1: the older .dump set goes too; --keep 0: nothing is deleted
    got = json.loads(tdb("backup", "--to", folder, "--keep", "0", "--json").out)
    assert got["deleted"] == []
    got = json.loads(tdb("backup", "--to", folder, "--keep", "1", "--json").out)
    assert len(got["deleted"]) == 6  # the .dump set and the two sets written above
    assert [n for n in own_files(folder) if backup_mod.DB_FILE.fullmatch(n)] == [Path(got["database"]["path"]).name]


def test_two_backups_in_one_second_get_two_names(tmp_path):
    clock = iter([datetime(2026, 11, 30, 12, 0, 0, tzinfo=timezone.utc)] * 2
                 + [datetime(2026, 11, 30, 12, 0, 1, tzinfo=timezone.utc)])
    (tmp_path / "tess-20261130T120000Z.db").write_text("x")
    assert backup_mod.new_stamp(tmp_path, ".db", lambda: next(clock)) == "20261130T120001Z"


# -- errors: one line naming the file, exit 2, nothing left behind -----------------------------------------
def test_a_folder_that_is_a_file(tdb, db, tmp_path):
    (tmp_path / "afile").write_text("x")
    assert tdb("backup", "--to", tmp_path / "afile").error == f"backup folder {tmp_path / 'afile'} is not a folder"
    message = tdb("backup", "--to", tmp_path / "afile" / "sub").error
    assert message == f"cannot create the backup folder {tmp_path / 'afile' / 'sub'}: Not a directory"


def test_a_missing_database(tdb, tmp_path):
    message = tdb("backup", "--to", tmp_path / "b", "--db", tmp_path / "nothere.db").error
    assert "nothere.db does not exist" in message
    assert not (tmp_path / "b").exists() or not list((tmp_path / "b").iterdir())


def test_a_full_disk(tdb, db, tmp_path, ext4_image):
    disk = ext4_image(8)
    folder = disk.path / "backups"
    folder.mkdir()
    (folder / "tess-20200101T000000Z.db").write_text("an older backup")
    disk.fill()
    message = tdb("backup", "--to", folder, "--keep", "1").error
    assert re.fullmatch(rf"cannot write the backup {re.escape(str(folder))}/tess-{STAMP}\.db: "
                        r"(database or disk is full|.*No space left on device.*)", message), message
    assert own_files(folder) == ["tess-20200101T000000Z.db"]  # no partial file, the older backup kept


def test_a_read_only_file_system(tdb, db, tmp_path, ext4_image):
    disk = ext4_image(8)
    folder = disk.path / "backups"
    folder.mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(disk.path)], check=True)
    try:
        assert tdb("backup", "--to", folder).error == f"backup folder {folder} is not writable (read-only file system)"
        message = tdb("backup", "--to", disk.path / "other").error
        assert message == f"cannot create the backup folder {disk.path / 'other'}: Read-only file system"
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(disk.path)], check=True)


def test_the_command_line_as_the_timer_runs_it(db, tmp_path):
    """A child process, as systemd runs it: the paths on stdout, nothing on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    env["TESSDB_LOGS__LEVEL"] = '"warning"'
    out = subprocess.run([sys.executable, "-m", "tessdb_core.cli", "backup", "--to", "b", "--keep", "3"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert [line.split("  ")[0] for line in out.stdout.splitlines()] == \
        [str(tmp_path / "b" / n) for n in own_files(tmp_path / "b")]


# -- the checks of a copy -------------------------------------------------------------------------------
def small_db(path: Path, rows: int = 2000) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, pad TEXT)")
    conn.execute("CREATE INDEX t_pad ON t (pad)")
    conn.executemany("INSERT INTO t (pad) VALUES (?)", [(f"row {i:06d}" * 5,) for i in range(rows)])
    conn.commit()
    conn.close()
    return path


def test_a_copy_that_differs_from_its_snapshot_is_refused(tmp_path):
    from tessdb_star.backup import BackupError, check_copy

    db = small_db(tmp_path / "a.db")
    assert check_copy(db, {"t": 2000}, nonempty=("t",))["integrity_check"] == "ok"
    with pytest.raises(BackupError, match="the copy holds 2000 row\\(s\\) of t, the database 2001"):
        check_copy(db, {"t": 2001})
    with pytest.raises(BackupError, match="lacks table\\(s\\) u"):
        check_copy(db, {"t": 2000, "u": 0})
    # a damaged page: an index page overwritten in the middle of the file
    data = bytearray(db.read_bytes())
    page = 4096
    middle = (len(data) // page // 2) * page
    data[middle + 100:middle + 600] = b"\x00" * 500
    db.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="integrity_check on the copy says|cannot check the copy"):
        check_copy(db, {"t": 2000})
