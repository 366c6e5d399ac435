"""A synthetic photometer fleet in the offline-ingest format (JSON Lines).

Registrations first, then one reading a minute from every photometer, with a
night/day magnitude cycle that follows each site's longitude (saturated zeros
by day, about 18-21.5 mag/arcsec^2 by night).  Every tenth photometer is a
TESS4C.  Used by the ingest benchmark and to make the README's sample file.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta

import orjson

START = datetime(2026, 11, 1, 12, 0, 0)


def mac_of(i: int) -> str:
    return "AA:BB:{:02X}:{:02X}:{:02X}:{:02X}".format(0x10 + i // 16_777_216 % 200, i // 65536 % 256,
                                                      i // 256 % 256, i % 256)


def is_4c(i: int) -> bool:
    return i % 10 == 9


def registration(i: int, when: datetime) -> bytes:
    name = f"stars{i + 1}"
    if is_4c(i):
        bands = ("UV/IR-740", "R", "G", "B")
        chans = {f"F{c + 1}": {"band": bands[c], "calib": round(20.0 + c * 0.1, 2)} for c in range(4)}
        payload = {"name": name, "mac": mac_of(i), "rev": 2, "firmware": "4c-1.0", **chans}
    else:
        payload = {"name": name, "mac": mac_of(i), "rev": 2, "chan": "fleet", "calib": round(20.0 + (i % 50) / 100, 2),
                   "wdBm": -60}
    return envelope("STARS4ALL/register", orjson.dumps(payload).decode(), when)


def envelope(topic: str, payload: str, when: datetime) -> bytes:
    return orjson.dumps({"topic": topic, "payload": payload, "received": when.isoformat() + "Z"})


def magnitude(i: int, when: datetime, rng: random.Random) -> float:
    longitude = -20.0 + (i * 7.3) % 50.0
    hour = (when.hour + when.minute / 60 + longitude / 15.0) % 24
    sun = math.cos((hour - 12.0) / 24.0 * 2 * math.pi)  # 1 at local noon, -1 at midnight
    if sun > 0.0:
        return 0.0
    return round(min(21.5, 14.0 + 8.0 * -sun) + rng.uniform(-0.05, 0.05), 2)


def reading(i: int, seq: int, when: datetime, rng: random.Random) -> bytes:
    name = f"stars{i + 1}"
    mag = magnitude(i, when, rng)
    freq = round(10 ** ((20.5 - mag) / 2.5), 3) if mag else 50000.0
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S")
    if is_4c(i):
        chans = ",".join(f'"F{c}":{{"freq":{freq:.3f},"mag":{mag},"zp":20.0}}' for c in range(1, 5))
        payload = f'{{"name":"{name}","seq":{seq},"rev":2,{chans},"tamb":8.5,"tsky":-12.0,"wdBm":-58,"tstamp":"{stamp}"}}'
    else:
        payload = (f'{{"udp":1,"rev":2,"name":"{name}","freq":{freq},"mag":{mag},"tamb":{10 + i % 7}.5,'
                   f'"tsky":-{5 + i % 9}.2,"wdBm":-{50 + i % 30},"seq":{seq}}}')
    return envelope(f"STARS4ALL/{name}/reading", payload, when + timedelta(milliseconds=rng.randint(0, 900)))


def generate(readings: int, photometers: int, start: datetime = START, seed: int = 1) -> Iterator[bytes]:
    """Registrations of every photometer, then ``readings`` readings in time order."""
    rng = random.Random(seed)
    for i in range(photometers):
        yield registration(i, start - timedelta(minutes=5))
    minute = 0
    made = 0
    while made < readings:
        when = start + timedelta(minutes=minute)
        for i in range(photometers):
            if made == readings:
                break
            yield reading(i, minute, when, rng)
            made += 1
        minute += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readings", type=int, default=10_000)
    ap.add_argument("--photometers", type=int, default=10)
    ap.add_argument("--start", default=START.isoformat(), help="UTC time of the first reading")
    ap.add_argument("--out", default="-")
    args = ap.parse_args()
    out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    for line in generate(args.readings, args.photometers, datetime.fromisoformat(args.start)):
        out.write(line + b"\n")
    out.flush()


if __name__ == "__main__":
    main()
