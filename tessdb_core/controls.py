"""What the admin API may ask of the running service: one small, documented interface.

Why: the admin API runs in the HTTP server's threads; the service owns the
pipeline, the inbox and the MQTT connection in its own thread.  The API receives
an object with exactly these methods (the service implements them, each carried
out in the service's thread between two turns of its loop), so it never touches
the pipeline and the service exposes no attributes to it.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol

from .actions import ACTIONS, Action  # noqa: F401  (named here too: the admin API and the service import them from here)
from .contracts import StoreUnavailable
from .errors import BadValue, NotFound
from .localfile import LocalFileUnavailable
from .settings import SettingsError


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
        """Cumulative counters and gauges (the keys of ``Telemetry.snapshot``)."""

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


class ServiceControls:
    """The running service as the admin API and the plugins see it (:class:`Controls`): each
    call is carried out in the service's thread, between two turns of its loop."""

    def __init__(self, service: Any):
        """``service``: the running :class:`.service.Service` (not imported: no circle)."""
        self._svc = service

    def _call(self, fn: Callable[[], Any]) -> Any:
        return self._svc.call(fn)

    def act(self, action: str) -> str:
        if action not in ACTIONS:
            raise NotFound(f"no server action {action!r}")
        try:
            return self._call(getattr(self._svc, f"do_{action}"))
        except (SettingsError, StoreUnavailable, LocalFileUnavailable) as exc:
            raise BadValue(str(exc)) from None

    def health(self) -> tuple[bool, str]:
        return self._call(self._svc.telemetry.health)

    def live(self) -> tuple[bool, str]:
        return self._svc.telemetry.live()

    def metrics(self) -> dict[str, Any]:
        return self._call(self._svc.telemetry.snapshot)

    def stats(self) -> dict[str, Any]:
        return self._call(self._svc.stats.as_dict)

    def photometer_name(self, raw: str) -> str | None:
        svc = self._svc
        return self._call(lambda: svc.app.stages.photometer_name(raw, svc.settings))

    def photometers(self) -> set[str]:
        svc = self._svc

        def names() -> set[str]:
            from . import logs  # the service's; the CLI reads ACTIONS without the logging machinery

            found = set(logs.levels_in_force.photometers)
            if svc.pipeline is not None:
                found |= svc.pipeline.photometers_with_filter_state()
            found.update(svc.settings.get("filter.divisor", {}) or {})
            return found

        return self._call(names)

    def is_registered(self, name: str) -> bool:
        pipeline = self._svc.pipeline
        return self._call(lambda: pipeline is not None and pipeline.catalog.knows_name(name))

    def filter_view(self, name: str) -> dict[str, Any]:
        pipeline = self._svc.pipeline
        return self._call(lambda: pipeline.filter_view(name) if pipeline is not None else {})

    def filter_options(self, name: str) -> dict[str, Any]:
        pipeline = self._svc.pipeline
        return self._call(lambda: pipeline.filter_options(name) if pipeline is not None else {})

    def configure_filters(self, name: str, options: Any) -> None:
        pipeline = self._svc.pipeline
        if pipeline is None:
            raise BadValue("the filters are not running yet (the database has not been opened)")
        self._call(lambda: pipeline.configure_filters(name, options))

    def set_level(self, level: str, namespace: str | None = None, photometer: str | None = None) -> None:
        from . import logs

        self._call(lambda: logs.set_level(level, namespace=namespace, photometer=photometer))

    def last_readings(self) -> dict[str, float]:
        return self._call(self._svc.telemetry.last_readings)

    def newest_readings(self) -> dict[str, tuple[float, tuple[float, ...]]]:
        return self._call(self._svc.telemetry.newest_readings)

    def current_photometers(self) -> set[str]:
        return self._call(lambda: self._svc.pipeline.current_names() if self._svc.pipeline else set())
