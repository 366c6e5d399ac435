"""The core loop: decode -> validate -> register | filter -> resolve -> store.

One message at a time, one way.  Readings are written in batches of
``[dbase] buffer_size``; registrations are applied at once (each in its own
transaction) and mirrored in the in-memory catalogue.  Every outcome is
counted; a message that is not stored goes to the quarantine with its reason,
and a plugin that raises only costs the message it was handling.

A database that cannot take writes (full disk, I/O error, lost connection: the
store raises ``StoreUnavailable``) never sends a reading to the quarantine: the
batch is kept, :attr:`Pipeline.stalled` says why, and the caller retries later.
Only a row the database refuses for its own content is quarantined.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Mapping

from loguru import logger

from .contracts import ConfigurableFilter, ResolvedReading, Store, StoreConflict, StoreUnavailable
from .events import Message, Reading, Reason, Registration, Rejection
from .localfile import LocalFileUnavailable
from .quarantine import Quarantine
from .stages import PluginFailure, Stages
from .stats import REJECTION_COUNTER, Stats
from .errors import BadValue

log = logger.bind(ns="pipeline")
#: refusals that depend on the catalogue: decided again on a fresh one when it changed elsewhere
CATALOGUE_REFUSALS = frozenset({Reason.UNKNOWN_PHOTOMETER, Reason.NOT_AUTHORISED, Reason.HASH_MISMATCH})
_EPOCH = datetime(1970, 1, 1)


class Pipeline:
    """Runs every stage for each message handed to :meth:`process`."""

    def __init__(self, stages: Stages, settings: Any, store: Store, quarantine: Quarantine,
                 stats: Stats | None = None, buffer_size: int | None = None):
        self.stages = stages
        self.settings = settings
        self.store = store
        self.quarantine = quarantine
        self.stats = stats or Stats()
        self.filters = stages.filters(settings)
        self.catalog = store.load_catalog()
        self.batch: list[ResolvedReading] = []
        #: inbox ids whose outcome is final; deleted from the inbox with the next quarantine commit
        self.done: list[int] = []
        #: inbox ids of registrations the store committed but may not have synced yet (a SQLite
        #: file in WAL mode syncs them with the next batch): final once the next write returns
        self.registered: list[int] = []
        #: registrations were applied since the last write (the store owes a sync)
        self._unsynced = False
        self._stale_checked = 0.0
        self._check_failed = float("-inf")  # when the store last failed to say whether the catalogue changed
        #: photometer name -> timestamp of its newest stored reading (since this pipeline began)
        self.last_reading: dict[str, datetime] = {}
        #: photometer name -> magnitudes of that newest reading (one per channel)
        self.last_magnitudes: dict[str, tuple[float, ...]] = {}
        #: why the last write did not go through (the batch and outcomes are kept); None when it did
        self.stalled: StoreUnavailable | LocalFileUnavailable | None = None
        self.buffer_size = buffer_size or int(settings.get("dbase.buffer_size", 1000))

    # -- the loop -----------------------------------------------------------------------------
    def run(self, messages: Iterable[Message]) -> Stats:
        """Process every message, then release the filter windows and write everything."""
        for message in messages:
            self.process(message)
            if self.stalled is not None:  # the database cannot take writes: stop, keep nothing more in memory
                raise self.stalled
        self.flush()
        return self.stats

    def process(self, message: Message) -> None:
        stats = self.stats
        stats.mqtt["num_published"] += 1
        settings = self.settings
        if message.size is not None:
            self.reject(message, Rejection(
                Reason.TOO_LARGE, f"payload of {message.size} bytes is larger than [mqtt] max_payload; "
                f"only its first {len(message.payload)} bytes are kept", stage="receive", plugin="engine",
                field="payload"))
            return
        try:
            event = self.stages.decode(message, settings)
            if event is None:
                self.reject(message, Rejection(Reason.UNKNOWN_TOPIC, f"no decoder accepts topic {message.topic!r}",
                                               stage="decode", field="topic"))
                return
            if type(event) is Rejection:
                self.reject(message, event)
                return
            problem = self.stages.validate(event, settings)
        except PluginFailure as failure:
            self._plugin_failed(message, failure)
            return
        if problem is not None and not problem.quarantined:
            stats.mqtt["num_filtered"] += 1
            stats.discarded[problem.reason] += 1
            self._done(message)
            log.bind(name=problem.name).debug("Discarded payload by {}: {}", problem.reason, problem.detail)
            return
        if type(event) is Registration:
            stats.mqtt["num_register"] += 1
            if problem is not None:
                self.reject(message, problem)
                return
            self._register(event)
        else:
            stats.mqtt["num_readings"] += 1
            if problem is not None:
                self.reject(message, problem)
                return
            if self.catalog.knows_name(event.name):
                self._filter(event)
            else:  # never registered: no filter state for it (a flood of names costs no memory)
                self._resolve(event)

    # -- registrations -----------------------------------------------------------------------
    def _register(self, registration: Registration, attempts: int = 3) -> None:
        try:
            plan = self.stages.register(registration, self.catalog, self.settings)
        except PluginFailure as failure:
            self._plugin_failed(registration.message, failure, registration.name)
            return
        if plan is None:
            self.reject(registration.message, Rejection(Reason.PLUGIN_ERROR, "no plugin decided this registration",
                                                        stage="register", name=registration.name))
            return
        if type(plan) is Rejection:
            self.reject(registration.message, plan)
            return
        try:
            applied = self.store.apply_registration(plan) if plan.changes_anything else plan
        except StoreUnavailable:
            raise  # the caller retries this message later; nothing was changed
        except StoreConflict as exc:
            # another writer changed these rows since our catalogue was read: decide again
            self.catalog = self.store.load_catalog()
            if attempts > 1:
                self._register(registration, attempts - 1)
                return
            self.reject(registration.message, Rejection(Reason.STORE_ERROR, str(exc), stage="store",
                                                        plugin="store", name=registration.name))
            return
        except Exception as exc:  # keep the message: it can be replayed from the quarantine
            log.error("Registration of {} not applied: {}: {}", registration.name, type(exc).__name__, exc)
            self.reject(registration.message, Rejection(Reason.STORE_ERROR, f"{type(exc).__name__}: {exc}",
                                                        stage="store", plugin="store", name=registration.name))
            return
        self.catalog.apply(applied)
        if plan.changes_anything:  # durable with the next write (one sync for a burst of registrations)
            self._unsynced = True
            if registration.message.inbox_id is not None:
                self.registered.append(registration.message.inbox_id)
        else:
            self._done(registration.message)
        counters = self.stats.register
        counters["num_registered"] += 1
        counters["num_" + applied.case] += 1
        if applied.message:
            logger.bind(ns="dbase", name=registration.name).info(applied.message)

    # -- readings ----------------------------------------------------------------------------
    def _filter(self, reading: Reading) -> None:
        pending: Sequence[Reading] = (reading,)
        for f in self.filters:
            if len(pending) == 1:  # the usual case: one reading in, at most one out
                try:
                    pending, dropped = f.process(pending[0])
                except Exception as exc:
                    self._plugin_failed(pending[0].message, PluginFailure("filter", f.name, exc), pending[0].name)
                    return
                if dropped:
                    self._dropped(f.name, dropped)
            else:
                pending = self._through(f, pending)
            if not pending:
                return
        for r in pending:
            self._resolve(r)

    def _through(self, f: Any, readings: Iterable[Reading]) -> list[Reading]:
        """Several readings through one filter, each failure contained to its reading."""
        released: list[Reading] = []
        for r in readings:
            try:
                out, dropped = f.process(r)
            except Exception as exc:
                self._plugin_failed(r.message, PluginFailure("filter", f.name, exc), r.name)
                continue
            if dropped:
                self._dropped(f.name, dropped)
            released.extend(out)
        return released

    def _resolve(self, reading: Reading) -> None:
        counters = self.stats.readings
        counters["num_readings"] += 1
        try:
            resolved = self.stages.resolve(reading, self.catalog, self.settings)
        except PluginFailure as failure:
            self._plugin_failed(reading.message, failure, reading.name)
            return
        if type(resolved) is ResolvedReading:
            self.batch.append(resolved)
            if len(self.batch) >= self.buffer_size and self.stalled is None:
                try:
                    self.write()
                except (StoreUnavailable, LocalFileUnavailable):
                    pass  # kept; ``stalled`` tells the caller, which retries once the database can write
            return
        if resolved is None:
            resolved = Rejection(Reason.PLUGIN_ERROR, "no plugin resolved this reading", stage="resolve",
                                 name=reading.name)
        elif resolved.reason in CATALOGUE_REFUSALS and self._catalog_stale():
            # another writer (a second collector, a maintenance command, an operator's SQL)
            # may have just registered, enabled or replaced it: look again on the fresh
            # catalogue before refusing
            counters["num_readings"] -= 1
            self._resolve(reading)
            return
        key = REJECTION_COUNTER.get(resolved.reason)
        if key:
            counters[key] += 1
        self.reject(reading.message, resolved)

    def _catalog_stale(self) -> bool:
        """Asked before a refusal that depends on the catalogue stands: not throttled, so a
        change committed elsewhere just before this reading is always seen (the stores answer
        without reading a table: SQLite's data_version, PostgreSQL's pending notifications)."""
        now = time.monotonic()
        if now - self._check_failed < 1.0:  # the store could not answer a moment ago: no new wait
            return False
        try:
            return self.refresh_catalog(throttled=False)
        except StoreUnavailable:
            self._check_failed = now
            return False  # the reading is refused on the catalogue we have

    # -- what the service changes from outside ----------------------------------------------
    def refresh_catalog(self, throttled: bool = True) -> bool:
        """Reload the catalogue when the store says someone else (a maintenance command,
        another collector, an operator's SQL) changed it; True when reloaded.  The service's
        periodic call is ``throttled`` to once a second; a refusal that depends on the
        catalogue asks every time (the check reads no table; a reload happens only after a
        change, so a flood of unknown photometers costs no catalogue read per reading)."""
        changed = getattr(self.store, "changed_elsewhere", None)
        now = time.monotonic()
        if changed is None or throttled and now - self._stale_checked < 1.0:
            return False
        self._stale_checked = now
        if not changed():
            return False
        self.reload_catalog()
        log.info("Catalogue reloaded: the database was changed by another program")
        return True

    def reload_catalog(self) -> None:
        """Read the catalogue again (after a resume: the database may have changed).  A name
        no longer current (retired, renamed) leaves the newest readings: nobody waits for it."""
        self.catalog = self.store.load_catalog()
        current = self.current_names()
        for gone in [n for n in self.last_reading if n not in current]:
            del self.last_reading[gone]
            self.last_magnitudes.pop(gone, None)

    def current_names(self) -> set[str]:
        """The names with a Current mapping in the catalogue."""
        return {m.name for m in self.catalog.mappings if m.current}

    def apply_settings(self, settings: Any) -> None:
        """A reloaded settings snapshot: the batch size and every filter follow it."""
        self.settings = settings
        self.buffer_size = int(settings.get("dbase.buffer_size", 1000))
        for f in self.filters:
            f.reconfigure(settings)

    # -- the filters, for the admin API ------------------------------------------------------
    def _configurable(self) -> list[ConfigurableFilter]:
        return [f for f in self.filters if isinstance(f, ConfigurableFilter)]

    def photometers_with_filter_state(self) -> set[str]:
        names: set[str] = set()
        for f in self.filters:
            names.update(f.state().get("photometers", {}))
        return names

    def filter_view(self, name: str) -> dict[str, Any]:
        view: dict[str, Any] = {}
        for f in self._configurable():
            view.update(f.view(name))
        return view

    def filter_options(self, name: str) -> dict[str, Any]:
        options: dict[str, Any] = {}
        for f in self._configurable():
            options.update(f.options(name))
        return options

    def configure_filters(self, name: str, options: Mapping[str, Any]) -> None:
        """Each option to the filter that has it; ValueError (nothing applied) for an
        option no filter has or a value a filter refuses."""
        owners = [(f, set(f.options(name))) for f in self._configurable()]
        unknown = set(options) - set().union(*(keys for _, keys in owners))
        if unknown:
            raise BadValue(f"unknown filter option(s) {', '.join(sorted(unknown))}; known: "
                             f"{', '.join(sorted(set().union(*(k for _, k in owners)))) or 'none'}")
        applied: list[tuple[ConfigurableFilter, dict[str, Any]]] = []
        try:
            for f, keys in owners:
                mine = {k: v for k, v in options.items() if k in keys}
                if mine:
                    before = {k: v for k, v in f.options(name).items() if k in mine}
                    f.configure(name, mine)
                    applied.append((f, before))
        except ValueError:
            for f, before in applied:  # a refusal leaves the options as they were
                f.configure(name, before)
            raise

    def write(self) -> None:
        """Write the pending batch (its commit durable, and with it every registration the
        store committed before: a SQLite store syncs a burst of registrations once, here;
        with no batch, the store's ``sync()`` if it has one), then record every final
        outcome (quarantine rows and the inbox entries done) in one transaction.  Duplicates are
        counted; only rows refused for their own content are quarantined.  When the
        database cannot take the batch (StoreUnavailable, StoreBusy among them) nothing
        is lost: the batch is kept, the other outcomes are still recorded, ``stalled``
        is set and the exception raised; the same for the inbox file
        (LocalFileUnavailable: the outcomes are kept for the next commit)."""
        batch = self.batch
        if batch or self._unsynced:
            try:
                if batch:  # its commit also makes every earlier commit of the store durable
                    report = self.store.write_readings(batch)
                else:
                    sync = getattr(self.store, "sync", None)  # a store whose commits are each durable has none
                    if sync is not None:
                        sync()
            except Exception as exc:
                if not isinstance(exc, StoreUnavailable):  # a store that broke its contract: keep, retry
                    log.error("Batch of {} readings not written: {}: {}", len(batch), type(exc).__name__, exc)
                    exc = StoreUnavailable(f"{type(exc).__name__}: {exc}")
                self.stalled = exc
                self._record_outcomes()
                raise exc from None
            self._unsynced = False
            self.done += self.registered
            self.registered = []
        if batch:
            self.batch = []
            self.stats.stored += report.stored
            self._note_last_readings(batch)
            self.stats.readings["rej_duplicated"] += len(report.duplicates)
            failed = {id(r) for r, _ in report.failed}
            for r, error in report.failed:
                log.error("Reading of {} at {} not written: {}", r.reading.name, r.reading.tstamp, error)
                self.reject(r.reading.message, Rejection(Reason.STORE_ERROR, error, stage="store",
                                                         plugin="store", name=r.reading.name))
            done = self.done
            for r in batch:
                i = r.reading.message.inbox_id
                if i is not None and id(r) not in failed:
                    done.append(i)
        self._record_outcomes()
        self.stalled = None

    def _note_last_readings(self, batch: list[ResolvedReading]) -> None:
        """The newest stored reading time of each photometer (bounded by the catalogue:
        only resolved, so registered, photometers are in a batch)."""
        last, mags = self.last_reading, self.last_magnitudes
        for r in batch:
            reading = r.reading
            t = reading.tstamp
            if t > last.get(reading.name, _EPOCH):
                last[reading.name] = t
                mags[reading.name] = reading.mag

    def _record_outcomes(self) -> None:
        """Commit the quarantine rows and delete the inbox entries done; kept on failure."""
        done, self.done = self.done, []
        try:
            self.quarantine.commit(done)
        except LocalFileUnavailable as exc:
            self.done = done + self.done
            self.stalled = exc
            raise

    def flush(self) -> None:
        """Release every reading held in the filter windows, then write every buffer."""
        carry: list[Reading] = []
        for f in self.filters:
            carry = self._through(f, carry)
            try:
                carry.extend(f.flush())
            except Exception as exc:  # nothing to quarantine: the held readings stay with the filter
                log.error("filter {} failed to flush: {}: {}", f.name, type(exc).__name__, exc)
        for r in carry:
            self._resolve(r)
        self.write()

    # -- refusals ----------------------------------------------------------------------------
    def _done(self, message: Message) -> None:
        if message.inbox_id is not None:
            self.done.append(message.inbox_id)

    def _dropped(self, filter_name: str, dropped: Sequence[Reading]) -> None:
        self.stats.filtered[filter_name] += len(dropped)
        for r in dropped:
            self._done(r.message)

    def reject(self, message: Message, rejection: Rejection) -> None:
        self._done(message)
        if not rejection.quarantined:
            self.stats.discarded[rejection.reason] += 1
            return
        self.stats.quarantined[rejection.reason] += 1
        self.quarantine.add(message, rejection)
        # DEBUG: a flood of bad messages must not flood the log (the service sums them up at INFO)
        logger.bind(ns=rejection.stage or "pipeline", name=rejection.name).debug(
            "Quarantined message on {} ({}): {}", message.topic, rejection.reason, rejection.detail)

    def _plugin_failed(self, message: Message, failure: PluginFailure, name: str | None = None) -> None:
        log.error("{} (message on {} quarantined)", failure, message.topic)
        self.reject(message, failure.rejection(name))
