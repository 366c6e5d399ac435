"""Shared builders for the tessdb_tess unit tests (pure: no database, no broker)."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from typing import Any

import orjson

from tessdb_core.catalog import FAR_FUTURE, Catalog, NameMapping, RegistrationPlan, Version
from tessdb_core.events import Message, Reading, Registration, TimestampSource
from tessdb_core.settings import Settings

RECEIVED = datetime(2026, 11, 30, 0, 49, 48, 400000)
READING_TOPIC = "STARS4ALL/stars1/reading"
REGISTER_TOPIC = "STARS4ALL/register"


def settings(**sections: dict[str, Any]) -> Settings:
    return Settings.from_dict(sections)


def message(payload: Any, topic: str = READING_TOPIC, received: datetime = RECEIVED, **kw: Any) -> Message:
    if not isinstance(payload, (bytes, str)):
        payload = orjson.dumps(payload)
    elif isinstance(payload, str):
        payload = payload.encode()
    return Message(topic, payload, received, **kw)


def tessw_payload(**over: Any) -> dict[str, Any]:
    d = {"seq": 7, "name": "stars1", "freq": 12.351, "mag": 20.45, "tamb": 10.1, "tsky": -5.2, "wdBm": -60}
    d.update(over)
    return {k: v for k, v in d.items() if v is not ...}


def tess4c_payload(**over: Any) -> dict[str, Any]:
    d = {
        "seq": 3, "name": "stars701", "rev": 1, "wdBm": -70, "tamb": 11.0, "tsky": -3.0,
        "F1": {"freq": 1.0, "mag": 19.1, "zp": 20.1},
        "F2": {"freq": 2.0, "mag": 19.2, "zp": 20.2},
        "F3": {"freq": 3.0, "mag": 19.3, "zp": 20.3},
        "F4": {"freq": 4.0, "mag": 19.4, "zp": 20.4},
    }
    d.update(over)
    return {k: v for k, v in d.items() if v is not ...}


def reading(name: str = "stars1", seq: int = 1, mag: float | tuple = 20.0, tstamp: datetime = datetime(2026, 1, 1),
            source: str = TimestampSource.PUBLISHER, imported: bool = False, hash: str | None = None,
            retain: bool = False, raw_name: str | None = None, **kw: Any) -> Reading:
    mags = mag if isinstance(mag, tuple) else (mag,)
    return Reading(name, tstamp, source, seq, tuple(1.0 for _ in mags), mags, 10.0, -5.0,
                   Message(f"STARS4ALL/{name}/reading", b"{}", tstamp, retain=retain, imported=imported),
                   hash=hash, raw_name=raw_name if raw_name is not None else name, **kw)


def registration(name: str, mac: str, zp: float | tuple = 20.5, t: datetime = datetime(2026, 1, 1),
                 offsets: tuple | None = None, filters: tuple | None = None, firmware: str = "1.0",
                 model: str | None = None, raw_name: str | None = None, retain: bool = False) -> Registration:
    zps = zp if isinstance(zp, tuple) else (zp,)
    n = len(zps)
    model = model or ("TESS4C" if n == 4 else "TESS-W")
    filters = filters or (("UV/IR-740",) if n == 1 else ("UV/IR-740",) * 4)
    offsets = offsets or (0.0,) * n
    return Registration(name, mac, model, firmware, zps, filters, offsets, t, TimestampSource.PUBLISHER,
                        Message(REGISTER_TOPIC, b"{}", t, retain=retain), raw_name if raw_name is not None else name)


_keys = count(1)


def commit(catalog: Catalog, plan: RegistrationPlan) -> RegistrationPlan:
    """Do what a store does: give the new rows keys / tess_ids, then mirror the plan."""
    from dataclasses import replace

    new_mapping = replace(plan.new_mapping, key=next(_keys)) if plan.new_mapping else None
    new_version = replace(plan.new_version, tess_id=next(_keys)) if plan.new_version else None
    done = replace(plan, new_mapping=new_mapping, new_version=new_version)
    catalog.apply(done)
    return done


def current_versions(catalog: Catalog, mac: str) -> list[Version]:
    return [v for v in catalog.versions_of(mac) if v.current]


def current_mappings(catalog: Catalog) -> set[tuple[str, str]]:
    return {(m.name, m.mac) for m in catalog.mappings if m.current}


def version(mac: str, since: datetime, until: datetime = FAR_FUTURE, zp: float = 20.5, authorised: bool = True,
            location_id: int = -1, observer_id: int = -1, tess_id: int | None = None) -> Version:
    return Version(mac, since, until, until == FAR_FUTURE, "TESS-W", "1.0", authorised, "Automatic", (zp,),
                   ("UV/IR-740",), (0.0,), location_id, observer_id, tess_id if tess_id is not None else next(_keys))


def mapping(name: str, mac: str, since: datetime, until: datetime = FAR_FUTURE) -> NameMapping:
    return NameMapping(name, mac, since, until, until == FAR_FUTURE, next(_keys))
