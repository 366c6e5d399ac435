"""A retired photometer (``instrument retire``: its name no longer in the service's catalogue)
closes its open "silent" alarm and is no longer watched; one still in the catalogue stays."""

from __future__ import annotations

from dataclasses import replace

from tessdb_alarms.checks import Observation, Watch, advance, decide, photometer_key


def _obs(stored: int, last: dict[str, float], current: set[str] | None) -> Observation:
    return Observation(stored, dict(last), "ok", {}, current=frozenset(current) if current is not None else None)


def test_a_retired_photometer_closes_its_silent_alarm_and_leaves_the_watch():
    w = Watch(0, 0, photometers={"stars1": (100.0, 0.0), "stars2": (100.0, 0.0)})
    both = {"stars1", "stars2"}
    w, _ = advance(w, _obs(5, {}, both), 40)
    opened, _cleared = decide(w, _obs(5, {}, both), set(), 1000, 30)
    assert sorted(o.name for o in opened) == ["stars1", "stars2"]  # both silent: the positive control
    open_keys = {photometer_key("stars1"), photometer_key("stars2")}
    obs = _obs(6, {}, {"stars2"})  # stars1 retired
    w, _ = advance(w, obs, 41)
    opened, cleared = decide(w, obs, open_keys, 1000, 30)
    assert set(w.photometers) == {"stars2"}
    assert [c.key for c in cleared] == [photometer_key("stars1")] and "retired" in cleared[0].detail
    assert opened == []
    w, _ = advance(w, obs, 500)
    opened, cleared = decide(w, obs, {photometer_key("stars2")}, 1000, 30)
    assert opened == [] and cleared == []  # stars1 never reopens


def test_without_the_catalogue_nothing_is_dropped():
    w = Watch(0, 0, photometers={"stars1": (100.0, 0.0)})
    obs = _obs(5, {}, None)  # a service that does not say (older Controls)
    w2, _ = advance(w, obs, 40)
    assert set(w2.photometers) == {"stars1"}
    assert decide(w2, obs, {photometer_key("stars1")}, 1000, 30)[1] == []
    assert replace(obs, current=frozenset()).current == frozenset()
