"""The settings schema: every key declared once, by its owner (the engine or a plugin).

A :class:`Setting` says what a key holds (default, what a good value is and the check of it,
unit, description), whether a reload applies it, and whether it is secret.  An owner groups its
keys in a :class:`SettingsSection`; the engine declares its sections in
:mod:`tessdb_core.engine_settings`, a plugin returns its own from the ``tessdb_settings_schema``
hook.  Everything else is derived from these declarations: the defaults beneath the operator's
files, the validators, the unknown-key check, the reference in docs/settings.md and
settings/settings.toml, and a reload's answer "applied" or "needs a restart" for each changed key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dynaconf import Validator

#: names of secret settings, in any section; also any name ending in ``_<one of them>``
SECRET_KEYS = frozenset({"password", "token", "secret", "key_password"})
#: environments a settings file may have sections for, besides ``[default]``
ENVIRONMENTS = ("default", "development", "production")


def is_secret(key: str) -> bool:
    """The one rule for what is a secret: a setting (dotted name) with a part named
    ``password``, ``token``, ``secret`` or ``key_password``, or ending in ``_password``,
    ``_token`` or ``_secret``: ``mqtt.password``, ``http.token`` and any plugin key so named.

    Secrets are read verbatim (no TOML, no dynaconf ``@`` tokens), and never shown."""
    for part in key.lower().split("."):
        if part in SECRET_KEYS or part.rpartition("_")[2] in SECRET_KEYS and "_" in part:
            return True
    return False


# -- checks of a value (each returns True for a good one) --------------------------------------------
def is_int(lo: int | None = None, hi: int | None = None) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and (lo is None or v >= lo) and (hi is None or v <= hi)


def is_number(lo: float | None = None, hi: float | None = None) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and (lo is None or v >= lo) and (hi is None or v <= hi)


def is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def is_str(v: Any) -> bool:
    return isinstance(v, str)


def is_text(v: Any) -> bool:
    """A string that is not empty (a host, a path)."""
    return isinstance(v, str) and v != ""


def is_str_list(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v)


def is_regex(v: Any) -> bool:
    re.compile(v)
    return isinstance(v, str)


def one_of(*choices: Any) -> Callable[[Any], bool]:
    return lambda v: v in choices


#: the level names a setting may give (``[logs] level``, ``[logs.namespaces]``, the admin API)
LOG_LEVEL_NAMES = ("trace", "debug", "info", "success", "warning", "warn", "error", "critical", "none")


def is_level(v: Any) -> bool:
    return isinstance(v, str) and v.lower() in LOG_LEVEL_NAMES


def is_level_table(v: Any) -> bool:
    return isinstance(v, Mapping) and all(is_level(x) for x in v.values())


def is_table_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """A table of any names whose values pass ``check`` (``[filter.divisor]``: name = N)."""
    return lambda v: isinstance(v, Mapping) and all(check(x) for x in v.values())


def rule(key: str, expected: str, check: Callable[[Any], bool], *, required: bool = True) -> Validator:
    """A dynaconf validator whose message names the key, the value and what is expected
    (the value is left out when the key is a secret)."""

    def condition(value: Any) -> bool:
        try:
            return bool(check(value))
        except Exception:  # a check that cannot even run on the value means "wrong type"
            return False

    from dynaconf import Validator  # here: importing the schema (the CLI's start) does not import dynaconf

    shown = "" if is_secret(key) else " = {value!r}"
    validator = Validator(
        key,
        must_exist=True if required else None,
        condition=condition,
        messages={
            "condition": f"setting {key}{shown} is not valid: expected {expected}",
            "must_exist_true": f"setting {key} is missing: expected {expected}",
        },
    )
    validator.tessdb_rule = True  # type: ignore[attr-defined]  # its messages never show a secret
    return validator


_UNSET: Any = object()


# -- declarations ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setting:
    """One key of a section, declared once.

    ``name`` is dotted within the section (``port``, ``tls.enabled``).  A key whose default is a
    table (``{}``) is an open table: it takes any name (``[filter.divisor]``), each value checked
    by ``check`` on the whole table.  ``production`` is the default of ``--env production`` when it
    differs.  ``secret`` must agree with the name (:func:`is_secret`), so that every place that
    shows a value knows it without the schema."""

    name: str
    default: Any
    description: str
    expected: str
    check: Callable[[Any], bool] = field(default=lambda v: True, repr=False, compare=False)
    unit: str = ""
    reloadable: bool = False
    secret: bool = False
    production: Any = _UNSET

    def __post_init__(self) -> None:
        if not self.description.strip() or not self.expected.strip():
            raise ValueError(f"setting {self.name}: a description and what is expected are required")

    @property
    def env_defaults(self) -> dict[str, Any]:
        return {} if self.production is _UNSET else {"production": self.production}


@dataclass(frozen=True)
class SettingsSection:
    """A section (``[mqtt]``) and its keys, as its owner declares them.

    ``validators``: more dynaconf validators for rules across keys (one key required when another
    is set); each key's own check comes from its :class:`Setting`."""

    name: str
    description: str
    settings: tuple[Setting, ...]
    validators: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        names = [s.name for s in self.settings]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise ValueError(f"section [{self.name}] declares {', '.join(doubles)} twice")

    def defaults(self) -> dict[str, Any]:
        """Each key's declared default, by key: what a plugin falls back on when it is handed
        a snapshot built without its section."""
        return {s.name: s.default for s in self.settings}


@dataclass(frozen=True)
class Declared:
    """A setting with its full dotted key and the owner that declared it."""

    key: str
    setting: Setting
    owner: str


class Schema:
    """Every declared section, the engine's and the plugins': lookups and derived views."""

    def __init__(self, owned: Iterable[tuple[str, SettingsSection]]):
        self.sections: dict[str, SettingsSection] = {}
        self.owners: dict[str, str] = {}
        self.keys: dict[str, Declared] = {}
        for owner, section in owned:
            if section.name in self.sections:
                raise ValueError(f"settings section [{section.name}] is declared by both "
                                 f"{self.owners[section.name]} and {owner}")
            self.sections[section.name] = section
            self.owners[section.name] = owner
            for s in section.settings:
                key = f"{section.name}.{s.name}"
                if s.secret != is_secret(key):  # one rule, so that every place that shows a value agrees
                    raise ValueError(f"setting {key} ({owner}): secret={s.secret}, but a secret is what its name "
                                     f"says: a part named or ending in {', '.join(sorted(SECRET_KEYS))}")
                self.keys[key] = Declared(key, s, owner)

    def __iter__(self) -> Iterator[Declared]:
        return iter(self.keys.values())

    def defaults(self, env: str = "default") -> dict[str, Any]:
        """The nested defaults of ``env`` (``production`` values over the others)."""
        out: dict[str, Any] = {}
        for d in self:
            value = d.setting.env_defaults.get(env, d.setting.default)
            node = out
            *parents, last = d.key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = _copy(value)
        return out

    def validators(self) -> list[Any]:
        """One validator per key (its message names key, value and expectation), then the sections' own."""
        out = [rule(d.key, d.setting.expected, d.setting.check, required=not isinstance(d.setting.default, Mapping))
               for d in self]
        for section in self.sections.values():
            out.extend(section.validators)
        return out

    def find(self, key: str) -> Declared | None:
        """The declaration a dotted key falls under (``filter.divisor.stars1`` -> ``filter.divisor``)."""
        parts = key.split(".")
        for n in range(len(parts), 1, -1):
            found = self.keys.get(".".join(parts[:n]))
            if found is not None:
                return found
        return None

    def changes(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, bool]]:
        """The keys whose value differs between two snapshots, each with whether a reload applies it
        (a key nobody declares needs a restart)."""
        before, after = dict(_leaves(old)), dict(_leaves(new))
        out = []
        for key in sorted(before.keys() | after.keys()):
            if before.get(key, _UNSET) != after.get(key, _UNSET):
                declared = self.find(key)
                out.append((key, bool(declared and declared.setting.reloadable)))
        return out


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def _leaves(d: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted keys of every value (a list is one value; an empty table has none)."""
    for k, v in d.items():
        if isinstance(v, Mapping):
            yield from _leaves(v, f"{prefix}{k}.")
        else:
            yield f"{prefix}{k}", (tuple(v) if isinstance(v, (list, tuple)) else v)
