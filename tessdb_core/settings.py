"""Settings: dynaconf layers in, one validated immutable snapshot out.

Layers, lowest first: plugin defaults (``tessdb_settings_defaults``), the bundled
``settings/settings.toml``, the operator's ``--settings FILE``, ``.secrets.toml``
beside it (or in the working directory), and ``TESSDB_<SECTION>__<KEY>`` environment
variables.  Environments ``[default]`` and ``[production]`` are chosen with
``--env`` or ``TESSDB_ENV``.  A reload builds a new snapshot the same way and
swaps it only if it validates.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dynaconf import Dynaconf, ValidationError, Validator
from dynaconf.loaders import env_loader

ENV_PREFIX = "TESSDB"
SECRET_KEYS = frozenset({"password", "token", "secret", "key_password"})
REDACTED = "********"


class SettingsError(Exception):
    """A setting is wrong: the message names the key (and file), the value and what is expected."""


# -- the snapshot -----------------------------------------------------------------------------
class Section(Mapping):
    """A read-only settings section; keys are also attributes (``settings.mqtt.port``)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]):
        object.__setattr__(self, "_data", MappingProxyType({k: _freeze(v) for k, v in data.items()}))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, key: str) -> Any:
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(f"no setting {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise TypeError("settings are immutable; reload to change them")

    def __repr__(self) -> str:
        return f"Section({dict(self._data)!r})"

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.to_dict() if isinstance(v, Section) else list(v) if isinstance(v, tuple) else v)
                for k, v in self._data.items()}


class Settings(Section):
    """The immutable snapshot every plugin receives."""

    __slots__ = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Settings":
        """Build a snapshot directly (tests): bundled defaults merged under ``data``."""
        return cls(_merge(bundled_defaults().get("default", {}), _lower(data)))

    def get(self, dotted: str, default: Any = None) -> Any:  # type: ignore[override]
        node: Any = self
        for part in dotted.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def redacted(self) -> dict[str, Any]:
        """The settings as a plain dict with every secret replaced (for logs and ``settings show``)."""
        return _redact(self.to_dict())


def _freeze(v: Any) -> Any:
    if isinstance(v, Mapping):
        return Section(v)
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


def _lower(d: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): (_lower(v) if isinstance(v, Mapping) else v) for k, v in d.items()}


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _redact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (_redact(v) if isinstance(v, dict) else REDACTED if k in SECRET_KEYS and v else v)
            for k, v in d.items()}


# -- validators -------------------------------------------------------------------------------
def rule(key: str, expected: str, check: Callable[[Any], bool], *, required: bool = True) -> Validator:
    """A dynaconf validator whose message names the key, the value and what is expected."""

    def condition(value: Any) -> bool:
        try:
            return bool(check(value))
        except Exception:  # a check that cannot even run on the value means "wrong type"
            return False

    return Validator(
        key,
        must_exist=True if required else None,
        condition=condition,
        messages={
            "condition": f"setting {key} = {{value!r}} is not valid: expected {expected}",
            "must_exist_true": f"setting {key} is missing: expected {expected}",
        },
    )


def is_int(lo: int | None = None, hi: int | None = None) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and (lo is None or v >= lo) and (hi is None or v <= hi)


def is_number(lo: float | None = None, hi: float | None = None) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and (lo is None or v >= lo) and (hi is None or v <= hi)


def is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def is_str(v: Any) -> bool:
    return isinstance(v, str)


def is_str_list(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v)


def is_regex(v: Any) -> bool:
    re.compile(v)
    return isinstance(v, str)


def one_of(*choices: Any) -> Callable[[Any], bool]:
    return lambda v: v in choices


LEVELS = ("trace", "debug", "info", "success", "warning", "warn", "error", "critical", "none")


def is_level(v: Any) -> bool:
    return isinstance(v, str) and v.lower() in LEVELS


def is_level_table(v: Any) -> bool:
    return isinstance(v, Mapping) and all(is_level(x) for x in v.values())


def engine_validators() -> list[Validator]:
    """Validators for the engine's own sections (plugins add theirs by hook)."""
    port = "an integer port 1..65535"
    return [
        rule("mqtt.host", "a host name or address", lambda v: isinstance(v, str) and v != ""),
        rule("mqtt.port", port, is_int(1, 65535)),
        rule("mqtt.client_id", "a string", is_str),
        rule("mqtt.username", "a string", is_str),
        rule("mqtt.password", "a string", is_str),
        rule("mqtt.keepalive", "an integer number of seconds 5..3600", is_int(5, 3600)),
        rule("mqtt.tess_topic_register", "a topic string (empty disables registrations)", is_str),
        rule("mqtt.tess_topics", "a list of topic filters", is_str_list),
        rule("mqtt.protocol", "\"5\" or \"3.1.1\"", lambda v: str(v) in ("5", "3.1.1")),
        rule("mqtt.qos", "0, 1 or 2", one_of(0, 1, 2)),
        rule("mqtt.session_expiry", "an integer number of seconds 0..4294967295", is_int(0, 4_294_967_295)),
        rule("mqtt.receive_maximum", "an integer number of messages 1..65535", is_int(1, 65_535)),
        rule("mqtt.reconnect_min", "a number of seconds 0.1..3600", is_number(0.1, 3600)),
        rule("mqtt.reconnect_max", "a number of seconds 1..86400", is_number(1, 86_400)),
        rule("mqtt.silent_after", "a number of seconds 1..86400", is_number(1, 86_400)),
        rule("mqtt.shared_group", "a group name without '/', or empty", lambda v: isinstance(v, str) and "/" not in v),
        rule("mqtt.max_payload", "an integer number of bytes 1024..268435455", is_int(1024, 268_435_455)),
        rule("mqtt.tls.enabled", "true or false", is_bool),
        rule("mqtt.tls.ca", "a file path or empty", is_str),
        rule("mqtt.tls.certfile", "a file path or empty", is_str),
        rule("mqtt.tls.keyfile", "a file path or empty", is_str),
        rule("dbase.url", "a SQLite file path or a database URL", lambda v: isinstance(v, str) and v != ""),
        rule("dbase.buffer_size", "an integer number of readings 1..100000", is_int(1, 100_000)),
        rule("dbase.ingest_buffer_size", "an integer number of readings 1..1000000", is_int(1, 1_000_000)),
        rule("inbox.path", "a file path", lambda v: isinstance(v, str) and v != ""),
        rule("inbox.chunk", "an integer number of messages 1..100000", is_int(1, 100_000)),
        rule("inbox.flush_interval", "a number of seconds 0..60", is_number(0, 60)),
        rule("quarantine.max_mb", "a number of MiB 1..1000000", is_number(1, 1_000_000)),
        rule("quarantine.keep_days", "a number of days 0..36500 (0: no age limit)", is_number(0, 36_500)),
        rule("http.host", "a host name or address", lambda v: isinstance(v, str) and v != ""),
        rule("http.port", port, is_int(1, 65535)),
        rule("http.enabled", "true or false", is_bool),
        rule("http.token", "a string", is_str),
        rule("filter.chain", "a list of filter names", is_str_list),
        rule("plugins.disabled", "a list of plugin names", is_str_list),
        rule("plugins.required", "a list of plugin names", is_str_list),
        rule("logs.level", f"one of {', '.join(LEVELS)}", is_level),
        rule("logs.console", "true or false", is_bool),
        rule("logs.file", "a file path, or empty for no log file", is_str),
        rule("logs.rotation", "a loguru rotation such as '10 MB' or '1 day'", is_str),
        rule("logs.retention", "a loguru retention such as '30 days' or '10 files'", is_str),
        rule("logs.json", "true or false", is_bool),
        rule("logs.namespaces", "a table of namespace = level", is_level_table),
        rule("logs.photometers", "a table of photometer name = level", is_level_table),
        rule("stats.interval", "an integer number of seconds 1..86400", is_int(1, 86_400)),
    ]


# -- loading ----------------------------------------------------------------------------------
def bundled_path() -> Path:
    return Path(str(resources.files("tessdb_core.defaults") / "settings.toml"))


_BUNDLED: dict[str, Any] | None = None


def bundled_defaults() -> dict[str, Any]:
    """The bundled settings.toml, parsed once, keys lower-cased."""
    global _BUNDLED
    if _BUNDLED is None:
        with open(bundled_path(), "rb") as fh:
            _BUNDLED = _lower(tomllib.load(fh))
    return _BUNDLED


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return _lower(tomllib.load(fh))
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from None


def _check_known(path: Path, data: Mapping[str, Any], known: Mapping[str, Any]) -> None:
    """Refuse sections and keys nobody reads: a typo must not be silently ignored."""
    envs = data if any(k in ("default", "production", "development") for k in data) else {"default": data}
    for env, sections in envs.items():
        if env not in ("default", "production", "development", "dynaconf_merge"):
            raise SettingsError(f"settings file {path}: unknown environment or section [{env}]; "
                                f"expected [default], [production] or a section of settings.toml")
        for section, values in sections.items():
            if section not in known:
                raise SettingsError(f"settings file {path}: unknown section [{section}] "
                                    f"(known: {', '.join(sorted(known))})")
            if not isinstance(values, Mapping):
                raise SettingsError(f"settings file {path}: [{section}] must be a table")
            for key in values:
                if key not in known[section]:
                    raise SettingsError(f"settings file {path}: unknown key {section}.{key} "
                                        f"(known: {', '.join(sorted(known[section]))})")


def known_sections(plugin_defaults: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    known = _merge({}, bundled_defaults().get("default", {}))
    for d in plugin_defaults:
        known = _merge(known, _lower(d))
    return known


def load(
    settings_file: str | os.PathLike | None = None,
    env: str | None = None,
    plugin_defaults: Iterable[Mapping[str, Any]] = (),
    plugin_validators: Iterable[Validator] = (),
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build and validate a snapshot; raise SettingsError naming the bad key."""
    plugin_defaults = list(plugin_defaults)
    environ = os.environ if environ is None else environ
    known = known_sections(plugin_defaults)
    env_name = (env or environ.get(f"{ENV_PREFIX}_ENV") or "default").lower()
    if env_name not in ("default", "production"):
        raise SettingsError(f"unknown settings environment {env_name!r}: expected 'default' or 'production'")
    layers: list[dict[str, Any]] = []
    secrets = Path(".secrets.toml")
    if settings_file is not None:
        path = Path(settings_file)
        data = _read_toml(path)
        _check_known(path, data, known)
        layers.append(_for_env(data, env_name))
        secrets = path.with_name(".secrets.toml")
    if secrets.exists():
        data = _read_toml(secrets)
        _check_known(secrets, data, known)
        layers.append(_for_env(data, env_name))
    _check_env_sections(environ, known)
    bundled = bundled_defaults()
    base: dict[str, Any] = {}
    for d in plugin_defaults:  # beneath everything the operator wrote
        base = _merge(base, _lower(d))
    base = _merge(base, bundled.get("default", {}))
    layers.insert(0, _merge(base, bundled.get(env_name, {}) if env_name != "default" else {}))
    # dynaconf reads the TESSDB_... environment itself; the TOML layers are merged here so
    # that tables merge key by key while a list given by the operator replaces the default
    dyn = Dynaconf(envvar_prefix=ENV_PREFIX, environments=False, merge_enabled=False, load_dotenv=False,
                   settings_files=[])
    for layer in layers:  # bundled defaults, the operator's file, the secrets; then the environment on top
        for key, value in _leaves(layer):
            dyn.set(key, value, merge=False)
    env_loader.load(dyn)
    try:
        dyn.validators.register(*engine_validators(), *plugin_validators)
        dyn.validators.validate_all()
    except ValidationError as exc:
        raise SettingsError("; ".join(msg for _, msg in exc.details) or str(exc)) from None
    data = _lower(dyn.as_dict())
    data = {k: v for k, v in data.items() if k in known}
    return Settings(data)


def _leaves(d: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Dotted keys of every non-table value: tables merge key by key, lists are replaced."""
    for k, v in d.items():
        if isinstance(v, Mapping) and v:
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _for_env(data: dict[str, Any], env_name: str) -> dict[str, Any]:
    """A file may be flat (sections at the top) or split in [default] / [production]."""
    if not any(k in ("default", "production", "development") for k in data):
        return data
    return _merge(data.get("default", {}), data.get(env_name, {}) if env_name != "default" else {})


def _check_env_sections(environ: Mapping[str, str], known: Mapping[str, Any]) -> None:
    prefix = f"{ENV_PREFIX}_"
    for var in environ:
        if not var.startswith(prefix) or var == f"{ENV_PREFIX}_ENV" or "__" not in var:
            continue
        section = var[len(prefix):].split("__", 1)[0].lower()
        if section not in known:
            raise SettingsError(f"environment variable {var}: unknown section [{section}] "
                                f"(known: {', '.join(sorted(known))})")
