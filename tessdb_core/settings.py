"""Settings: dynaconf layers in, one validated immutable snapshot out.

What the keys are comes from the schema (:mod:`tessdb_core.schema`): the engine's sections
(:mod:`tessdb_core.engine_settings`) and the plugins' (``tessdb_settings_schema``) give the
defaults, the validators and the known keys.  Layers, lowest first: those defaults (with the
``production`` ones under ``--env production``), the operator's ``--settings FILE``,
``.secrets.toml`` beside it (or in the working directory), and ``TESSDB_<SECTION>__<KEY>``
environment variables.  Environments ``[default]``, ``[development]`` and ``[production]`` are
chosen with ``--env`` or ``TESSDB_ENV``.  A reload builds a new snapshot the same way and swaps
it only if it validates.

An unknown key is refused, in a file or in a variable.  Secrets (:func:`is_secret`) are kept
verbatim: an environment value is not read as TOML, dynaconf's ``@`` tokens are not applied,
and no message, ``repr`` or ``redacted()`` output shows them.

Why the layers are read and merged here, in plain dicts, rather than by dynaconf's own file and
environment loaders: a list the operator gives must replace the default (dynaconf either replaces
a whole section or, with merging on, appends to lists), a secret must stay the exact string (its
loaders parse TOML and ``@`` tokens), and a refusal must name the file or the variable it came
from.  And it is cheap: a ``Dynaconf`` object re-merges and re-parses on every ``set`` and every
validator's ``get`` (a full load took 0.19 s that way, 7 ms in plain dicts).  dynaconf still
parses every non-secret value exactly as its loaders would (``parse_conf_data``; a variable as
TOML, with ``boolean_fix``), and its ``Validator`` objects, from the schema, check the merged
tree (:class:`_Plain`).  Its ``@merge``/``@insert``/``@del`` markers are refused: the layers
already merge tables key by key.  dynaconf is imported only when settings are loaded.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

# the checks and the secret rule live with the schema; here for the plugins that import them from here
from .schema import (ENVIRONMENTS, LOG_LEVEL_NAMES, SECRET_KEYS, Schema, Setting, SettingsSection,  # noqa: F401
                     is_bool, is_int, is_level, is_level_table, is_number, is_regex, is_secret, is_str,
                     is_str_list, is_table_of, is_text, one_of, rule)

ENV_PREFIX = "TESSDB"
REDACTED = "********"
#: the shortest secret value that is also blanked out of free text such as error messages
_SCRUB_MIN = 4


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

    def __repr__(self) -> str:  # secrets hidden: a repr may end in a log line
        return f"{type(self).__name__}({_redact(self.to_dict())!r})"

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.to_dict() if isinstance(v, Section) else list(v) if isinstance(v, tuple) else v)
                for k, v in self._data.items()}


class Settings(Section):
    """The immutable snapshot every plugin receives."""

    __slots__ = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Settings":
        """Build a snapshot directly (tests): the engine's defaults merged under ``data``, unchecked."""
        return cls(_merge(settings_schema().defaults(), _lower(data)))

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


def shown(key: str, value: Any) -> Any:
    """A setting's value as logs and replies may show it: a secret replaced, a URL's password blanked."""
    if is_secret(key):
        return REDACTED if value not in ("", None) else value
    if isinstance(value, Mapping):
        return _redact(value)
    return _URL_PASSWORD.sub(rf"\1{REDACTED}@", value) if isinstance(value, str) else value


def _redact(d: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if is_secret(str(k)):
            out[k] = REDACTED if v not in ("", None) else v  # an empty secret shows as unset
        elif isinstance(v, Mapping):
            out[k] = _redact(v)
        elif isinstance(v, str):
            out[k] = _URL_PASSWORD.sub(rf"\1{REDACTED}@", v)
        else:
            out[k] = v
    return out


#: the password of a URL such as ``postgresql://user:password@host/db``
_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@:]*:)[^/@]*@")


def _scrub(text: str, secrets: Iterable[Any]) -> str:
    """Blank every secret value out of a free-text message."""
    for value in secrets:
        for form in {str(value), repr(value)}:
            if len(form) >= _SCRUB_MIN:
                text = text.replace(form, REDACTED)
    return text


# -- loading ----------------------------------------------------------------------------------
def settings_schema(sections: Iterable[SettingsSection | tuple[str, SettingsSection]] = ()) -> Schema:
    """The engine's sections and ``sections`` (a plugin's, or ``(owner, section)`` pairs)."""
    from .engine_settings import ENGINE_SECTIONS

    owned = [("engine", s) for s in ENGINE_SECTIONS]
    owned += [s if isinstance(s, tuple) else ("a plugin", s) for s in sections]
    return Schema(owned)


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
    envs = data if any(k in ENVIRONMENTS for k in data) else {"default": data}
    for env, sections in envs.items():
        if env not in (*ENVIRONMENTS, "dynaconf_merge"):
            raise SettingsError(f"settings file {path}: unknown environment or section [{env}]; "
                                f"expected [default], [development], [production] or a settings section")
        for section, values in sections.items():
            if section not in known:
                raise SettingsError(f"settings file {path}: unknown section [{section}] "
                                    f"(known: {', '.join(sorted(known))})")
            if not isinstance(values, Mapping):
                raise SettingsError(f"settings file {path}: [{section}] must be a table")
            unknown = _unknown_key(values, known[section], f"{section}.")
            if unknown:
                raise SettingsError(f"settings file {path}: unknown key {unknown[0]} ({unknown[1]})")


def _unknown_key(tree: Mapping[str, Any], known: Any, prefix: str) -> tuple[str, str] | None:
    """The first key of ``tree`` that no default declares, and a hint; ``None`` if all are known.

    A table whose default is empty (``[filter.divisor]``, ``[logs.photometers]``) takes any
    key; a key whose default is a value takes no sub-keys."""
    if not tree:
        return None
    if not isinstance(known, Mapping):
        return f"{prefix}{next(iter(tree))}", f"{prefix.rstrip('.')} takes a value, not a table"
    if not known:
        return None
    for key, value in tree.items():
        if key not in known:
            return f"{prefix}{key}", f"known: {', '.join(sorted(known))}"
        if isinstance(value, Mapping) and value:
            found = _unknown_key(value, known[key], f"{prefix}{key}.")
            if found:
                return found
    return None


def load(
    settings_file: str | os.PathLike | None = None,
    env: str | None = None,
    sections: Iterable[SettingsSection | tuple[str, SettingsSection]] | Schema = (),
    environ: Mapping[str, str] | None = None,
    only: str | None = None,
) -> Settings:
    """Build and validate a snapshot of the engine's sections and ``sections`` (the plugins',
    or a whole :class:`Schema`); raise SettingsError naming the bad key.

    ``only``: read that one section from the files and the variables, and leave the others
    aside unchecked (the ``[plugins]`` section, read before any plugin's section is known)."""
    schema = sections if isinstance(sections, Schema) else settings_schema(sections)
    environ = os.environ if environ is None else environ
    known = schema.defaults()
    env_name = (env or environ.get(f"{ENV_PREFIX}_ENV") or "default").lower()
    if env_name not in ENVIRONMENTS:
        raise SettingsError(f"unknown settings environment {env_name!r}: expected one of "
                            f"{', '.join(repr(e) for e in ENVIRONMENTS)}")
    layers: list[tuple[str, dict[str, Any]]] = []  # (where it comes from, its values)
    secrets_file = Path(".secrets.toml")
    if settings_file is not None:
        path = Path(settings_file)
        data = _only(_read_toml(path), only)
        _check_known(path, data, known)
        layers.append((f"settings file {path}", _for_env(data, env_name)))
        secrets_file = path.with_name(".secrets.toml")
    if secrets_file.exists():
        data = _only(_read_toml(secrets_file), only)
        _check_known(secrets_file, data, known)
        layers.append((f"settings file {secrets_file}", _for_env(data, env_name)))
    if only is not None:
        environ = {k: v for k, v in environ.items() if k.upper().startswith(f"{ENV_PREFIX}_{only.upper()}__")
                   or k.upper() == f"{ENV_PREFIX}_ENV"}
    env_values, env_secrets = _environment(environ, known)
    layers.insert(0, ("the declared defaults", schema.defaults(env_name)))  # beneath everything the operator wrote
    data, secrets = _merged(layers, env_values, env_secrets)
    from dynaconf import ValidationError  # here: a command that reads no settings never imports dynaconf

    validators = schema.validators()
    plain = _Plain(data)
    details: list[str] = []
    for validator in validators:
        try:
            validator.validate(plain)
        except ValidationError as exc:
            details += [_message(validator, msg) for _, msg in exc.details] or [_message(validator, str(exc))]
    if details:
        raise SettingsError(_scrub("; ".join(details), secrets.values()))
    return Settings(data)


def _merged(layers: Iterable[tuple[str, Mapping[str, Any]]], env_values: Iterable[tuple[str, str]],
            env_secrets: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The layers merged in plain dicts, lowest first, then the variables: the tree, and the secrets.

    Tables merge key by key, a list (or any value) replaces the one beneath; a non-secret value
    goes through dynaconf's own parser (``@int 5``, ``@format {env[HOME]}``), a variable's as
    dynaconf's environment loader reads it (TOML); a secret is kept verbatim."""
    from dynaconf.utils.parse_conf import boolean_fix, parse_conf_data

    tree: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    for origin, layer in layers:
        for key, value in _leaves(layer):
            if is_secret(key):
                secrets[key] = value
            else:
                value = parse_conf_data(value, tomlfy=False, box_settings=_PARSING)
                _put_verbatim(tree, key, _parsed(value, f"{origin}: setting {key}"), create=True)
    for key, raw in env_values:
        value = parse_conf_data(boolean_fix(raw), tomlfy=True, box_settings=_PARSING)
        value = _lower(value) if isinstance(value, Mapping) else value  # names are lower case, as in a file
        where = f"environment variable {ENV_PREFIX}_{key.replace('.', '__').upper()}"
        _put_verbatim(tree, key, _parsed(value, where), create=True)
    secrets.update(env_secrets)  # verbatim: 84736251, true, "quoted" stay the strings they were
    for key, value in secrets.items():
        _put_verbatim(tree, key, value, create=True)
    _evaluate_lazy(tree, tree)
    return tree, secrets


#: how dynaconf's parser is told to leave tables as plain dicts (no Box)
_PARSING = {"DYNABOXIFY": False}


def _parsed(value: Any, where: str) -> Any:
    """A parsed value, refused if it is one of dynaconf's merge markers (``@merge``, ``@del``,
    ``@insert``): the layers already merge tables key by key, and a list given replaces the default."""
    from dynaconf.utils.parse_conf import MetaValue

    if isinstance(value, MetaValue) or isinstance(value, list) and any(isinstance(v, MetaValue) for v in value):
        raise SettingsError(f"{where}: dynaconf's @merge, @insert, @del and @reset markers are not supported "
                            f"(tables merge key by key; a list given replaces the default)")
    return value


def _evaluate_lazy(node: dict[str, Any], root: dict[str, Any]) -> None:
    """Evaluate dynaconf's lazy values (``@format``, ``@jinja``, ``@get``, ``@read_file``) over the merged tree."""
    for key, value in node.items():
        if isinstance(value, dict):
            _evaluate_lazy(value, root)
        elif isinstance(value, list):
            node[key] = [v(Settings(root)) if hasattr(v, "_dynaconf_lazy_format") else v for v in value]
        elif hasattr(value, "_dynaconf_lazy_format"):
            node[key] = value(Settings(root))


def load_section(name: str, settings_file: str | os.PathLike | None = None, env: str | None = None,
                 environ: Mapping[str, str] | None = None) -> Section:
    """One engine section, read through the same layers before the plugins are known; what the
    files and the variables say about other sections is left for the full load to check."""
    return load(settings_file, env, environ=environ, only=name)[name]


def _only(data: dict[str, Any], section: str | None) -> dict[str, Any]:
    """A file's data reduced to one section (in each environment), or all of it."""
    if section is None:
        return data
    if any(k in ENVIRONMENTS for k in data):
        return {env: {section: v[section]} if isinstance(v, Mapping) and section in v else {}
                for env, v in data.items() if env in ENVIRONMENTS}
    return {section: data[section]} if section in data else {}


def _names(validator: Any) -> list[str]:
    return [n for n in getattr(validator, "names", ()) or () if isinstance(n, str)]


class _Plain:
    """Nested plain dicts seen by dynaconf validators as settings: dotted get and set, no parsing
    (a ``Dynaconf`` object would re-parse a whole table at each ``get``)."""

    current_env = "main"

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def get(self, name: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in name.lower().split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def __setitem__(self, name: str, value: Any) -> None:
        _put_verbatim(self.data, name.lower(), value, create=True)


def _put_verbatim(data: dict[str, Any], key: str, value: Any, create: bool = False) -> None:
    """Store ``value`` at a dotted key of nested dicts, without any parsing."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            if not create:
                return  # a section dropped as unknown (never the case for a checked key)
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def _message(validator: Any, message: str) -> str:
    """A validator's message; one not made by :func:`rule` about a secret is replaced (it may show the value)."""
    secret = [n for n in _names(validator) if is_secret(n)]
    if secret and not getattr(validator, "tessdb_rule", False):
        return f"setting {secret[0]} is not valid (its value is a secret and is not shown)"
    return message


def _leaves(d: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Dotted keys of every non-table value: tables merge key by key, lists are replaced.
    A secret is one leaf, whatever its value."""
    for k, v in d.items():
        if isinstance(v, Mapping) and v and not is_secret(f"{prefix}{k}"):
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", v


def _for_env(data: dict[str, Any], env_name: str) -> dict[str, Any]:
    """A file may be flat (sections at the top) or split in [default] / [production]."""
    if not any(k in ENVIRONMENTS for k in data):
        return data
    return _merge(data.get("default", {}), data.get(env_name, {}) if env_name != "default" else {})


def _environment(environ: Mapping[str, str], known: Mapping[str, Any]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The ``TESSDB_<SECTION>__<KEY>[__<SUBKEY>]`` variables: (dotted key, raw value) of the
    settings, and the secrets apart.  An unknown key is refused, naming the variable.

    Variables without ``__`` are not settings (``TESSDB_ENV``, ``TESSDB_SETTINGS``, those of
    other tools) and are left alone, except a near miss such as ``TESSDB_MQTT_PORT`` or
    ``TESSDB_MQTT`` (a typo that would otherwise be ignored)."""
    prefix = f"{ENV_PREFIX}_"
    values: list[tuple[str, str]] = []
    secrets: dict[str, str] = {}
    for var, raw in environ.items():
        if not var.startswith(prefix):
            continue
        name = var[len(prefix):].lower()
        if "__" not in name:
            _refuse_near_miss(var, name, known)
            continue
        parts = name.split("__")
        if parts[0] not in known:
            raise SettingsError(f"environment variable {var}: unknown section [{parts[0]}] "
                                f"(known: {', '.join(sorted(known))})")
        tree: dict[str, Any] = {}
        node = tree
        for part in parts[1:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = raw
        unknown = _unknown_key(tree, known[parts[0]], f"{parts[0]}.")
        if unknown is None and is_secret(".".join(parts[:-1])):
            unknown = (".".join(parts), f"{'.'.join(parts[:-1])} is a secret value, not a table")
        if unknown:
            raise SettingsError(f"environment variable {var}: unknown setting {unknown[0]} ({unknown[1]})")
        key = ".".join(parts)
        if is_secret(key):
            secrets[key] = raw
        else:
            values.append((key, raw))
    return values, secrets


def _refuse_near_miss(var: str, name: str, known: Mapping[str, Any]) -> None:
    if name in known:
        raise SettingsError(f"environment variable {var}: a section is set key by key, "
                            f"as {var}__<KEY>")
    for section, keys in known.items():
        rest = name.removeprefix(f"{section}_")
        if rest != name and isinstance(keys, Mapping) and rest in keys:
            raise SettingsError(f"environment variable {var}: not a setting; "
                                f"did you mean {ENV_PREFIX}_{section.upper()}__{rest.upper()}?")
