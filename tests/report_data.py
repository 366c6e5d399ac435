"""Captures and reference data for the report tests of every folder: registration and
reading envelopes, a plausible night sky, the Madrid site, and where the IDA fixtures are."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IDA_DIR = REPO / "tests" / "fixtures" / "ida"


def envelope(topic: str, payload: dict, received: str) -> str:
    return json.dumps({"topic": topic, "payload": json.dumps(payload), "received": received, "retain": False})


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def reg(name: str, mac: str, calib: float, at: datetime) -> str:
    return envelope("STARS4ALL/register", {"name": name, "mac": mac, "calib": calib, "rev": 2}, iso(at))


def reg4c(name: str, mac: str, at: datetime) -> str:
    chans = {f"F{i + 1}": {"band": b, "calib": 20.0 + i / 10} for i, b in enumerate(("UV/IR-740", "R", "G", "B"))}
    return envelope("STARS4ALL/register", {"name": name, "mac": mac, "rev": 2, "firmware": "4c", **chans}, iso(at))


def rd(name: str, seq: int, at: datetime, mag: float) -> str:
    payload = {"name": name, "seq": seq, "freq": 0.0 if mag == 0 else round(10 ** ((20.5 - mag) / 2.5), 3),
               "mag": mag, "tamb": 12.5, "tsky": -7.0, "wdBm": -60}
    return envelope(f"STARS4ALL/{name}/reading", payload, iso(at))


def rd4c(name: str, seq: int, at: datetime) -> str:
    payload = {"name": name, "seq": seq, "rev": 2, "tamb": 4.0, "tsky": -9.0, "wdBm": -70,
               **{f"F{i}": {"freq": 10.0 * i, "mag": 17.0 + i, "zp": 20.0} for i in range(1, 5)}}
    return envelope(f"STARS4ALL/{name}/reading", payload, iso(at))


def night_mag(t: datetime) -> float:
    """A made-up Madrid night: saturated (0) by day, 18 to 21 mag/arcsec² at night (UTC hours)."""
    h = t.hour + t.minute / 60
    if 6.0 <= h < 18.5:
        return 0.0
    x = (h - 18.5) % 24  # 0 .. 11.5 through the night
    return round(18.0 + 3.0 * min(x, 11.5 - x) / 5.75, 2)


MADRID = (1, -3.7038, 40.4168, 657.0, "Facultad de Fisicas", "Madrid", "Madrid", "Comunidad de Madrid", "Spain",
          "Europe/Madrid", "Jane Doe", None, "UCM")
