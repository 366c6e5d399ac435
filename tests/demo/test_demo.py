"""``tessdb-core demo`` end to end: broker, fresh database, live service, simulated night, summary, plot.

Each run uses short settings (8 photometers, a 3-hour night centred on local
midnight, 1,800x: about 6 s of simulated traffic), once with the local mosquitto
and once with the embedded Python broker forced.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from broker import mosquitto_path

SHORT = ("--photometers", "8", "--hours", "3", "--speed", "1800")


def run_demo(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    return subprocess.run([sys.executable, "-m", "tessdb_core.cli", "demo", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def summary_value(out: str, label: str) -> str:
    m = re.search(rf"^  {re.escape(label)}\s+(.*)$", out, re.M)
    assert m, f"no '{label}' line in:\n{out}"
    return m.group(1)


def number(text: str) -> int:
    return int(text.replace(",", ""))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def check_run(out: subprocess.CompletedProcess, workdir: Path, cwd: Path) -> dict:
    """Everything a finished demo must show, in its output and in its files."""
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    # the summary
    photometers = summary_value(text, "photometers registered")
    assert photometers.startswith("8 (7 registered themselves, 1 set up by the operator)"), photometers
    assert "TESS4C 1" in photometers and "TESS-W 7" in photometers
    stored = summary_value(text, "readings stored")
    m = re.fullmatch(r"([\d,]+): TESS-W ([\d,]+), TESS4C ([\d,]+)", stored)
    assert m, stored
    total, w, c = (number(g) for g in m.groups())
    assert total == w + c and w > 0 and c > 0
    assert re.fullmatch(r"[\d,]+ \(saturated daytime readings\)", summary_value(text, "dropped by daylight"))
    quarantined = summary_value(text, "quarantined")
    sim = json.loads((workdir / "simulator.json").read_text())
    assert sim["malformed"] > 0 and sim["unconfirmed"] == 0
    assert quarantined.startswith(f"{sim['malformed']:,}:"), (quarantined, sim)
    # the database: every count of the summary, and nothing lost on the way
    with sqlite3.connect(workdir / "tess.db") as db:
        assert db.execute("SELECT COUNT(*) FROM tess_readings_t").fetchone()[0] == w
        assert db.execute("SELECT COUNT(*) FROM tess_readings4c_t").fetchone()[0] == c
        located = db.execute("SELECT COUNT(*) FROM tess_readings4c_t WHERE location_id > 0").fetchone()[0]
        assert located > 0  # the operator's photometer: its readings carry its site
    with sqlite3.connect(workdir / "tessdb-inbox.db") as inbox:
        reasons = dict(inbox.execute("SELECT reason, COUNT(*) FROM quarantine_t GROUP BY reason").fetchall())
        waiting = inbox.execute("SELECT COUNT(*) FROM inbox_t").fetchone()[0] if inbox.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'inbox_t'").fetchone() else 0
    malformed = {k: v for k, v in sim["by_kind"].items() if k in ("bad_json", "missing_field", "wrong_type", "bad_mac")
                 and v}
    assert reasons == malformed
    assert waiting == 0
    dropped = number(summary_value(text, "dropped by daylight").split()[0])
    assert total + dropped == sim["readings"]  # every good reading stored or dropped by day, none lost
    # the clear fraction of each photometer: screened, with the simulated truth beside it
    m = re.search(r"^  clear astronomical night, screened \(simulated\):\n((?:    .*\n)+)", text, re.M)
    assert m, text
    cells = re.findall(r"(stars\d+) (n/a|\d+%) \((n/a|\d+%)\)", m.group(1))
    assert len(cells) >= 7, m.group(1)
    truth = sim["clear_night_fraction"]
    for name, _screened, simulated in cells:
        if simulated != "n/a":
            assert simulated == f"{truth[name]:.0%}", (name, simulated, truth)
    # the plot
    plot_line = summary_value(text, "night plot")
    png = cwd / plot_line
    assert png.suffix == ".png" and png.parent == workdir and png.stat().st_size > 20_000, plot_line
    image = mpimg.imread(png)
    assert image.shape[:2] == (700, 1200)
    assert image[..., :3].std() > 0.05  # not a blank canvas
    # the children are gone: the service's pid and the broker's port
    pid = int(re.search(r"tessdb-core run \(pid (\d+)\)", text).group(1))
    assert not pid_alive(pid)
    port = int(re.search(r"on 127\.0\.0\.1:(\d+)", text).group(1))
    assert not listening(port)
    # progress lines while it ran
    assert re.search(r"night at \d\d:\d\d: [\d,]+ messages sent", text)
    return {"text": text, "port": port}


def explore(text: str, cwd: Path) -> None:
    """The commands the demo suggests work on what it wrote."""
    commands = text.split("Explore further", 1)[1].strip().splitlines()[1:]
    assert len(commands) >= 4
    for line in commands:
        line = line.strip()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
        if line.startswith("TESSDB_"):
            var, line = line.split(" ", 1)
            key, value = var.split("=", 1)
            env[key] = value
        args = line.split()
        assert args[0] == "tessdb-core"
        out = subprocess.run([sys.executable, "-m", "tessdb_core.cli", *args[1:]], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, (line, out.stderr)
        assert out.stdout.strip(), line


@pytest.mark.skipif(mosquitto_path() is None, reason="mosquitto is not installed")
def test_demo_with_mosquitto(tmp_path):
    t0 = time.monotonic()
    out = run_demo("--dir", "demo", *SHORT, cwd=tmp_path)
    elapsed = time.monotonic() - t0
    workdir = tmp_path / "demo"
    seen = check_run(out, workdir, tmp_path)
    assert "broker             mosquitto" in seen["text"]
    assert "listener" in (workdir / "mosquitto.conf").read_text()
    explore(seen["text"], tmp_path)
    assert elapsed < 120


def test_demo_with_the_embedded_broker_forced_and_keep(tmp_path):
    """The embedded broker (amqtt) even though mosquitto may be installed; --keep in a used directory."""
    workdir = tmp_path / "mine"
    workdir.mkdir()
    (workdir / "notes.txt").write_text("mine")
    (workdir / "tess.db").write_text("an old file that is not a database")
    refused = run_demo("--dir", "mine", *SHORT, cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [refused.stderr.strip()]
    assert "is not empty" in refused.stderr and "--keep" in refused.stderr
    out = run_demo("--dir", "mine", "--embedded-broker", "--keep", *SHORT, cwd=tmp_path)
    seen = check_run(out, workdir, tmp_path)
    assert "broker             embedded Python broker (amqtt" in seen["text"]
    assert not (workdir / "mosquitto.conf").exists()
    assert (workdir / "notes.txt").read_text() == "mine"


def test_embedded_broker_is_chosen_without_mosquitto(tmp_path, monkeypatch):
    import tessdb_demo.run as run_mod
    from tessdb_demo.brokers import Embedded
    from tessdb_demo.run import Demo, DemoConfig

    monkeypatch.setattr(run_mod, "mosquitto_path", lambda: None)
    demo = Demo(DemoConfig(tmp_path), echo=lambda line: None)
    try:
        demo.start_broker()
        assert isinstance(demo.broker, Embedded)
        assert demo.broker.protocol == "3.1.1"
        assert listening(demo.broker.port)
        _persistent_session_roundtrip(demo.broker.port)
    finally:
        demo.cleanup()
    assert not listening(demo.broker.port)


def test_embedded_broker_when_mosquitto_does_not_start(tmp_path, monkeypatch):
    import tessdb_demo.run as run_mod
    from tessdb_demo.brokers import Embedded
    from tessdb_demo.run import Demo, DemoConfig

    monkeypatch.setattr(run_mod, "mosquitto_path", lambda: "/bin/false")
    said: list[str] = []
    demo = Demo(DemoConfig(tmp_path), echo=said.append)
    try:
        demo.start_broker()
        assert isinstance(demo.broker, Embedded) and listening(demo.broker.port)
    finally:
        demo.cleanup()
    assert any("mosquitto (/bin/false) did not start" in line for line in said), said
    assert any("embedded Python broker" in line for line in said), said


def _persistent_session_roundtrip(port: int) -> None:
    """What the service relies on: QoS 1, a persistent session, messages kept while it is away."""
    import paho.mqtt.client as mqtt

    got: list[bytes] = []

    def subscriber() -> mqtt.Client:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="demo-test-sub", clean_session=False,
                        protocol=mqtt.MQTTv311, manual_ack=True)
        c.username_pw_set("tessdb-demo")

        def on_message(client, userdata, msg):
            got.append(msg.payload)
            client.ack(msg.mid, msg.qos)

        c.on_message = on_message
        c.connect("127.0.0.1", port)
        return c

    sub = subscriber()
    sub.subscribe("STARS4ALL/+/reading", 1)
    for _ in range(20):
        sub.loop(0.05)
    sub.disconnect()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    pub.username_pw_set("tessdb-demo")
    pub.connect("127.0.0.1", port)
    infos = [pub.publish("STARS4ALL/stars1/reading", f"{i}", qos=1) for i in range(50)]
    deadline = time.monotonic() + 10
    while not all(i.is_published() for i in infos) and time.monotonic() < deadline:
        pub.loop(0.05)
    pub.disconnect()
    sub = subscriber()
    deadline = time.monotonic() + 10
    while len(got) < 50 and time.monotonic() < deadline:
        sub.loop(0.05)
    sub.disconnect()
    assert sorted(int(x) for x in got) == list(range(50))


@pytest.mark.parametrize("args, message", [
    (["--photometers", "1"], "--photometers must be between 2 and"),
    (["--photometers", "many"], "--photometers must be a whole number"),
    (["--hours", "30"], "--hours must be between 0.25 and 24"),
    (["--hours", "inf"], "--hours must be a number of hours"),
    (["--speed", "0"], "--speed must be a positive number"),
    (["--speed", "-5"], "--speed must be a positive number"),
    (["--date", "29/11/2026"], "--date must be a date YYYY-MM-DD"),
    (["--date", "2999-01-01"], "has not ended yet"),
    (["--broker", "localhost"], "--broker must be HOST:PORT"),
    (["--broker", "127.0.0.1:1883", "--embedded-broker"], "give --broker or --embedded-broker, not both"),
    (["--seed", "-3"], "--seed must be 0 or more"),
])
def test_bad_arguments_are_one_line_and_nothing_is_made(tmp_path, args, message):
    out = run_demo(*args, cwd=tmp_path, timeout=60)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = [line for line in out.stderr.strip().splitlines() if "plugin" not in line]
    assert len(lines) == 1 and lines[0].startswith("tessdb-core: error: ") and message in lines[0], out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_file_as_dir_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    out = run_demo("--dir", "f", cwd=tmp_path, timeout=60)
    assert out.returncode == 2 and "is not a directory" in out.stderr


def test_ctrl_c_stops_every_child(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSDB_")}
    proc = subprocess.Popen([sys.executable, "-m", "tessdb_core.cli", "demo", "--dir", "d", "--photometers", "4",
                             "--hours", "8", "--speed", "600"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "tessdb-core simulate" in line:
                break
        text = "".join(lines)
        pid = int(re.search(r"tessdb-core run \(pid (\d+)\)", text).group(1))
        port = int(re.search(r"on 127\.0\.0\.1:(\d+)", text).group(1))
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, err
    assert "interrupted: stopping the simulator, the service and the broker" in rest
    assert not pid_alive(pid)
    assert not listening(port)
    # the service stopped gracefully: what it received is in the database, nothing left in the inbox
    log = (tmp_path / "d" / "tessdb.log").read_text()
    assert "Stopped" in log


# -- the night (pure) ---------------------------------------------------------------------------------
def test_night_is_centred_on_local_midnight():
    from tessdb_demo.night import last_ended_night, night_of

    n = night_of(date(2026, 11, 28), "Europe/Madrid", 16)
    assert (n.start, n.end) == (datetime(2026, 11, 28, 15, 0), datetime(2026, 11, 29, 7, 0))
    assert n.describe() == "2026-11-28, 16:00 to 08:00 Europe/Madrid"
    # at 07:59 local the night of the 28th has not ended: the last one is the 27th's
    assert last_ended_night(datetime(2026, 11, 29, 6, 59), "Europe/Madrid", 16) == date(2026, 11, 27)
    assert last_ended_night(datetime(2026, 11, 29, 7, 0), "Europe/Madrid", 16) == date(2026, 11, 28)
    # summer time: 16:00 to 08:00 local is 14:00 to 06:00 UTC
    s = night_of(date(2026, 7, 1), "Europe/Madrid", 16)
    assert (s.start, s.end) == (datetime(2026, 7, 1, 14, 0), datetime(2026, 7, 2, 6, 0))


def test_fleet_shares():
    from tessdb_demo.night import malformed_rate, tess4c_share

    assert round(2 * tess4c_share(2)) == 1 and round(8 * tess4c_share(8)) == 1 and round(20 * tess4c_share(20)) == 2
    assert 15 <= 20 * 16 * 60 * malformed_rate(20, 16) <= 25
    assert 15 <= 8 * 3 * 60 * malformed_rate(8, 3) <= 25
    assert malformed_rate(10_000, 24) == 0.001
