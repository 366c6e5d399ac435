"""FileWatch and rescue on real SQLite files: a deleted -wal, a file replaced by a stranger's,
a deleted file; what the open connection held ends up at the path, synced, and nothing else
is deleted."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from tessdb_core.events import Message
from tessdb_core.inbox import Inbox
from tessdb_core.localfile import LocalFile


def _filled(path, n=5) -> LocalFile:
    file = LocalFile(path, sync_on_commit=False)
    Inbox(file).add([Message("STARS4ALL/stars1/reading", b"{}", datetime(2026, 12, 7)) for _ in range(n)])
    file.sync_token()  # the service's first sync: the -wal is watched from now on
    return file


def _entries(path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM inbox_t").fetchone()[0]
    finally:
        conn.close()


def test_a_file_that_stays_is_not_lost(tmp_path):
    file = _filled(tmp_path / "inbox.db")
    assert file.lost() is None
    file.close()


def test_a_deleted_wal_is_noticed_and_its_commits_put_back(tmp_path):
    path = tmp_path / "inbox.db"
    file = _filled(path)
    path.with_name("inbox.db-wal").unlink()
    assert file.lost() == "its -wal was deleted"
    done, entries, _ = file.rescue()
    assert entries == 5 and done.set_aside_as is None and file.lost() is None
    file.close()
    assert _entries(path) == 5


def test_a_replaced_file_is_set_aside_never_deleted(tmp_path):
    path = tmp_path / "inbox.db"
    file = _filled(path)
    stranger = tmp_path / "other.db"
    with sqlite3.connect(stranger) as conn:
        conn.execute("CREATE TABLE mine (x)")
    for suffix in ("", "-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.unlink()
    stranger.rename(path)
    assert file.lost() == "was replaced by another file"
    done, entries, _ = file.rescue()
    assert entries == 5 and done.set_aside_as.name.startswith("inbox.db.replaced-")
    with sqlite3.connect(done.set_aside_as) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("mine",)]
    Inbox(file).add([Message("STARS4ALL/stars1/reading", b"{}", datetime(2026, 12, 7))])
    file.close()
    assert _entries(path) == 6  # the new file is the one in use


def test_a_deleted_file_is_copied_back_from_the_open_connection(tmp_path):
    path = tmp_path / "inbox.db"
    file = _filled(path)
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink()
    assert file.lost() == "was deleted"
    file.rescue()
    file.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inbox.db"]  # no temporary file left
    assert _entries(path) == 5
