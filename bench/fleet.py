"""A synthetic photometer fleet in the offline-ingest format (JSON Lines).

A thin wrapper over the simulator of ``tessdb-core simulate`` (package
``tessdb_sim``): every photometer registers in the first minute, then sends one
reading a minute with the night/day magnitude cycle of its site (saturated zeros
by day, 17-21.5 mag/arcsec^2 by night), reboots, zero-point changes, renames and
replacements; one photometer in ten is a TESS4C.  No malformed payloads here, so
that the benchmark measures stored readings.  Used by bench/ingest.py.

    python bench/fleet.py --readings 10000 --photometers 10 --out fleet.jsonl
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from datetime import datetime

from tessdb_sim.command import parse_start
from tessdb_sim.generator import FleetConfig, events
from tessdb_sim.sinks import jsonl_line

START = datetime(2026, 11, 1, 20, 0, 0)


def generate(readings: int, photometers: int, start: datetime = START, seed: int = 1,
             malformed_rate: float = 0.0) -> Iterator[bytes]:
    """JSON Lines envelopes (without newline): registrations and ``readings`` readings in time order."""
    cfg = FleetConfig(photometers, start, seed, tess4c_share=0.1, malformed_rate=malformed_rate, readings=readings)
    for event in events(cfg):
        yield jsonl_line(event)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readings", type=int, default=10_000)
    ap.add_argument("--photometers", type=int, default=10)
    ap.add_argument("--start", default=START.isoformat(), help="UTC time of the first reading")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="-")
    args = ap.parse_args()
    out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb")
    for line in generate(args.readings, args.photometers, parse_start(args.start), args.seed):
        out.write(line + b"\n")
    out.flush()


if __name__ == "__main__":
    main()
