"""The registration decision table (docs/rules.md, Registrations: cases A-E) as a pure function.

Why pure: the store applies the returned plan in one transaction and the pipeline
mirrors it in the in-memory catalogue, so the same rule can be tested on a plain
:class:`Catalog` without a database.

Cases (``plan.case``, the suffixes of the ``num_*`` registration counters):

* ``created``   (A) neither the MAC nor the name has a Current mapping.  Unlike
  tessdb-server, which added a second Current row: when the MAC still has a Current
  ``tess_t`` row (orphaned by an earlier replace) that row is reused like a reboot /
  ZP change: a new version is inserted (and the old one expired) only if the managed
  attributes changed, so there is never a second Current row for one MAC.
* ``renamed``   (B) the MAC has a Current mapping, the name has none.
* ``replaced``  (C) the name has a Current mapping, the MAC has none.  A device
  "replacing back" (the MAC already has a Current ``tess_t`` row) gets the change
  detection of :func:`managed_change` against that row and still counts as ``replaced``.
* ``rebooted`` / ``zp_changed`` (D) the pair already exists.
* ``extinct``   (E) the MAC and the name are mapped, but to other partners.

Expired rows carry ``until = T`` and ``current = False``; new rows have
``since = T`` and ``until = FAR_FUTURE``, so old.until == new.since.
"""

from __future__ import annotations

from dataclasses import replace

from tessdb_core import (FAR_FUTURE, Catalog, NameMapping, Reason, Registration, RegistrationPlan, Rejection,
                        Version)

__all__ = ["decide", "managed_change", "ZP_DELTA", "OFFSET_DELTA"]

#: smallest zero point difference that makes a new version
ZP_DELTA = 0.005
#: smallest frequency offset difference (Hz) that makes a new version
OFFSET_DELTA = 0.001
# float noise allowance: 20.505 - 20.5 is 0.00499999... in binary floating point
_EPS = 1e-9

REGISTERED = "Automatic"


def _at(seq: tuple, i: int, default=None):
    return seq[i] if i < len(seq) else default


def managed_change(reg: Registration, old: Version) -> bool:
    """True when the registration's managed attributes differ from ``old``.

    ZP differences >= 0.005 and offset differences >= 0.001 count (TESS-W and
    TESS4C); for TESS4C a different filter string counts too; a model change counts.
    Firmware alone never does.
    """
    if old.model != reg.model:
        return True
    n = len(reg.zp)
    for i in range(max(n, len(old.zp))):
        new_zp, old_zp = _at(reg.zp, i), _at(old.zp, i)
        if new_zp is None or old_zp is None:
            if new_zp is not old_zp:
                return True
            continue
        if abs(new_zp - old_zp) >= ZP_DELTA - _EPS:
            return True
    for i in range(n):
        if abs(_at(reg.offsets, i, 0.0) - (_at(old.offsets, i, 0.0) or 0.0)) >= OFFSET_DELTA - _EPS:
            return True
    if n > 1:
        for i in range(n):
            if _at(reg.filters, i) != _at(old.filters, i):
                return True
    return False


def _expire(row, t):
    return replace(row, until=t, current=False)


def _new_mapping(reg: Registration) -> NameMapping:
    return NameMapping(reg.name, reg.mac, reg.tstamp, FAR_FUTURE, True)


def _brand_new_version(reg: Registration, location_id: int = -1, observer_id: int = -1) -> Version:
    """Brand new: candidate values, not authorised, registered Automatic."""
    return Version(reg.mac, reg.tstamp, FAR_FUTURE, True, reg.model, reg.firmware, False, REGISTERED,
                   reg.zp, reg.filters, reg.offsets, location_id, observer_id)


def _changed_version(reg: Registration, old: Version) -> Version:
    """ZP change (as 5.x): candidate ZPs, firmware/authorised/location/observer carried."""
    return Version(reg.mac, reg.tstamp, FAR_FUTURE, True, reg.model, old.firmware, old.authorised,
                   REGISTERED, reg.zp, reg.filters, reg.offsets, old.location_id, old.observer_id)


def _describe(v: Version | Registration) -> str:
    zp = ", ".join(f"{z}" for z in v.zp)
    off = ", ".join(f"{o}" for o in v.offsets)
    if len(v.zp) > 1:
        return f"ZP=({zp}) Hz Offset=({off}) Filters=({', '.join(str(f) for f in v.filters)})"
    return f"ZP={zp} Hz Offset={off}"


def _change_message(reg: Registration, old: Version) -> str:
    return (f"{reg.model} {reg.name} ({reg.mac}) changing ZP(s)/Hz Offset/Filters "
            f"from {_describe(old)} to {_describe(reg)}")


def _against_current(reg: Registration, cur: Version) -> tuple[tuple[Version, ...], Version | None, str]:
    """(expire, new, message) for a registration compared with the MAC's Current version."""
    if managed_change(reg, cur):
        return (_expire(cur, reg.tstamp),), _changed_version(reg, cur), _change_message(reg, cur)
    return (), None, ""


def decide(reg: Registration, catalog: Catalog) -> RegistrationPlan | Rejection:
    """What this registration changes in the catalogue (no side effects).  A registration
    older than a row it would expire (a late one, or a replay after a switch back from
    tessdb-server) is refused: applied, it would end that row before the row began."""
    plan = _decide(reg, catalog)
    stale = [row for row in (*plan.expire_mappings, *plan.expire_versions) if row.since > reg.tstamp]
    if stale:
        return Rejection(Reason.BAD_TIMESTAMP, f"registration of {reg.tstamp} is older than the row it would "
                         f"expire (valid since {stale[0].since}): a late or replayed registration changes nothing",
                         stage="register", field="tstamp", name=reg.name)
    return plan


def _decide(reg: Registration, catalog: Catalog) -> RegistrationPlan:
    t = reg.tstamp
    name, mac = reg.name, reg.mac
    m = catalog.current_mapping_of_mac(mac)
    n = catalog.current_mapping_of_name(name)
    cur = catalog.current_version(mac)

    if m is None and n is None:  # A
        msg = f"Brand new photometer registered: {name} (MAC = {mac})"
        if cur is None:
            return RegistrationPlan("created", t, new_mapping=_new_mapping(reg),
                                    new_version=_brand_new_version(reg), message=msg)
        expire, new, change = _against_current(reg, cur)
        msg += "; its MAC keeps its Current instrument version" + (f"; {change}" if change else "")
        return RegistrationPlan("created", t, new_mapping=_new_mapping(reg), expire_versions=expire,
                                new_version=new, message=msg)

    if n is None:  # B: the MAC is known under another name
        return RegistrationPlan("renamed", t, expire_mappings=(_expire(m, t),), new_mapping=_new_mapping(reg),
                                message=f"Renamed photometer {m.name} (MAC = {mac}) with brand new name {name}")

    if m is None:  # C: the name is taken over by a new device
        msg = f"Replaced photometer tagged {name} (old MAC = {n.mac}) with new one with MAC {mac}"
        if cur is not None:  # replacing back: compare with the device's own Current version
            expire, new, change = _against_current(reg, cur)
            return RegistrationPlan("replaced", t, expire_mappings=(_expire(n, t),),
                                    new_mapping=_new_mapping(reg), expire_versions=expire, new_version=new,
                                    message=msg + (f"; {change}" if change else ""))
        old = catalog.current_version(n.mac)
        loc, obs = (old.location_id, old.observer_id) if old is not None else (-1, -1)
        return RegistrationPlan("replaced", t, expire_mappings=(_expire(n, t),), new_mapping=_new_mapping(reg),
                                new_version=_brand_new_version(reg, loc, obs), message=msg)

    if m == n or (m.name == name and n.mac == mac):  # D: the same pair
        if cur is None:  # the pair has lost its instrument row: give it one (5.x raised here)
            return RegistrationPlan("created", t, new_version=_brand_new_version(reg),
                                    message=f"Brand new photometer registered: {name} (MAC = {mac}); "
                                            f"the pair had no Current instrument version")
        expire, new, change = _against_current(reg, cur)
        if new is None:
            return RegistrationPlan("rebooted", t, message=f"Detected reboot for photometer {name} (MAC = {mac})")
        return RegistrationPlan("zp_changed", t, expire_versions=expire, new_version=new, message=change)

    # E: both are mapped, to other partners
    return RegistrationPlan(
        "extinct", t, expire_mappings=(_expire(m, t), _expire(n, t)), new_mapping=_new_mapping(reg),
        message=(f"Overridden associations ({m.name} -> {m.mac}) and ({n.name} -> {n.mac}) with new "
                 f"({name} -> {mac}) association data. Label {m.name} has no associated photometer now!"),
    )
