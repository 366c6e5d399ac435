"""Small pure helpers shared by the report commands: months, dates, directories, safe file
names, progress."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from tessdb_core import BadValue

T = TypeVar("T")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        """00:00:00 on the 1st (naive, in whatever zone the caller means)."""
        return datetime(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    @property
    def end(self) -> datetime:
        """00:00:00 on the 1st of the next month: the window is [start, end)."""
        return self.next().start

    def days(self) -> list[date]:
        d, out = self.start.date(), []
        while d.month == self.month:
            out.append(d)
            d += timedelta(days=1)
        return out


def parse_month(text: str, option: str = "--month") -> Month:
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
        raise BadValue(f"{option} {text!r} is not a month: expected YYYY-MM (e.g. 2026-10)")
    return Month(int(m.group(1)), int(m.group(2)))


def month_range(first: Month, last: Month | None) -> list[Month]:
    last = last or first
    if last < first:
        raise BadValue(f"--to {last} is before --month {first}")
    out = [first]
    while out[-1] < last:
        out.append(out[-1].next())
    return out


def parse_date(text: str, option: str) -> date:
    if not _DATE.match(text.strip()):
        raise BadValue(f"{option} {text!r} is not a date: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadValue(f"{option} {text!r} is not a date: expected YYYY-MM-DD") from None


def zone(name: str | None, where: str) -> ZoneInfo:
    """The IANA time zone of a location; ValueError naming the location if unknown."""
    try:
        return ZoneInfo(name or "Etc/UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise BadValue(f"{where} has an unknown time zone {name!r}") from None


def local_noon_window(day: date, tz: ZoneInfo, days: int = 1) -> tuple[datetime, datetime]:
    """[noon of ``day``, noon ``days`` later) in ``tz``, as naive UTC datetimes (DST aware)."""
    utc = ZoneInfo("UTC")
    start = datetime(day.year, day.month, day.day, 12, tzinfo=tz)
    end_day = day + timedelta(days=days)
    end = datetime(end_day.year, end_day.month, end_day.day, 12, tzinfo=tz)
    return (start.astimezone(utc).replace(tzinfo=None), end.astimezone(utc).replace(tzinfo=None))


def writable_dir(path: str | Path) -> Path:
    """Check that ``path`` is, or can be created as, a writable directory, or raise
    OSError with one line naming it.  Nothing is created here: the caller makes the
    directory when it writes the first file."""
    out = Path(path)
    existing = next((p for p in [out, *out.parents] if p.exists() or p == Path(".")), Path("."))
    if not existing.is_dir():
        raise OSError(f"output directory {str(out)!r} cannot be created: {str(existing)!r} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "is not writable" if existing == out else f"cannot be created: {str(existing)!r} is not writable"
        raise OSError(f"output directory {str(out)!r} {what}")
    return out


def writable_file(path: str | Path) -> Path:
    """Check that ``path`` can be written (its directory exists and is writable) or raise OSError."""
    out = Path(path)
    parent = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise OSError(f"output file {str(out)!r} is a directory")
    if not parent.is_dir():
        raise OSError(f"output file {str(out)!r} cannot be written: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise OSError(f"output file {str(out)!r} is not writable")
    return out


# -- file names made from data ------------------------------------------------------------------------
#: the characters a name keeps in a file name; every other one is written %XX (its UTF-8 bytes)
SAFE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
#: the longest file-name form of a name; longer ones are shortened to this with a hash (marked "~"),
#: which leaves room for the IDA suffix "_YYYY-MM_<location_id>_4c.dat" under 255 bytes
STEM_MAX = 200
COMPONENT_MAX = 255  # bytes in one path component (ext4, xfs, btrfs, APFS, NTFS)


def quote_name(text: str) -> str:
    """``text`` with every character outside [A-Za-z0-9._-] as %XX of its UTF-8 bytes
    (``%`` itself included, so that two texts never give the same result), and a leading
    ``.`` as ``%2E`` (no hidden file, never ``.`` or ``..``)."""
    out = []
    for i, ch in enumerate(text):
        if ch in SAFE_CHARS and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
    return "".join(out)


def file_stem(name: str) -> str:
    """The file-name form of a photometer name: ``quote_name(name)``, so "stars1" stays
    "stars1"; when that is longer than STEM_MAX, its first STEM_MAX - 13 characters, "~" and
    12 hex digits of the name's SHA-256 (two long names never share a file).  ValueError for
    the empty name."""
    if not name:
        raise BadValue("an empty name gives no file name")
    stem = quote_name(name)
    if len(stem) > STEM_MAX:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        stem = f"{stem[:STEM_MAX - 13]}~{digest}"
    return stem


def file_stems(names: Iterable[str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """``file_stem`` of each name, and the names refused as ``(name, reason)``: the empty
    name, and a name whose file name differs from another's only in case (one file on a
    case-insensitive file system).  Of such names the one that is its own file name,
    in lower case, keeps it."""
    def preference(name: str) -> tuple:
        return (quote_name(name) != name, name != name.lower(), name)

    stems: dict[str, str] = {}
    owners: dict[str, str] = {}
    refused: list[tuple[str, str]] = []
    for name in sorted(set(names), key=preference):
        try:
            stem = file_stem(name)
        except ValueError as exc:
            refused.append((name, str(exc)))
            continue
        other = owners.setdefault(stem.lower(), name)
        if other != name:
            refused.append((name, f"its file name {stem!r} would overwrite that of photometer {other!r} "
                                  "on a case-insensitive file system"))
            continue
        stems[name] = stem
    return stems, refused


def shown(name: str) -> str:
    """A name for a message line: as it is when it is its own file name, else its repr
    (a newline or a control character never breaks the line)."""
    return name if name and quote_name(name) == name else repr(name)


def inside(root: Path, relpath: str) -> Path:
    """``root / relpath``, checked: each component at most COMPONENT_MAX bytes, and the
    resolved path (symbolic links followed) inside the resolved ``root``; ValueError if not."""
    parts = Path(relpath).parts
    if not parts or Path(relpath).is_absolute() or ".." in parts:
        raise BadValue(f"file name {relpath!r} is not a plain relative path")
    long = next((p for p in parts if len(p.encode("utf-8", "surrogatepass")) > COMPONENT_MAX), None)
    if long is not None:
        raise BadValue(f"file name {long!r} is longer than {COMPONENT_MAX} bytes")
    target = root / relpath
    base = root.resolve()
    if not target.resolve().is_relative_to(base):
        raise BadValue(f"{str(target)!r} resolves to {str(target.resolve())!r}, outside {str(base)!r}")
    return target


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (no half file)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def progress(items: Iterable[T], total: int | None, desc: str, enabled: bool | None = None, unit: str = "it") -> Any:
    """A tqdm bar on stderr when it is a terminal (or when ``enabled``), else the items as they are."""
    show = sys.stderr.isatty() if enabled is None else enabled
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)


def fmt(value: Any) -> str:
    """A value as the reference tools print it (Python ``str``: floats in shortest repr)."""
    return str(value)
