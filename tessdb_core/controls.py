"""What the admin API may ask of the running service: one small, documented interface.

Why: the admin API runs in the HTTP server's threads; the service owns the
pipeline, the inbox and the MQTT connection in its own thread.  The API receives
an object with exactly these methods (the service implements them, each carried
out in the service's thread between two turns of its loop), so it never touches
the pipeline and the service exposes no attributes to it.
"""

from __future__ import annotations

from typing import Any, Mapping, Protocol

#: the server actions of ``POST /v1/server/<action>`` (the reference's names)
ACTIONS = ("reload", "pause", "resume", "flush", "stop")


class Controls(Protocol):
    """The running service, as the admin API sees it."""

    def act(self, action: str) -> str:
        """Carry out one of :data:`ACTIONS`; return the reference's message ("Server paused
        operation").  Raises ValueError when it is refused (a bad settings file on reload)."""

    def health(self) -> tuple[bool, str]:
        """Readiness (ready, why): why is "ok" or the first problem, naming the file or the broker."""

    def live(self) -> tuple[bool, str]:
        """Liveness (alive, why): the service's loop turns.  Answered without waiting for the
        loop, so a stuck loop is reported instead of timing out."""

    def metrics(self) -> dict[str, Any]:
        """Cumulative counters and gauges (the keys of ``Service.metrics_snapshot``)."""

    def stats(self) -> dict[str, Any]:
        """The counters since the last periodic summary (``Stats.as_dict``)."""

    def photometer_name(self, raw: str) -> str | None:
        """``raw`` as a photometer name (normalised by the decoding plugin's rules: case,
        ``[rules] name_pattern``), or None when it is not one."""

    def photometers(self) -> set[str]:
        """Photometers with filter state or a configured log level or filter option."""

    def is_registered(self, name: str) -> bool:
        """True when the catalogue has (or had) a mapping for ``name``."""

    def filter_view(self, name: str) -> dict[str, Any]:
        """Every filter's view of one photometer, merged (``GET /v1/filter/{name}``)."""

    def filter_options(self, name: str) -> dict[str, Any]:
        """Every filter's settable options for one photometer, merged."""

    def configure_filters(self, name: str, options: Mapping[str, Any]) -> None:
        """Set options for one photometer; ValueError names an unknown option or a bad value
        (nothing is applied then)."""

    def set_level(self, level: str, namespace: str | None = None, photometer: str | None = None) -> None:
        """A log level for one namespace or one photometer."""

    def last_readings(self) -> dict[str, float]:
        """Photometer name -> UTC epoch seconds of its newest reading stored since the start
        (the reading's own timestamp): who is sending and who fell silent."""

    def newest_readings(self) -> dict[str, tuple[float, tuple[float, ...]]]:
        """Photometer name -> (UTC epoch seconds, magnitudes per channel) of its newest reading
        stored since the start: what the public status page shows, with no query."""

    def current_photometers(self) -> set[str]:
        """The names with a Current mapping in the service's catalogue: a name that left it
        (``instrument retire``, a rename) is no longer waited for."""
