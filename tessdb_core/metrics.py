"""Prometheus families made from one snapshot of the running service.

Why a module of its own: the names are a public interface (dashboards and alert
rules in ``deploy/`` use them), so they live in one place, one family per stage
and outcome, with their units in the name as Prometheus' conventions ask
(``promtool check metrics`` runs on them in a test).
"""

from __future__ import annotations

import platform
from typing import Any, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

#: commit durations' bucket bounds (seconds)
COMMIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0)
#: dbase_readings counters -> the ``reason`` label of tessdb_readings_rejected_total
_REJECTED = {"rej_not_registered": "not_registered", "rej_hash_mismatch": "hash_mismatch",
             "rej_not_authorised": "not_authorised", "rej_duplicated": "duplicated"}


def render(snap: dict[str, Any]) -> str:
    """The text exposition format of one snapshot."""
    registry = CollectorRegistry()
    registry.register(_Collector(snap))
    return generate_latest(registry).decode()


class _Collector:
    def __init__(self, snap: dict[str, Any]):
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        snap, c = self.snap, self.snap["counters"]

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            return CounterMetricFamily(name, doc, value=value)

        def labelled(name: str, doc: str, label: str, prefix: str, rename: dict[str, str] | None = None
                     ) -> CounterMetricFamily:
            family = CounterMetricFamily(name, doc, labels=[label])
            for key, value in sorted(c.items()):
                if key.startswith(prefix):
                    raw = key[len(prefix):]
                    if rename is None or raw in rename:
                        family.add_metric([rename[raw] if rename else raw], value)
            return family

        yield counter("tessdb_messages_received", "Messages received (MQTT or ingest), every kind",
                      c.get("mqtt.num_published", 0))
        yield counter("tessdb_readings_received", "Reading messages decoded", c.get("mqtt.num_readings", 0))
        yield counter("tessdb_registrations_received", "Registration messages decoded", c.get("mqtt.num_register", 0))
        yield labelled("tessdb_messages_discarded", "Messages discarded on purpose (retained, white/black list)",
                       "reason", "discarded.")
        yield labelled("tessdb_registrations_applied", "Registrations applied, by case", "case",
                       "dbase_register.num_", {k: k for k in ("created", "renamed", "replaced", "rebooted",
                                                               "extinct", "zp_changed")})
        yield labelled("tessdb_readings_rejected", "Readings not stored at resolution or write, by reason", "reason",
                       "dbase_readings.", _REJECTED)
        yield counter("tessdb_readings_stored", "Readings committed to the database", c.get("stored", 0))
        yield labelled("tessdb_quarantined", "Messages quarantined, by reason", "reason", "quarantined.")
        yield labelled("tessdb_filter_dropped", "Readings dropped by a filter", "filter", "filter.dropped.")
        yield counter("tessdb_quarantine_dropped", "Quarantine entries dropped to stay within [quarantine] max_mb "
                      "and keep_days", c.get("quarantine.dropped", 0))
        outages = CounterMetricFamily("tessdb_outages", "Times the database or the inbox became unavailable",
                                      labels=["resource"])
        for resource, n in sorted(snap.get("outages", {}).items()):
            outages.add_metric([resource], n)
        yield outages
        rescues = CounterMetricFamily("tessdb_files_rescued", "Times the inbox or the SQLite database file was "
                                      "found deleted or replaced under the service and its content copied back to "
                                      "the path", labels=["file"])
        for file, n in sorted(snap.get("rescues", {}).items()):
            rescues.add_metric([file], n)
        yield rescues
        yield counter("tessdb_mqtt_sessions_lost", "Times the broker answered 'session present: false' to a "
                      "reconnection: what was published for the collector while it was away may be missing",
                      snap.get("sessions_lost", 0))

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, value=value)

        yield gauge("tessdb_inbox_depth", "Messages waiting in the durable inbox", snap["inbox_depth"])
        yield gauge("tessdb_unacknowledged_messages", "Messages received but waiting for the inbox (not "
                    "acknowledged)", snap.get("held", 0))
        yield gauge("tessdb_last_message_age_seconds", "Seconds since the last MQTT message", snap["last_message_age"])
        yield gauge("tessdb_mqtt_connected", "1 when connected to the broker", int(snap["connected"]))
        yield gauge("tessdb_mqtt_subscribed", "1 when the broker granted every subscription at the QoS asked",
                    int(snap.get("subscribed", False)))
        yield gauge("tessdb_paused", "1 while paused", int(snap["paused"]))
        yield gauge("tessdb_store_available", "0 while the database cannot take writes (full disk, I/O error, held "
                    "by another program); readings wait in the inbox", int(snap.get("store_available", True)))
        yield gauge("tessdb_inbox_available", "0 while the inbox file cannot take messages; nothing is "
                    "acknowledged then", int(snap.get("inbox_available", True)))
        yield gauge("tessdb_start_time_seconds", "When the service started (UTC epoch seconds)",
                    snap.get("start_time", 0.0))
        last = GaugeMetricFamily("tessdb_photometer_last_reading_timestamp_seconds",
                                 "The newest stored reading of each photometer since the start (its own timestamp, "
                                 "UTC epoch seconds)", labels=["name"])
        for name, t in sorted(snap.get("last_readings", {}).items()):
            last.add_metric([name], t)
        yield last
        info = GaugeMetricFamily("tessdb_build_info", "The running versions (always 1)",
                                 labels=["version", "paho_mqtt", "python"])
        info.add_metric([snap.get("version", ""), snap.get("paho", ""), platform.python_version()], 1)
        yield info
        lat = snap["write_seconds"]
        buckets = [(str(b), sum(1 for x in lat if x <= b)) for b in COMMIT_BUCKETS] + [("+Inf", len(lat))]
        yield HistogramMetricFamily("tessdb_commit_duration_seconds", "Duration of each commit of readings and "
                                    "outcomes (the last 10,000)", buckets=buckets, sum_value=sum(lat))
