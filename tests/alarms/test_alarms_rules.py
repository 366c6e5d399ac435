"""The alarm rules (pure), the settings, and the monitor over its state file with a stand-in
for the service's Controls and a real SMTP server: once per alarm, across a restart, retried."""

from __future__ import annotations

import pytest

from tessdb_alarms import tessdb_settings_schema
from tessdb_alarms.checks import Observation, Watch, advance, decide
from tessdb_alarms.config import AlarmSettings, Smtp
from tessdb_alarms.messages import compose
from tessdb_alarms.monitor import Monitor
from tessdb_alarms.state import Alarm, AlarmState, Notification
from tessdb_core.settings import SettingsError, load

from broker import free_port

from .conftest import HOST, PASSWORD, SmtpServer


# -- settings ---------------------------------------------------------------------------------
def _load(**env: str):
    return load(sections=tessdb_settings_schema(),
                environ={f"TESSDB_ALARMS__{k}": v for k, v in env.items()})


def test_defaults_and_durations():
    cfg = AlarmSettings.from_settings(_load())
    assert (cfg.check_every, cfg.stalled_after, cfg.silent_after) == (60, 1200, 7200)
    assert cfg.channels == () and not cfg.enabled and str(cfg.state_path) == "tessdb-alarms.db"
    cfg = AlarmSettings.from_settings(_load(CHECK_EVERY="90s", STALLED_AFTER="1h30m", PHOTOMETER_SILENT_AFTER="2h",
                                            WEBHOOK_URL="https://example.org/hook"))
    assert (cfg.check_every, cfg.stalled_after, cfg.silent_after) == (90, 5400, 7200)
    assert cfg.channels == ("webhook",)


@pytest.mark.parametrize("key, value", [("STALLED_AFTER", "20"), ("STALLED_AFTER", "0s"), ("CHECK_EVERY", "2d"),
                                        ("PHOTOMETER_SILENT_AFTER", "2 fortnights"), ("SMTP_PORT", "0"),
                                        ("RECEIVERS", '["not an address"]'), ("WEBHOOK_URL", "ftp://x"),
                                        ("CA_FILE", "/no/such/ca.pem")])
def test_a_bad_setting_is_refused_naming_its_key(key, value):
    with pytest.raises(SettingsError, match=f"setting alarms.{key.lower()} = .* is not valid: expected"):
        _load(**{key: value})


def test_the_smtp_password_is_a_secret_kept_verbatim():
    settings = _load(SMTP_PASSWORD="84736251", RECEIVERS='["ops@example.org"]', SMTP_HOST="mail.example.org",
                     SENDER="tessdb@example.org")
    assert settings.alarms.smtp_password == "84736251"  # a string, not read as a number
    assert settings.redacted()["alarms"]["smtp_password"] == "********"
    assert "84736251" not in repr(settings) and "84736251" not in repr(AlarmSettings.from_settings(settings))


# -- the rules --------------------------------------------------------------------------------
def _obs(stored=0, last=None, health="ok", **available) -> Observation:
    return Observation(stored, dict(last or {}), health, available)


def _run(watch: Watch, obs: Observation, clock: float, open_keys=(), stalled=10, silent=30):
    watch, _ = advance(watch, obs, clock)
    return watch, decide(watch, obs, set(open_keys), stalled, silent)


def test_a_stall_opens_after_stalled_after_and_clears_when_readings_are_stored():
    w = Watch(0, 0)
    w, (opened, cleared) = _run(w, _obs(5), 1)
    assert not opened and w.last_progress == 1
    w, (opened, cleared) = _run(w, _obs(5), 10.5)
    assert not opened  # 9.5 s without a reading
    w, (opened, cleared) = _run(w, _obs(5, health="connected but silent for 40 s"), 11)
    assert [o.key for o in opened] == ["stalled"] and "no reading stored for 10 s" in opened[0].detail
    assert "connected but silent for 40 s" in opened[0].detail
    w, (opened, cleared) = _run(w, _obs(5), 50, open_keys={"stalled"})
    assert not opened and not cleared  # once
    w, (opened, cleared) = _run(w, _obs(6), 51, open_keys={"stalled"})
    assert [c.key for c in cleared] == ["stalled"]


def test_a_service_that_does_not_answer_counts_as_stalled():
    w, (opened, _) = _run(Watch(0, 0), Observation(problem="TimeoutError"), 12)
    assert opened[0].key == "stalled" and "did not answer: TimeoutError" in opened[0].detail


def test_photometers_silent_in_one_check_make_one_message():
    w = Watch(0, 0)
    w, _ = _run(w, _obs(4, {"stars1": 100.0, "stars2": 100.0, "stars3": 100.0, "stars4": 100.0}), 1)
    for clock in range(2, 31):  # stars4 goes on sending, the others do not
        w, (opened, cleared) = _run(w, _obs(4 + clock, {"stars1": 100.0, "stars2": 100.0, "stars3": 100.0,
                                                         "stars4": 100.0 + clock}), clock)
        assert not opened
    w, (opened, cleared) = _run(w, _obs(40, {"stars4": 140.0}), 31)
    assert [o.name for o in opened] == ["stars1", "stars2", "stars3"]
    alarms = [_alarm(i, o) for i, o in enumerate(opened)]
    notes = compose(alarms, [], "box", 1_000_000.0, w.photometers)
    assert len(notes) == 1
    assert notes[0].subject == "[tessdb box] ALARM: 3 photometers silent: stars1, stars2, stars3"
    assert notes[0].data["photometers"] == ["stars1", "stars2", "stars3"] and "stars4" not in notes[0].body


def test_readings_stored_a_moment_apart_across_a_check_fall_silent_together():
    """stars1's last reading was seen by the check at 1, stars2's (stored a moment later, just
    after that check looked) by the next check, 1.65 s later on a busy service: one message,
    never one per check; stars3, seen one check later still, is a check later."""
    w = Watch(0, 0)
    w, _ = _run(w, _obs(1, {"stars1": 100.0}), 1)
    w, _ = _run(w, _obs(2, {"stars1": 100.0, "stars2": 100.0}), 2.65)
    w, _ = _run(w, _obs(3, {"stars1": 100.0, "stars2": 100.0, "stars3": 100.0}), 4.3)
    assert w.since == {"stars1": 0, "stars2": 1, "stars3": 2.65}
    watch, _ = advance(w, _obs(3, {}), 30.5)
    assert decide(watch, _obs(3, {}), set(), 100, 30, check_every=1.0) == ([], [])  # nobody silent yet
    w, _ = advance(w, _obs(3, {}), 31)
    opened, cleared = decide(w, _obs(3, {}), set(), 100, 30, check_every=1.0)
    assert [o.name for o in opened] == ["stars1", "stars2"] and not cleared
    assert [o.detail for o in opened] == ["no reading stored for 30 s", "no reading stored for 28 s"]
    both = {"photometer:stars1", "photometer:stars2"}
    w, _ = advance(w, _obs(3, {}), 33)
    assert decide(w, _obs(3, {}), both, 100, 30, check_every=1.0) == ([], [])  # nobody else silent: wait
    w, _ = advance(w, _obs(3, {}), 34.5)
    opened, _ = decide(w, _obs(3, {}), both, 100, 30, check_every=1.0)
    assert [o.name for o in opened] == ["stars3"]
    # after a restart (no ``since``): one check period is assumed
    restarted = Watch(31, w.last_progress, photometers=w.photometers)
    opened, _ = decide(restarted, _obs(3, {}), set(), 100, 30, check_every=1.65)
    assert [o.name for o in opened] == ["stars1", "stars2"]
    opened, _ = decide(restarted, _obs(3, {}), set(), 100, 30, check_every=1.0)
    assert [o.name for o in opened] == ["stars1"]


def _alarm(i, opening):
    return Alarm(i, opening.key, opening.kind, opening.name, 999_000.0, opening.detail)


def test_while_the_collector_is_stalled_photometers_are_not_reported_one_by_one():
    w = Watch(0, 0)
    w, _ = _run(w, _obs(1, {"stars1": 1.0}), 1)
    w, (opened, _) = _run(w, _obs(1, {"stars1": 1.0}), 100, stalled=10, silent=30)
    assert [o.key for o in opened] == ["stalled"]
    w, (opened, cleared) = _run(w, _obs(2, {"stars1": 1.0, "stars2": 5.0}), 101, open_keys={"stalled"})
    assert [c.key for c in cleared] == ["stalled"]
    assert [o.key for o in opened] == ["photometer:stars1"]  # still silent once the stall is over


def test_inbox_and_database_trouble_from_health():
    w = Watch(0, 0)
    why = "Database /srv/tess.db disk full (for 3 s); 12 messages wait in the inbox"
    w, (opened, _) = _run(w, _obs(1, health=why, store_available=False), 1)
    assert [(o.key, o.detail) for o in opened] == [("database", why)]
    # the inbox's outage hides the database's in /health: the flag of /metrics still says so
    inbox = "Inbox /var/lib/tessdb/inbox.db read-only (for 1 s); not acknowledging"
    w, (opened, cleared) = _run(w, _obs(2, health=inbox, store_available=False, inbox_available=False), 2,
                                open_keys={"database"})
    assert [o.key for o in opened] == ["inbox"] and not cleared
    w, (opened, cleared) = _run(w, _obs(3, store_available=True, inbox_available=True), 3,
                                open_keys={"database", "inbox"})
    assert not opened and sorted(c.key for c in cleared) == ["database", "inbox"]
    w, (opened, _) = _run(w, _obs(4, health="paused; 3 messages waiting in the inbox"), 4)
    assert not opened  # a pause is the operator's, not a fault


# -- the monitor over its file, with a real SMTP server ---------------------------------------
class FakeControls:
    """Stands in for the service's Controls (the live tests use the real service)."""

    def __init__(self):
        self.stored, self.last = 0, {}

    def metrics(self):
        return {"counters": {"stored": self.stored}, "inbox_available": True, "store_available": True}

    def health(self):
        return True, "ok"

    def last_readings(self):
        return dict(self.last)


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _monitor(tmp_path, smtp_port: int, clock: Clock) -> Monitor:
    """A monitor of a new run of the service (its counters from 0) over the test's state file."""
    smtp = Smtp(HOST, smtp_port, False, "", "", "tessdb@example.org", ("ops@example.org",), "")
    cfg = AlarmSettings(1, 10, 3600, tmp_path / "alarms.db", smtp, "", "", "box")
    return Monitor(FakeControls(), cfg, AlarmState(cfg.state_path), clock, clock)


def _check_after(monitor: Monitor, clock: Clock, seconds: float, stored: int | None = None) -> None:
    clock.t += seconds
    if stored is not None:
        monitor.controls.stored = stored
    monitor.check()


def test_a_restart_neither_repeats_nor_forgets_an_alarm(tmp_path, smtp):
    clock = Clock()
    monitor = _monitor(tmp_path, smtp.port, clock)
    _check_after(monitor, clock, 0, stored=3)
    _check_after(monitor, clock, 11)
    assert len(smtp.messages) == 1 and "ALARM: the collector stores no readings" in smtp.subjects()[0]
    monitor.state.close()
    clock.t += 3600  # the restart, an hour later (not counted as watched time)
    monitor = _monitor(tmp_path, smtp.port, clock)
    for _ in range(3):
        _check_after(monitor, clock, 5)
    assert len(smtp.messages) == 1
    _check_after(monitor, clock, 0, stored=1)
    assert len(smtp.messages) == 2 and "RECOVERED: the collector stores readings again" in smtp.subjects()[1]
    assert "60 min after the alarm of" in smtp.messages[1].get_content()
    monitor.state.close()


def test_downtime_is_not_counted_as_silence(tmp_path, smtp):
    clock = Clock()
    monitor = _monitor(tmp_path, smtp.port, clock)
    _check_after(monitor, clock, 0, stored=1)
    _check_after(monitor, clock, 8)
    monitor.state.close()
    clock.t += 3600  # the service is down for an hour
    monitor = _monitor(tmp_path, smtp.port, clock)
    _check_after(monitor, clock, 0)
    assert not smtp.messages  # 8 s watched, not an hour
    _check_after(monitor, clock, 2)
    assert len(smtp.messages) == 1  # 10 s watched
    monitor.state.close()


def test_a_failed_send_is_kept_and_retried_until_it_goes(tmp_path):
    port, clock = free_port(), Clock()
    monitor = _monitor(tmp_path, port, clock)
    _check_after(monitor, clock, 11)
    _check_after(monitor, clock, 1)
    [pending] = monitor.state.pending()
    assert pending.attempts == 2 and pending.last_error == f"SMTP 127.0.0.1:{port}: Connection refused"
    server = SmtpServer(port=port).start()
    try:
        _check_after(monitor, clock, 1)
        _check_after(monitor, clock, 1)
        assert len(server.messages) == 1 and monitor.state.pending() == []
    finally:
        server.stop()
        monitor.state.close()


def test_the_outbox_is_bounded(tmp_path, monkeypatch):
    import tessdb_alarms.state as state_mod

    monkeypatch.setattr(state_mod, "MOST_UNSENT", 3)
    state = AlarmState(tmp_path / "alarms.db")
    dropped = 0
    for i in range(5):
        with state.transaction() as conn:
            dropped += state.queue(conn, Notification(f"n{i}", "body", {}), ("email",), float(i))
    assert dropped == 2 and [p.note.subject for p in state.pending()] == ["n2", "n3", "n4"]
    state.close()


def test_a_notice_of_the_service_opens_an_alarm_while_it_is_reported():
    w = Watch(0, 0)
    text = ("the broker lost the collector's session; readings published between 2026-12-07 00:10:00 UTC and "
            "2026-12-07 00:10:05 UTC may be missing")
    obs = Observation(1, {}, "ok; " + text, notices={"session_lost": text})
    w, changed = advance(w, obs, 1)
    opened, cleared = decide(w, obs, set(), 1200, 7200)
    assert [(o.key, o.kind, o.detail) for o in opened] == [("notice:session_lost", "notice", text)] and not cleared
    notes = compose([Alarm(1, "notice:session_lost", "notice", "session_lost", 1.0, text)], [], "box", 2.0, {})
    assert "may be missing" in notes[0].subject + notes[0].body and notes[0].data["kind"] == "notice"
    still, _ = decide(w, obs, {"notice:session_lost"}, 1200, 7200)
    assert not still  # once per event, not once per check
    quiet = Observation(2, {}, "ok")
    w, _ = advance(w, quiet, 2)
    opened, cleared = decide(w, quiet, {"notice:session_lost"}, 1200, 7200)
    assert not opened and [c.key for c in cleared] == ["notice:session_lost"]


def test_tessdb_settings_reloaded_gives_the_monitor_a_rotated_smtp_password(tmp_path, tls_smtp):
    from tessdb_alarms import monitor as monitor_mod
    from tessdb_alarms import tessdb_settings_reloaded

    def settings(password: str):
        return _load(RECEIVERS='["ops@example.org"]', SENDER="tessdb@example.org", SMTP_HOST=HOST,
                     SMTP_PORT=str(tls_smtp.port), SMTP_STARTTLS="true", SMTP_USER="tessdb", SMTP_PASSWORD=password,
                     CA_FILE=str(tls_smtp.certs["ca"]), STATE_PATH=str(tmp_path / "alarms.db"),
                     STALLED_AFTER="10s", CHECK_EVERY="1s")

    clock = Clock()
    cfg = AlarmSettings.from_settings(settings("Wr0ng-" + PASSWORD))
    monitor = Monitor(FakeControls(), cfg, AlarmState(cfg.state_path), clock, clock)
    monitor_mod._current = monitor
    try:
        _check_after(monitor, clock, 0, stored=1)
        _check_after(monitor, clock, 11)  # the stall alarm: refused login, kept in the queue
        assert not tls_smtp.messages and len(monitor.state.pending()) == 1
        tessdb_settings_reloaded(settings=settings(PASSWORD))
        monitor.deliver_pending()
        assert tls_smtp.logins[-1] == "tessdb" and len(tls_smtp.messages) == 1
    finally:
        monitor_mod._current = None
        monitor.state.close()
