"""A typed facade over the stage hooks, with each plugin's failure contained.

The engine calls the hook implementations itself, in pluggy's order (``tryfirst``
/ ``trylast`` honoured, last registered first), so that it knows which plugin
raised and can quarantine just that message under the plugin's name; it also
spares the hot path pluggy's per-call machinery.  Stage hooks therefore do not
support hookwrappers (a wrapper is refused at start with a clear message).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loguru import logger

from .events import Reason, Rejection
from .plugins import PluginManager
from .errors import BadValue, NotFound

log = logger.bind(ns="pipeline")


class PluginFailure(Exception):
    """A plugin raised inside a stage; carries the plugin name for the quarantine."""

    def __init__(self, stage: str, plugin: str, error: BaseException):
        super().__init__(f"plugin {plugin!r} failed in stage {stage}: {type(error).__name__}: {error}")
        self.stage, self.plugin, self.error = stage, plugin, error

    def rejection(self, name: str | None = None) -> Rejection:
        return Rejection(Reason.PLUGIN_ERROR, f"{type(self.error).__name__}: {self.error}",
                         stage=self.stage, plugin=self.plugin, name=name)


Impl = tuple[str, Callable[..., Any]]


def _adapt(fn: Callable[..., Any], wanted: tuple[str, ...], spec: tuple[str, ...]) -> Callable[..., Any]:
    """Call an implementation positionally even when it declares only some of the
    spec's arguments (pluggy allows that)."""
    if wanted == spec[: len(wanted)]:
        return fn if len(wanted) == len(spec) else (lambda *args: fn(*args[: len(wanted)]))
    picks = [spec.index(name) for name in wanted]
    return lambda *args: fn(*(args[i] for i in picks))


class Stages:
    """decode / validate / register / resolve / filters / store, as plain method calls."""

    def __init__(self, pm: PluginManager):
        self.pm = pm
        self.validators = self._impls("tessdb_validate")
        #: decode(message, settings) -> Registration | Reading | Rejection | None
        self.decode = self._first("decode", self._impls("tessdb_decode"))
        #: register(registration, catalog, settings) -> RegistrationPlan | Rejection | None
        self.register = self._first("register", self._impls("tessdb_register"))
        #: resolve(reading, catalog, settings) -> ResolvedReading | Rejection | None
        self.resolve = self._first("resolve", self._impls("tessdb_resolve"))
        #: photometer_name(name, settings) -> str | None (the admin API's name check)
        self.photometer_name = self._first("name", self._impls("tessdb_photometer_name"))

    def _impls(self, hook: str) -> list[Impl]:
        caller = getattr(self.pm.hook, hook)
        impls = caller.get_hookimpls()
        wrappers = [i.plugin_name for i in impls if i.hookwrapper or i.wrapper]
        if wrappers:
            raise BadValue(f"hook {hook} does not accept wrappers (plugins: {', '.join(wrappers)})")
        spec = caller.spec.argnames if caller.spec else ()
        return [(i.plugin_name, _adapt(i.function, tuple(i.argnames), tuple(spec))) for i in reversed(impls)]

    @staticmethod
    def _first(stage: str, impls: list[Impl]) -> Callable[..., Any]:
        """A first-result caller; the one-plugin case (the usual one) skips the loop."""

        def stamp(result: Any, plugin: str) -> Any:
            if type(result) is Rejection and not result.plugin:
                result.plugin, result.stage = plugin, result.stage or stage
            return result

        if len(impls) == 1:
            (plugin, fn), = impls

            def one(*args: Any) -> Any:
                try:
                    result = fn(*args)
                except Exception as exc:
                    raise PluginFailure(stage, plugin, exc) from exc
                return stamp(result, plugin) if type(result) is Rejection else result

            return one

        def first(*args: Any) -> Any:
            for plugin, fn in impls:
                try:
                    result = fn(*args)
                except Exception as exc:
                    raise PluginFailure(stage, plugin, exc) from exc
                if result is not None:
                    return stamp(result, plugin)
            return None

        return first

    def validate(self, event, settings) -> Rejection | None:
        """Every plugin votes (the spec's collect-all); the first problem, in pluggy's order,
        decides.  The other objections are logged at debug level with their plugin's name."""
        first: Rejection | None = None
        for plugin, fn in self.validators:
            try:
                problems = fn(event, settings)
            except Exception as exc:
                raise PluginFailure("validate", plugin, exc) from exc
            if not problems:
                continue
            for problem in problems:
                if not problem.plugin:
                    problem.plugin, problem.stage = plugin, problem.stage or "validate"
            if first is None:
                first = problems[0]
                problems = problems[1:]
            for other in problems:
                log.bind(name=other.name).debug("{} also objects: {}: {}", other.plugin, other.reason, other.detail)
        return first

    def filters(self, settings) -> list:
        """Every filter made by the factories, ordered by ``[filter] chain``; unlisted ones are unused."""
        made = {}
        for plugin, fn in reversed(self._impls("tessdb_filters")):
            try:
                for f in fn(settings) or ():
                    made[f.name] = f
            except Exception as exc:
                raise PluginFailure("filter", plugin, exc) from exc
        chain = list(settings.get("filter.chain", ()))
        unknown = [n for n in chain if n not in made]
        if unknown:
            raise BadValue(f"setting filter.chain names unknown filter(s) {', '.join(unknown)}; "
                             f"available: {', '.join(sorted(made)) or 'none'}")
        return [made[n] for n in chain]

    def store(self, url: str, settings):
        store = self.pm.hook.tessdb_store(url=url, settings=settings)
        if store is None:
            raise NotFound(f"no installed store plugin handles dbase.url = {url!r}")
        return store
