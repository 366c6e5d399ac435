"""The settings reference, written from the schema: docs/settings.md and settings/settings.toml.

Both files are generated, never edited by hand: the declarations (the engine's in
:mod:`tessdb_core.engine_settings`, each plugin's through ``tessdb_settings_schema``) are the one
source.  They show the engine and the plugins this project ships; a test fails when a file is not
what the schema writes.  Regenerate both after changing a declaration::

    python -m tessdb_core.settings_reference --write
"""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import Any

from .schema import Declared, Schema

#: the distribution whose plugins the reference shows (a third-party plugin documents its own)
SHIPPED = "tessdb-core"
DOC = Path("docs") / "settings.md"
TOML = Path("settings") / "settings.toml"

_LAYERS = """\
Layers, lowest first: the defaults below (with the `production` ones under `--env production`),
your `--settings FILE`, `.secrets.toml` beside that file, then environment variables
`TESSDB_<SECTION>__<KEY>` (for example `TESSDB_MQTT__PORT=1884`, `TESSDB_DBASE__URL=/srv/tess.db`,
`TESSDB_MQTT__TLS__ENABLED=true`). Values in environment variables are read as TOML (`1884` is an
integer, `true` a boolean, `'["a","b"]'` a list), except secrets, taken verbatim. A settings file
may be flat (sections at the top) or split in `[default]`, `[development]` and `[production]`;
`--env NAME` or `TESSDB_ENV=NAME` chooses one on top of `[default]`. An unknown section or key is
refused, naming it, in a file and in a variable. Tables merge key by key and a list you give
replaces the default, so dynaconf's `@merge`, `@insert` and `@del` markers are refused; its other
`@` tokens (`@int 5`, `@format {env[HOME]}`) work in every value but a secret's."""

_RELOAD = """\
A reload (`systemctl reload`, SIGHUP, `tessdb-core reload`, `POST /v1/server/reload`) reads every
layer again and swaps in the new settings only if they validate; its reply and the log name each
changed key as `applied` or `needs a restart`, as the column "reload" says."""


def shipped_schema() -> Schema:
    """The engine's sections and those of the plugins this project ships, all enabled."""
    from .app import schema_of
    from .plugins import build
    from .settings import Settings

    pm = build(Settings({"plugins": {"disabled": [], "required": []}}))
    ours = {name for name, info in pm.infos.items() if info.distribution == SHIPPED}
    schema = schema_of(pm)
    return Schema((owner, section) for name, section in schema.sections.items()
                  for owner in [schema.owners[name]]
                  if owner == "engine" or owner.removeprefix("plugin ") in ours)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value) if "\\" not in value else f"'{value}'"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def _facts(d: Declared) -> str:
    s = d.setting
    parts = [f"Unit: {s.unit}." if s.unit else "", f"Expected: {s.expected}.",
             f"Reloadable: {'yes' if s.reloadable else 'no'}.", "Secret." if s.secret else ""]
    return " ".join(p for p in parts if p)


def toml(schema: Schema) -> str:
    """settings/settings.toml: every key with its default, each preceded by what it is."""
    out = ["# tessdb-core settings: every key, its default, meaning, unit and whether a reload applies it.",
           "# GENERATED from the settings schema by `python -m tessdb_core.settings_reference --write`:",
           "# do not edit; copy the keys you change into your own settings file.", "#"]
    out += [f"# {line}" for line in textwrap.wrap(_LAYERS.replace("`", "").replace("\n", " "), 96)]
    for name, section in schema.sections.items():
        out += ["", f"[default.{name}]"]
        out += [f"# {line}" for line in textwrap.wrap(f"{section.description} (declared by the "
                                                        f"{schema.owners[name]})", 96)]
        for d in schema:
            if d.key.partition(".")[0] != name:
                continue
            text = f"{d.setting.description} {_facts(d)}"
            out += [f"# {line}" for line in textwrap.wrap(text, 96)]
            out.append(f"{d.setting.name} = {_toml_value(d.setting.default)}")
    for env in ("development", "production"):
        overrides: dict[str, list[str]] = {}
        for d in schema:
            if env in d.setting.env_defaults:
                section = d.key.partition(".")[0]
                overrides.setdefault(section, []).append(f"{d.setting.name} = "
                                                         f"{_toml_value(d.setting.env_defaults[env])}")
        for section, lines in overrides.items():
            out += ["", f"[{env}.{section}]", *lines]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(schema: Schema) -> str:
    """docs/settings.md: a table per section."""
    out = ["# Settings reference", "",
           "Generated from the settings schema (`python -m tessdb_core.settings_reference --write`); a test",
           "keeps it equal to the declarations. Each key is declared once, by the engine",
           "(`tessdb_core/engine_settings.py`) or by the plugin that reads it (the `tessdb_settings_schema`",
           "hook, [plugins.md](plugins.md)). `settings/settings.toml` holds the same keys with their defaults.",
           "", _LAYERS, "", _RELOAD, "",
           "Secrets (a key named `password`, `token`, `secret` or ending in `_password`, `_token`, `_secret`)",
           "are never shown: put them in `.secrets.toml` (mode 0600) or a `TESSDB_` variable.", ""]
    for name, section in schema.sections.items():
        out += [f"## [{name}]", "", f"{section.description} Declared by the {schema.owners[name]}.", "",
                "| key | default | unit | reload | what it is |", "|---|---|---|---|---|"]
        for d in schema:
            if d.key.partition(".")[0] != name:
                continue
            s = d.setting
            default = "*(secret)* `\"\"`" if s.secret else f"`{_toml_value(s.default)}`"
            for env, value in s.env_defaults.items():
                default += f"; {env}: `{_toml_value(value)}`"
            reload = "applied" if s.reloadable else "needs a restart"
            out.append(f"| `{s.name}` | {_cell(default)} | {s.unit} | {reload} | "
                       f"{_cell(s.description)} Expected: {_cell(s.expected)}. |")
        out.append("")
    return "\n".join(out)


def generated(schema: Schema | None = None) -> dict[Path, str]:
    """Each generated file (relative to the repository) and its text."""
    schema = schema or shipped_schema()
    return {DOC: markdown(schema), TOML: toml(schema)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write docs/settings.md and settings/settings.toml from the schema.")
    ap.add_argument("--write", action="store_true", help="write the files (default: print the Markdown)")
    ap.add_argument("--root", type=Path, default=Path.cwd(), help="the repository (default: the working folder)")
    args = ap.parse_args(argv)
    files = generated()
    if not args.write:
        print(files[DOC], end="")
        return 0
    for rel, text in files.items():
        (args.root / rel).write_text(text)
        print(f"wrote {args.root / rel}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
