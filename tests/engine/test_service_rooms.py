"""The service's rooms: one backoff for every retry, each control action named once, and a
readiness that waits for the broker to grant the subscriptions."""

from __future__ import annotations

import signal
from types import SimpleNamespace

from tessdb_core.backoff import Backoff
from tessdb_core.controls import ACTIONS
from tessdb_core.notices import Notices
from tessdb_core.outage import Outage
from tessdb_core.settings import Settings
from tessdb_core.telemetry import Telemetry


def test_one_backoff_doubles_to_its_ceiling_and_starts_again():
    b = Backoff(0.5, 3)
    assert [b.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    b.reset()
    assert b.next() == 0.5
    b.reset(first=2, longest=4)
    assert [b.next() for _ in range(3)] == [2.0, 4.0, 4.0]


def test_an_outage_retries_with_the_backoff():
    o = Outage("Database x", "dbase", first_delay=1, longest_delay=4)
    o.failed("cannot take writes: disk full", "retried")
    assert round(o.retry_at - o.since, 1) == 1.0
    for _ in range(3):
        o.failed("cannot take writes: disk full", "retried")
    assert o.backoff.current == 4.0 and (o.total, o.failures) == (1, 4)
    o.recovered("takes writes again")
    o.failed("cannot take writes: I/O error", "retried")
    assert round(o.retry_at - o.since, 1) == 1.0 and o.total == 2


def test_each_control_action_is_named_once_and_reaches_the_service_the_cli_and_the_signals():
    from tessdb_core.cli import cli
    from tessdb_core.service import Service

    assert list(ACTIONS) == ["reload", "pause", "resume", "flush", "stop"]
    for name, action in ACTIONS.items():
        assert callable(getattr(Service, f"do_{name}")), name
        assert cli.commands[name].help == action.help
        assert all(isinstance(getattr(signal, s), signal.Signals) for s in action.signals)
    assert {s for a in ACTIONS.values() for s in a.signals} == {"SIGHUP", "SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT"}


def _service(subscribed: bool, problem: str | None = None):
    mqtt = SimpleNamespace(connected=True, subscribed=subscribed, subscription_problem=problem, topics=["a/#"],
                           state="connected", silent_for=lambda: 0.0, sessions_lost=0)
    return SimpleNamespace(mqtt=mqtt, inbox_outage=Outage("Inbox i", "server"),
                           store_outage=Outage("Database d", "dbase"), held=[], inbox_depth=lambda: 0, paused=False, notices=Notices(),
                           settings=Settings.from_dict({"inbox": {"chunk": 2000}, "mqtt": {"silent_after": 300}}))


def test_ready_only_once_the_broker_granted_the_subscriptions():
    waiting = Telemetry(_service(subscribed=False)).health()
    assert waiting == (False, "MQTT connected, waiting for the broker to grant the subscriptions")
    assert Telemetry(_service(subscribed=True)).health() == (True, "ok")
    refused = Telemetry(_service(subscribed=False, problem="a/#: Not authorized")).health()
    assert refused[0] is False and "subscription refused by the broker" in refused[1]
    svc = _service(subscribed=True)
    svc.notices.add("session_lost", "the broker lost the collector's session")
    assert Telemetry(svc).health() == (True, "ok; the broker lost the collector's session")
