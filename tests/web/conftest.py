"""A small fleet in a real SQLite file (made by ``tessdb-core init`` and ``ingest``), and the
public listener serving it on 127.0.0.1 in this process (``WebRuntime``, as ``tessdb-core web``
runs it), for the web tests."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cli_runner import Cli
from report_data import envelope, iso

HOST = "127.0.0.1"
#: a contact e-mail and name put in the database: no public answer may show them
EMAIL = "jane.contact@example.org"
CONTACT = "Jane Q. Contact"
OBSERVER_EMAIL = "observer.private@example.net"
HTML_NAME = '<img src=x onerror="window.hacked=1">Evil & Co'


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def registration(name: str, mac: str, at: datetime, calib: float = 20.5) -> str:
    return envelope("STARS4ALL/register", {"name": name, "mac": mac, "calib": calib, "rev": 2}, iso(at))


def reading(name: str, seq: int, at: datetime, mag: float) -> str:
    payload = {"name": name, "seq": seq, "freq": round(10 ** ((20.5 - mag) / 2.5), 3), "mag": mag,
               "tamb": 8.5, "tsky": -11.0, "wdBm": -60}
    return envelope(f"STARS4ALL/{name}/reading", payload, iso(at))


@dataclass
class FleetDb:
    path: Path
    cli: Cli
    now: datetime

    def sql(self, statement: str, args: tuple = ()) -> list[tuple]:
        conn = sqlite3.connect(self.path)
        try:
            with conn:
                return conn.execute(statement, args).fetchall()
        finally:
            conn.close()


_TEMPLATE: list[Path] = []


def fresh_db(tmp_path: Path) -> Cli:
    """A Cli in ``tmp_path`` with a fresh ``tessdb-core init`` database (made once per run, copied)."""
    import shutil
    import tempfile

    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="tessdb-web-template-"))
        Cli(folder)("init")
        _TEMPLATE.append(folder / "tess.db")
    shutil.copy(_TEMPLATE[0], tmp_path / "tess.db")
    return Cli(tmp_path)


def make_fleet(tmp_path: Path, live: int = 2, silent: int = 1, never: int = 1, every: int = 5) -> FleetDb:
    """``stars1..`` live (readings up to 2 minutes ago), then silent ones (newest 5 h ago), then
    never-seen ones (registered only); sites in Spain, one with a contact e-mail and one whose
    place is HTML."""
    cli = fresh_db(tmp_path)
    now = now_utc()
    lines: list[str] = []
    names = [f"stars{i}" for i in range(1, live + silent + never + 1)]
    start = now - timedelta(hours=8)
    for i, name in enumerate(names):
        lines.append(registration(name, f"AA:BB:CC:00:00:{i + 1:02X}", start - timedelta(days=1), 20.5 + i / 100))
    for i, name in enumerate(names[:live + silent]):
        end = now - timedelta(minutes=2) if i < live else now - timedelta(hours=5)
        t, seq = start, 0
        while t <= end:
            lines.append(reading(name, seq, t, round(19.0 + 2.0 * (seq % 60) / 60 + i / 10, 2)))
            t += timedelta(minutes=every)
            seq += 1
    capture = tmp_path / "fleet.jsonl"
    capture.write_text("\n".join(lines) + "\n")
    cli("ingest", str(capture))
    sites = [("Observatorio del Teide", "La Laguna", "Spain", -16.51, 28.30),
             ("Facultad de Fisicas", "Madrid", "Spain", -3.73, 40.45),
             (HTML_NAME, "Town <b>bold</b>", "Portugal", -8.61, 41.15),
             ("Casa Rural", "Teruel", "Spain", -1.10, 40.34)]
    for i, name in enumerate(names):
        place, town, country, lon, lat = sites[i % len(sites)]
        place = place if i < len(sites) else f"{place} {i}"
        cli("location", "create", place, "--lon", str(lon + i * 0.05), "--lat", str(lat + i * 0.03), "--town", town,
            "--country", country, "--timezone", "Europe/Madrid")
        cli("instrument", "assign", name, "--location", place, "--readings")
    db = FleetDb(tmp_path / "tess.db", cli, now)
    db.sql("UPDATE location_t SET contact_name = ?, contact_email = ?", (CONTACT, EMAIL))
    if db.sql("SELECT name FROM sqlite_master WHERE name = 'observer_t'"):
        cols = [r[1] for r in db.sql("PRAGMA table_info(observer_t)")]
        if "email" in cols:
            db.sql("UPDATE observer_t SET email = ?", (OBSERVER_EMAIL,))
    return db


@pytest.fixture(scope="module")
def fleet_db(tmp_path_factory) -> FleetDb:
    """One fleet per test module (nothing writes to it: the listener only reads)."""
    return make_fleet(tmp_path_factory.mktemp("fleet"))


class Client:
    """A plain HTTP client of the listener: (status, headers, body) per request."""

    def __init__(self, port: int):
        self.base = f"http://{HOST}:{port}"

    def request(self, path: str, method: str = "GET", headers: dict[str, str] | None = None,
                body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.base + path, method=method, headers=headers or {}, data=body)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()

    def json(self, path: str) -> Any:
        status, _headers, body = self.request(path)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)


@dataclass
class Served:
    client: Client
    runtime: Any
    db: FleetDb


def serve(db: FleetDb, url: str | None = None, **web: Any) -> Served:
    from tessdb_core import app as app_mod
    from tessdb_web.config import WebSettings
    from tessdb_web.runtime import WebRuntime

    app = app_mod.create(configure_logs=False)
    cfg = replace(WebSettings.from_settings(app.settings), host=HOST, port=0, **web)
    runtime = WebRuntime(app.settings, url or str(db.path), pm=app.pm, cfg=cfg)
    runtime.start()
    return Served(Client(runtime.listener.port), runtime, db)


@pytest.fixture(scope="module")
def served(fleet_db):
    s = serve(fleet_db)
    yield s
    s.runtime.stop()


# -- a fleet of any size, by SQL (sites and catalogue) and ingest (readings) -------------------------
FAR = "2999-12-31 23:59:59.000000"


def big_fleet(tmp_path: Path, n: int, silent_every: int = 7, never_every: int = 11) -> FleetDb:
    """``n`` TESS-W over Europe (a grid), each at a site of its own: every ``silent_every``-th silent
    (newest reading 6 h ago), every ``never_every``-th never seen, the others live; the 5th's
    place and the 6th's name of town are HTML."""
    cli = fresh_db(tmp_path)
    now = now_utc()
    db = FleetDb(tmp_path / "tess.db", cli, now)
    conn = sqlite3.connect(db.path)
    lines = []
    since = (now - timedelta(days=30)).strftime("%Y-%m-%d %H:%M:%S.000000")
    for i in range(1, n + 1):
        name, mac = f"stars{i}", f"AA:BB:CC:00:{i >> 8:02X}:{i & 255:02X}"
        place = HTML_NAME if i == 5 else f"Site {i}"
        town = "<script>window.hacked=2</script>" if i == 6 else f"Town {i}"
        country = ("Spain", "Portugal", "France", "Italy", "Germany")[i % 5]
        conn.execute("INSERT INTO location_t (location_id, longitude, latitude, elevation, place, town, sub_region, "
                     "region, country, timezone, contact_name, contact_email) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     (1000 + i, -9.0 + (i * 7 % 23) * 1.0, 37.0 + (i * 5 % 17) * 0.8, 600.0, place, town, "", "",
                      country, "Europe/Madrid", CONTACT, EMAIL))
        conn.execute("INSERT INTO tess_t (tess_id, mac_address, valid_since, valid_until, valid_state, model, "
                     "nchannels, zp1, filter1, location_id, authorised) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                     (1000 + i, mac, since, FAR, "Current", "TESS-W", 1, 20.5, "UV/IR-740", 1000 + i, 1))
        conn.execute("INSERT INTO name_to_mac_t (name, mac_address, valid_since, valid_until, valid_state) "
                     "VALUES (?,?,?,?,?)", (name, mac, since, FAR, "Current"))
        if i % never_every == 0:
            continue
        end = now - (timedelta(hours=6) if i % silent_every == 0 else timedelta(minutes=1))
        for k in range(3):
            lines.append(reading(name, k, end - timedelta(minutes=10 * (2 - k)), 19.5 + (i % 10) / 10))
    conn.commit()
    conn.close()
    capture = tmp_path / "fleet.jsonl"
    capture.write_text("\n".join(lines) + "\n")
    cli("ingest", str(capture))
    return db


# -- a real browser ----------------------------------------------------------------------------------
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run tests/system-packages.sh (it installs chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Page:
    """A page of the browser that records every console error and uncaught exception."""

    def __init__(self, browser: Any, width: int = 1400, height: int = 900):
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.set_default_timeout(20_000)

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='1']")
        return self.page

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser):
    p = Page(browser)
    yield p
    p.close()
