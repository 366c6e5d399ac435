"""Small test-only plugins: a 'name:seq:mag' payload format, a memory store, a filter."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from tessdb_core import hookimpl
from tessdb_core.catalog import FAR_FUTURE, Catalog, NameMapping, RegistrationPlan, Version
from tessdb_core.contracts import ResolvedReading, WriteReport
from tessdb_core.events import Reading, Reason, Registration, Rejection

T0 = datetime(2026, 1, 1)



class ToyFormat:
    """Topic 'toy/register' payload 'name'; topic 'toy/reading' payload 'name:seq:mag'."""

    @hookimpl
    def tessdb_decode(self, message, settings):
        text = message.payload.decode()
        if message.topic == "toy/register":
            return Registration(text, "AA:BB:CC:DD:EE:FF", "TESS-W", "1", (20.0,), ("UV",), (0.0,),
                                T0, "Publisher", message, raw_name=text)
        if message.topic == "toy/reading":
            try:
                name, seq, mag = text.split(":")
            except ValueError:
                return Rejection(Reason.MISSING_FIELD, "expected name:seq:mag", field="payload")
            return Reading(name, message.received, "Subscriber", int(seq), (1.0,), (float(mag),), 10.0, -5.0,
                           message, raw_name=name)
        return None

    @hookimpl
    def tessdb_validate(self, event, settings):
        if event.name == "banned":
            return [Rejection(Reason.BLACKLIST, "banned", name=event.name)]
        if event.name.startswith("bad"):
            return [Rejection(Reason.BAD_NAME, f"name {event.name!r} not accepted", field="name")]
        return []

    @hookimpl
    def tessdb_register(self, registration, catalog, settings):
        if catalog.current_mapping_of_name(registration.name):
            return RegistrationPlan("rebooted", registration.tstamp)
        return RegistrationPlan(
            "created", registration.tstamp,
            new_mapping=NameMapping(registration.name, registration.mac, registration.tstamp, FAR_FUTURE, True),
            new_version=Version(registration.mac, registration.tstamp, FAR_FUTURE, True, "TESS-W", "1", True,
                                "Automatic", (20.0,), ("UV",), (0.0,)))

    @hookimpl
    def tessdb_resolve(self, reading, catalog, settings):
        m = catalog.mapping_at(reading.name, reading.tstamp)
        if m is None:
            return Rejection(Reason.UNKNOWN_PHOTOMETER, f"{reading.name} not registered", name=reading.name)
        return ResolvedReading(reading, catalog.version_at(m.mac, reading.tstamp), 0)


class DropZeros:
    """A filter that drops saturated readings and holds every 3rd one until flush."""

    name = "dropzeros"

    def __init__(self):
        self.held = []

    def process(self, reading):
        if reading.mag[0] == 0:
            return [], [reading]
        if reading.seq % 3 == 0:
            self.held.append(reading)
            return [], []
        return [reading], []

    def flush(self):
        out, self.held = self.held, []
        return out

    def reconfigure(self, settings):
        pass

    def state(self):
        return {"held": len(self.held)}


class Tagger:
    """A second filter, to check the chain order: records the order it saw readings in."""

    name = "tagger"

    def __init__(self):
        self.seen = []

    def process(self, reading):
        self.seen.append(reading.seq)
        return [reading], []

    def flush(self):
        return []

    def reconfigure(self, settings):
        pass

    def state(self):
        return {}


class ToyFilters:
    def __init__(self):
        self.made = []

    @hookimpl
    def tessdb_filters(self, settings):
        made = [DropZeros(), Tagger()]
        self.made.append(made)
        return made


class MemoryStore:
    url = "memory://"

    def __init__(self, fail_on_seq: int | None = None):
        self.rows: dict[tuple, ResolvedReading] = {}
        self.batches = 0
        self.catalog = Catalog()
        self.fail_on_seq = fail_on_seq
        self.next_id = 1

    def initialise(self):
        return "memory store ready"

    def open(self):
        pass

    def close(self):
        pass

    def load_catalog(self):
        return Catalog(list(self.catalog.mappings), list(self.catalog.versions))

    def apply_registration(self, plan):
        applied = replace(plan, new_mapping=replace(plan.new_mapping, key=self.next_id),
                          new_version=replace(plan.new_version, tess_id=self.next_id))
        self.next_id += 1
        self.catalog.apply(applied)
        return applied

    def write_readings(self, batch):
        self.batches += 1
        report = WriteReport()
        for r in batch:
            key = (r.reading.tstamp, r.version.tess_id)
            if r.reading.seq == self.fail_on_seq:
                report.failed.append((r, "disk on fire"))
            elif key in self.rows:
                report.duplicates.append(r)
            else:
                self.rows[key] = r
                report.stored += 1
        return report


class MemoryStorePlugin:
    def __init__(self, store):
        self.store = store

    @hookimpl
    def tessdb_store(self, url, settings):
        return self.store if url.startswith("memory") else None


class Exploding:
    """Raises in decode for payloads containing 'boom'."""

    @hookimpl(tryfirst=True)
    def tessdb_decode(self, message, settings):
        if b"boom" in message.payload:
            raise RuntimeError("kaboom")
        return None
