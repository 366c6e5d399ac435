"""``tessdb-core settings import``: a tessdb-server installation's settings, translated.

An operator replacing tessdb-server 4.x or 5.x has ``/etc/tessdb/config.toml`` (tuning and log
levels), ``/etc/tessdb/tessdb.env`` (broker, database, admin address; 4.x: ``MQTT_BROKER`` and a
plain ``DATABASE_URL`` path) and, with 5.x, the alarm tool's env file.  :func:`translate` is the
pure mapping from those to our settings: what maps, where, and for each old setting that does
not, why (a :class:`Note`, written as a TOML comment and on stderr).  Passwords and tokens go
to the secrets table only, so that ``settings.toml`` can be shown, copied and committed.

Bad input (a missing file, a file that is not TOML, an unknown section, a value of the wrong
type) raises :class:`~tessdb_core.settings.SettingsError` naming the file and the key, never a
secret's value.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .settings import SettingsError, is_level, is_secret
from .errors import BadValue

#: what the printed secrets show instead of their values
REDACTED_OUT = "<redacted: written with --out>"
#: our sections, in the order they are written
ORDER = ("mqtt", "filter", "dbase", "http", "stats", "logs", "alarms")
#: old logger (section.key) -> our log namespace (tessdb-server's loggers: 4.x ``tessdb``, ``mqttS``,
#: ``mqtt`` protocol, ``filtr``, ``dbase``; 5.x ``mqtt``, ``MQTT`` protocol, ``filter``, ...)
LOGGERS = {"tessdb.log_level": "server", "mqtt.log_level": "mqtt", "mqtt.protocol_log_level": "paho",
           "filter.log_level": "filter", "dbase.log_level": "dbase", "stats.log_level": "stats",
           "http.log_level": "http"}
#: environment variables of the machine, not of tessdb-server: ignored without a word
_NOT_SETTINGS = frozenset({"VIRTUAL_ENV", "PATH", "PYTHONIOENCODING", "PYTHONPATH", "HOME", "LANG", "LC_ALL", "TZ"})

#: the old settings that have no counterpart here, and why
UNMAPPED = {
    "tessdb.log_selected": "4.x logged only the events of these photometers; tessdb-core sets a level per "
                           "photometer instead: [logs.photometers] NAME = \"debug\"",
    "dbase.register_log_level": "registrations are logged in the dbase namespace, set from dbase.log_level "
                                "([logs.namespaces] dbase)",
    "dbase.zp_threshold": "tessdb-core refuses a registration whose zero point lies outside [rules] "
                          "zp_min..zp_max (10..30 by default), which already drops the absurd ZP 0 or 2 this "
                          "guarded against (5.x ignored the key); set [rules] zp_min for another floor",
    "dbase.secs_resolution": "readings are always stored to the second (time_t holds all 86,400 seconds); "
                             "there is no coarser resolution",
    "dbase.queue_size": "there is no queue in memory: messages wait in the durable inbox on disk "
                        "([inbox] path), bounded by the disk, not by a count",
    "filter.flush_threshold": "`tessdb-core flush` (and stop) releases every filter window and writes every "
                              "buffer at once: there is no threshold to wait for",
}


@dataclass(frozen=True)
class Note:
    """An old setting that was not mapped, or mapped with a caveat, and why."""

    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


@dataclass
class Imported:
    """The translation: our settings, the secrets apart, and the notes."""

    settings: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def put(self, dotted: str, value: Any) -> None:
        """Set one of our settings; a secret goes to the secrets table, whatever its caller."""
        node = self.secrets if is_secret(dotted) else self.settings
        *tables, key = dotted.split(".")
        for t in tables:
            node = node.setdefault(t, {})
        node[key] = value

    def note(self, key: str, reason: str) -> None:
        self.notes.append(Note(key, reason))


# -- reading the old files ------------------------------------------------------------------------
def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The old config.toml as a dict."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:  # its message holds a position, never the text
        raise SettingsError(f"{path}: not a TOML file: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read it: {exc.strerror or exc}") from None


def read_env(path: str | os.PathLike) -> dict[str, str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_env(text, str(path))


_ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


def parse_env(text: str, source: str = "env file") -> dict[str, str]:
    """``KEY=VALUE`` lines as systemd's EnvironmentFile and python-decouple read them: comments,
    blank lines, ``export``, single quotes (literal), double quotes (``\\"``, ``\\\\``, ``\\n``
    escapes), an unquoted value ends at `` #``.  Errors name the line and key, not the value."""
    env: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _ENV_LINE.match(line)
        if not m:
            raise SettingsError(f"{source}: line {number}: expected KEY=VALUE")
        key, raw = m.groups()
        env[key] = _env_value(raw, f"{source}: line {number}: {key}")
    return env


def _env_value(raw: str, where: str) -> str:
    if raw[:1] == "'":
        end = raw.find("'", 1)
        value, rest = (raw[1:end], raw[end + 1:]) if end > 0 else (None, "")
    elif raw[:1] == '"':
        out, i, value, rest = [], 1, None, ""
        while i < len(raw):
            c = raw[i]
            if c == "\\" and i + 1 < len(raw):
                out.append({"n": "\n", "t": "\t"}.get(raw[i + 1], raw[i + 1]))
                i += 2
                continue
            if c == '"':
                value, rest = "".join(out), raw[i + 1:]
                break
            out.append(c)
            i += 1
    else:
        return re.split(r"\s#", raw, maxsplit=1)[0].strip()
    if value is None:
        raise SettingsError(f"{where}: the quote is not closed (a value on one line is expected)")
    if rest.strip() and not rest.strip().startswith("#"):
        raise SettingsError(f"{where}: unexpected text after the closing quote")
    return value


# -- typed values --------------------------------------------------------------------------------
def _int(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str) and re.fullmatch(r"\s*-?[0-9]+\s*", v):
        return int(v)
    raise BadValue("an integer")


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    text = str(v).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise BadValue("true or false (1 or 0)")


def _str(v: Any) -> str:
    if not isinstance(v, str):
        raise BadValue("a string")
    return v


def _names(v: Any) -> list[str]:
    """A list of names; 4.x also wrote them as one comma-separated string."""
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    raise BadValue("a list of names")


def _level(v: Any) -> str:
    if not is_level(v):
        raise BadValue("a log level (debug, info, warn, error, critical)")
    return str(v).lower()


def _checked(convert: Callable[[Any], Any], value: Any, source: str, key: str) -> Any:
    try:
        return convert(value)
    except ValueError as exc:
        shown = "" if is_secret(key.lower()) else f" = {value!r}"
        raise SettingsError(f"{source}: {key}{shown} is not valid: expected {exc}") from None


# -- the mapping ----------------------------------------------------------------------------------
#: config.toml keys copied to one of ours: old key -> (our key, type)
DIRECT: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "mqtt.keepalive": ("mqtt.keepalive", _int),
    "mqtt.tess_topic_register": ("mqtt.tess_topic_register", _str),
    "mqtt.tess_topics": ("mqtt.tess_topics", _names),
    "mqtt.tess_whitelist": ("mqtt.tess_whitelist", _names),
    "mqtt.tess_blacklist": ("mqtt.tess_blacklist", _names),
    "filter.depth": ("filter.depth", _int),
    "filter.enabled": ("filter.enable.daylight", _bool),  # 4.x
    "filter.enable.daylight": ("filter.enable.daylight", _bool),  # 5.x
    "filter.disabled_for": ("filter.disabled_for", _names),
    # the 5.x sample file puts it under [filter.enable] (a slip of that file): read it there too
    "filter.enable.disabled_for": ("filter.disabled_for", _names),
    "dbase.auth_filter": ("dbase.auth_filter", _bool),
    "dbase.buffer_size": ("dbase.buffer_size", _int),
    "stats.interval": ("stats.interval", _int),
}
#: tables of names copied entry by entry: old table -> (our table, type)
TABLES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "filter.divisor": ("filter.divisor", _int),
    "filter.loggers": ("logs.photometers", _level),  # 5.x per-photometer loggers
}
SECTIONS = ("tessdb", "mqtt", "filter", "dbase", "stats", "http")


def translate(config: Mapping[str, Any], env: Mapping[str, str] | None = None,
              alarms_env: Mapping[str, str] | None = None, *, config_source: str = "config.toml",
              env_source: str = "tessdb.env", alarms_source: str = "alarms env") -> Imported:
    """The whole mapping, pure: the parsed files in, our settings, secrets and notes out."""
    given = ((config_source, config), (env_source, env), (alarms_source, alarms_env))
    out = Imported(sources=[source for source, data in given if data is not None])
    for section, table in config.items():
        if section not in SECTIONS:
            raise SettingsError(f"{config_source}: unknown section [{section}] "
                                f"(a tessdb-server config.toml has {', '.join(SECTIONS)})")
        if not isinstance(table, Mapping):
            raise SettingsError(f"{config_source}: [{section}] must be a table")
        _config_table(out, section, table, config_source)
    if env is None:
        out.note("--env", "not given: the broker, the database and the admin address (tessdb.env) keep "
                          "tessdb-core's defaults")
    else:
        _env(out, env, env_source)
    if alarms_env is not None:
        _alarms(out, alarms_env, alarms_source)
    return out


def _config_table(out: Imported, prefix: str, table: Mapping[str, Any], source: str) -> None:
    for key, value in table.items():
        old = f"{prefix}.{key}"
        if old in TABLES:
            if not isinstance(value, Mapping):
                raise SettingsError(f"{source}: {old} is not valid: expected a table of name = value")
            ours, convert = TABLES[old]
            for name, v in value.items():
                out.put(f"{ours}.{name}", _checked(convert, v, source, f"{old}.{name}"))
        elif isinstance(value, Mapping) and old == "filter.enable":
            _config_table(out, old, value, source)
        elif old in DIRECT:
            ours, convert = DIRECT[old]
            out.put(ours, _checked(convert, value, source, old))
        elif old in LOGGERS:
            out.put(f"logs.namespaces.{LOGGERS[old]}", _checked(_level, value, source, old))
        elif old in UNMAPPED:
            if old != "tessdb.log_selected" or _names(value):  # an empty selection loses nothing
                out.note(old, UNMAPPED[old])
        else:
            out.note(old, "not a tessdb-server 4.x or 5.x setting: ignored")


def _env(out: Imported, env: Mapping[str, str], source: str) -> None:
    get = lambda key, convert=_str: _checked(convert, env[key], source, key)  # noqa: E731
    websockets = env.get("MQTT_TRANSPORT", "tcp").strip().lower() == "websockets"
    for key in env:
        if key == "DATABASE_URL":
            _database(out, get(key), source)
        elif key == "MQTT_BROKER":  # 4.x: a Twisted endpoint
            _broker(out, get(key), source)
        elif key == "MQTT_TRANSPORT":
            if websockets:
                out.note(key, "websockets is not supported: tessdb-core connects over TCP (TLS with [mqtt.tls]); "
                              "MQTT_PORT was left out, [mqtt] port must be the broker's TCP listener (1883 by default)")
            elif get(key).strip().lower() != "tcp":
                raise SettingsError(f"{source}: MQTT_TRANSPORT = {env[key]!r} is not valid: expected tcp or websockets")
        elif key == "MQTT_HOST":
            out.put("mqtt.host", get(key))
        elif key == "MQTT_PORT" and not websockets:
            out.put("mqtt.port", get(key, _int))
        elif key == "MQTT_USERNAME":
            out.put("mqtt.username", get(key))
        elif key == "MQTT_PASSWORD":
            if env[key]:
                out.put("mqtt.password", env[key])
        elif key == "MQTT_CLIENT_ID":
            if env[key]:
                out.put("mqtt.client_id", env[key])
            else:
                out.note(key, "empty (a new id at each connection): tessdb-core keeps its fixed id \"tessdb-core\", "
                              "because the broker keeps the persistent session under it, and with it the "
                              "messages that arrive while the collector is stopped or restarting")
        elif key == "ADMIN_HTTP_LISTEN_ADDR":
            out.put("http.host", get(key))
        elif key == "ADMIN_HTTP_PORT":
            out.put("http.port", get(key, _int))
        elif key == "MQTT_TOPIC":
            out.note(key, "unused by tessdb-server 5.x: ignored (the topics are [mqtt] tess_topics)")
        elif key not in _NOT_SETTINGS:
            out.note(key, "not a tessdb-server setting: ignored")


def _database(out: Imported, url: str, source: str) -> None:
    """``sqlite+aiosqlite:///path`` (5.x), ``sqlite:///path`` or a plain path (4.x) -> a path;
    ``postgresql+<driver>://`` -> ``postgresql://`` (its password makes the URL a secret)."""
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", url)
    if m is None:
        path = url
    elif m.group(1).split("+")[0] == "sqlite":
        path = m.group(2)[1:] if m.group(2).startswith("/") else m.group(2)
    elif m.group(1).split("+")[0] in ("postgresql", "postgres"):
        pg = f"postgresql://{m.group(2)}"
        if re.match(r"^postgresql://[^/@]*:[^/@]*@", pg):
            out.secrets.setdefault("dbase", {})["url"] = pg  # a password inside: the URL goes to the secrets
            out.note("DATABASE_URL", "holds a password: [dbase] url is written to .secrets.toml")
        else:
            out.put("dbase.url", pg)
        return
    else:
        raise SettingsError(f"{source}: DATABASE_URL is not valid: expected a SQLite path, sqlite:///path, "
                            f"sqlite+aiosqlite:///path or a postgresql:// URL (scheme {m.group(1)!r})")
    if not path:
        raise SettingsError(f"{source}: DATABASE_URL is not valid: expected a database file path")
    out.put("dbase.url", path)
    if not os.path.isabs(path):
        out.note("DATABASE_URL", f"{path!r} is relative to the directory the service runs in (tessdb-server's "
                                 "WorkingDirectory; tessdb-core's unit uses /var/dbase): write an absolute path")


def _broker(out: Imported, endpoint: str, source: str) -> None:
    """4.x ``MQTT_BROKER``: a Twisted client endpoint, ``tcp:HOST:PORT`` or ``tcp:host=H:port=P``
    (``ssl:``/``tls:`` turn TLS on)."""
    kind, _, rest = endpoint.partition(":")
    parts = [p for p in rest.split(":") if p]
    words = dict(p.split("=", 1) for p in parts if "=" in p)
    plain = [p for p in parts if "=" not in p]
    host = words.get("host") or (plain[0] if plain else "")
    port = words.get("port") or (plain[1] if len(plain) > 1 else "1883")
    if kind.lower() not in ("tcp", "ssl", "tls") or not host or not port.isdigit():
        raise SettingsError(f"{source}: MQTT_BROKER = {endpoint!r} is not valid: expected tcp:HOST:PORT")
    out.put("mqtt.host", host)
    out.put("mqtt.port", int(port))
    if kind.lower() != "tcp":
        out.put("mqtt.tls.enabled", True)
        out.note("MQTT_BROKER", f"{kind}: TLS is on, verified against the system CAs ([mqtt.tls] ca for another CA)")


def _alarms(out: Imported, env: Mapping[str, str], source: str) -> None:
    """The 5.x ``tess-db-alarms`` env -> ``[alarms]`` (keys of plugins/tessdb_alarms/config.py).
    Like tess-db-alarms, log in as the sender when STARTTLS is on or a password is set."""
    get = lambda key, convert=_str: _checked(convert, env[key], source, key)  # noqa: E731
    secure = get("SMTP_SECURE", _bool) if "SMTP_SECURE" in env else True  # the old tool's default
    for key in env:
        if key == "SMTP_HOST":
            out.put("alarms.smtp_host", get(key))
        elif key == "SMTP_PORT":
            out.put("alarms.smtp_port", get(key, _int))
        elif key == "SMTP_SECURE":
            out.put("alarms.smtp_starttls", secure)
        elif key == "SMTP_SENDER":
            out.put("alarms.sender", get(key))
            if env[key] and (secure or env.get("SMTP_PASSWORD")):
                out.put("alarms.smtp_user", env[key])
        elif key == "SMTP_RECEIVERS":
            receivers = _names(env[key])
            out.put("alarms.receivers", receivers)
            if not receivers:
                out.note(key, "empty: no e-mail is sent (nor was it before); set [alarms] receivers")
        elif key == "SMTP_PASSWORD":
            if env[key]:
                out.put("alarms.smtp_password", env[key])
        elif key in ("SMTP_CACERT", "SMTP_PASSWORD_CAFILE"):
            out.put("alarms.ca_file", get(key))
        elif key == "WAIT_MINUTES":
            out.put("alarms.stalled_after", f"{get(key, _int)}m")
            out.note(key, "tess-db-alarms compared /v1/stats WAIT_MINUTES apart, every 20 minutes; tessdb-core "
                          "checks every [alarms] check_every (1m) that a reading was stored within stalled_after. "
                          "Disable the old tool's systemd timer")
        elif key == "ALARMS_DATABASE_URL":
            out.note(key, "the old alarm history is not imported: tessdb-core keeps its alarms in [alarms] state_path")
        elif key in ("ADMIN_HTTP_ADDR", "ADMIN_HTTP_PORT"):
            out.note(key, "not needed: the alarms run inside the service")
        elif key not in _NOT_SETTINGS:
            out.note(key, "not a tess-db-alarms setting: ignored")


# -- writing TOML ---------------------------------------------------------------------------------
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):  # JSON escapes are TOML escapes; DEL is the one TOML wants escaped too
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {type(v).__name__}")


def _toml_key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _toml_value(k)


def _tables(data: Mapping[str, Any], path: tuple[str, ...], redact: bool) -> list[str]:
    values = [(k, v) for k, v in data.items() if not isinstance(v, Mapping)]
    lines = []
    if values or not data:
        lines.append("[" + ".".join(map(_toml_key, path)) + "]")
        lines += [f"{_toml_key(k)} = {_toml_value(REDACTED_OUT if redact else v)}" for k, v in values]
        lines.append("")
    for k, v in data.items():
        if isinstance(v, Mapping):
            lines += _tables(v, (*path, k), redact)
    return lines


def render(data: Mapping[str, Any], redact: bool = False) -> str:
    """TOML text of nested tables, sections in :data:`ORDER`; checked by reading it back."""
    keys = sorted(data, key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s))
    text = "\n".join(line for s in keys for line in _tables(data[s], (s,), redact))
    if not redact and tomllib.loads(text) != data:
        raise AssertionError("settings import wrote TOML that does not read back as written")
    return text


def _comment(lines: list[str]) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)


def settings_text(imported: Imported) -> str:
    """Our settings file: a header saying where it came from and what was not mapped, then the tables."""
    head = ["tessdb-core settings imported from tessdb-server by `tessdb-core settings import`, from:",
            *(f"  {s}" for s in imported.sources),
            "Every other key keeps its documented default (`tessdb-core settings show`);",
            "passwords and tokens are in .secrets.toml beside this file."]
    if imported.notes:
        head += ["", "Not mapped, or mapped with a caveat:"]
        for note in imported.notes:
            head += textwrap.wrap(str(note), 98, initial_indent="  ", subsequent_indent="    ",
                                  break_on_hyphens=False)
    return _comment(head) + "\n" + render(imported.settings)


def secrets_text(imported: Imported, redact: bool = False) -> str:
    """The ``.secrets.toml``; ``redact`` for the terminal: every line commented, no value shown."""
    head = ["tessdb-core secrets imported from tessdb-server: keep this file beside settings.toml, mode 0600."]
    if not imported.secrets:
        return _comment(head + ["(no password or token was set)"])
    body = render(imported.secrets, redact=redact)
    if not redact:
        return _comment(head) + "\n" + body
    return ("# ---- .secrets.toml (values not shown; `--out DIR` writes them) ----\n"
            + _comment(body.rstrip("\n").splitlines()))


def import_files(config: str | os.PathLike, env: str | os.PathLike | None = None,
                 alarms_env: str | os.PathLike | None = None) -> Imported:
    """Read the old files and translate them."""
    return translate(read_config(config), read_env(env) if env else None,
                     read_env(alarms_env) if alarms_env else None, config_source=str(config),
                     env_source=str(env), alarms_source=str(alarms_env))


def write_files(imported: Imported, out_dir: str | os.PathLike, force: bool = False) -> list[Path]:
    """Write ``settings.toml`` and ``.secrets.toml`` (mode 0600) into ``out_dir``; refuse to
    overwrite either unless ``force`` (checked for both before writing one)."""
    out = Path(out_dir)
    targets = [(out / "settings.toml", settings_text(imported), 0o644),
               (out / ".secrets.toml", secrets_text(imported), 0o600)]
    for path, _, _ in targets:
        if path.exists() and not force:
            raise SettingsError(f"{path} exists: not overwritten (--force to replace it)")
    out.mkdir(parents=True, exist_ok=True)
    for path, text, mode in targets:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(path, mode)  # an existing file keeps its old mode through os.open
    return [path for path, _, _ in targets]
