"""The documentation stands on its own, and its examples are true.

* No file of the project, and no ``--help`` text, refers to anything outside the repository:
  the material the project was built from is not shipped, so a reference to it (a path into
  the sibling folder ``shared``, a section sign followed by a number) is a dead end for a user.
* The README keeps its two commands exactly (CI runs the second one), stays short and links
  every page of ``docs/``; every relative link of the README and of ``docs/`` resolves, down
  to the heading it names.
* Every ```` ```console ```` block of the README and of ``docs/*.md`` is run, and what each
  command prints is compared with the lines shown below it.  The rules (also in the README's
  "Documentation" section):

  - each page runs in a fresh empty folder holding a link to the repository's ``examples/``,
    its blocks in order; unless the page's first command is ``tessdb-core init``, that
    command is run first, silently;
  - ``$ `` starts a command: ``tessdb-core`` and its arguments, as a shell splits them,
    optionally preceded by ``VAR=value`` assignments (the environment of that command) and
    followed by a ``# comment``; a command ending in ``<<'EOF'`` reads the lines that follow,
    up to ``EOF``, as its standard input;
  - the lines after a command, up to the next ``$ `` or the end of the block, are its
    standard output followed by its standard error (log lines are left out: the level is
    ``warning``); ``...`` alone on a line stands for any number of lines, ``...`` within a
    line for any text on that line (a time, a path); trailing blanks are ignored;
  - a command must exit 0, or 2 when the lines shown hold ``tessdb-core: error:``.

  The commands run in this process (``tests/cli_runner.py``), so a page costs well under a
  second per command.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest

from cli_runner import Cli

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve()
README = ROOT / "README.md"
DOCS = ROOT / "docs"

#: what points outside the repository: the sibling folder, and numbered sections of a document
#: that is not shipped ("spec §3", "§ 4.1")
OUTSIDE = [re.compile(r"\.\./shared"), re.compile(r"spec §"), re.compile(r"§\s*\d")]

#: the README's two commands, exactly: the first is what a newcomer types, CI runs the second
README_COMMANDS = [
    '    python3 -m pip install -e ".[all]" && tessdb-core demo',
    '    bash tests/system-packages.sh && python3 -m pip install -e ".[test]" && python3 -m pytest -q',
]
README_MAX_LINES = 200


# -- the files of the project ---------------------------------------------------------------------
def project_files() -> list[Path]:
    """Tracked and untracked (not ignored) files; without git, every file but the usual debris."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                             cwd=ROOT, capture_output=True, check=True, timeout=60).stdout
        names = [n for n in out.decode().split("\0") if n]
        return [ROOT / n for n in names if (ROOT / n).is_file()]
    except (OSError, subprocess.SubprocessError):
        skip = {".git", "__pycache__", "build", ".pytest_cache", ".hypothesis", ".benchmarks", ".tox", ".venv"}
        return [p for p in ROOT.rglob("*") if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
                and not any(part.endswith(".egg-info") for part in p.parts)]


def text_of(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace")


def outside_references(text: str) -> list[str]:
    hits = []
    for no, line in enumerate(text.splitlines(), 1):
        if any(p.search(line) for p in OUTSIDE):
            hits.append(f"{no}: {line.strip()[:120]}")
    return hits


def test_no_file_refers_outside_the_repository():
    found = {}
    for path in project_files():
        if path.resolve() == HERE:
            continue
        text = text_of(path)
        if text is not None and (hits := outside_references(text)):
            found[str(path.relative_to(ROOT))] = hits
    assert found == {}, "references to material outside the repository:\n" + "\n".join(
        f"  {name}:{hit}" for name, hits in sorted(found.items()) for hit in hits)


def command_paths() -> list[list[str]]:
    """Every command and group of `tessdb-core`, plugin commands included."""
    from tessdb_core import cli as cli_module

    cli_module._add_plugin_commands([])  # noqa: SLF001 - what main() does before running
    paths: list[list[str]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        paths.append(path)
        if isinstance(cmd, click.Group):
            for name, sub in sorted(cmd.commands.items()):
                walk(sub, [*path, name])

    walk(cli_module.cli, [])
    return paths


def test_no_help_text_refers_outside_the_repository(tmp_path):
    cli = Cli(tmp_path)
    paths = command_paths()
    assert len(paths) > 40  # the plugins' commands are there too
    found = {}
    for path in paths:
        out = cli(*path, "--help")
        if hits := outside_references(out.stdout + out.stderr):
            found[" ".join(["tessdb-core", *path])] = hits
    assert found == {}, f"--help texts referring outside the repository: {found}"


# -- the README and the links -------------------------------------------------------------------
def test_readme_keeps_its_two_commands_and_stays_short():
    lines = README.read_text().splitlines()
    for command in README_COMMANDS:
        assert command in lines, f"the README lost its command {command.strip()!r}"
    assert lines.index(README_COMMANDS[0]) < lines.index(README_COMMANDS[1])
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines"


FENCE = re.compile(r"^(```+|~~~+)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def unfenced(text: str) -> list[str]:
    """The lines of a page outside its fenced blocks."""
    out, fence = [], None
    for line in text.splitlines():
        m = FENCE.match(line.strip())
        if fence is None and m:
            fence = m.group(1)[0] * 3
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        out.append(line)
    return out


def prose(text: str) -> str:
    """The text without fenced blocks and code spans (their brackets are not links)."""
    return "\n".join(re.sub(r"`+[^`]*`+", "", line) for line in unfenced(text))


def slugs(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a page."""
    seen: dict[str, int] = {}
    out = set()
    for line in unfenced(text):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def linking_pages() -> list[Path]:
    """The pages whose links are checked: these, and the READMEs of the plugins and examples."""
    return [*pages(), *sorted(ROOT.glob("plugins/*/README.md")), *sorted(ROOT.glob("examples/*/README.md"))]


def test_every_docs_page_is_linked_from_the_readme():
    readme = prose(README.read_text())
    targets = {t.split("#", 1)[0] for t in LINK.findall(readme)}
    missing = [f"docs/{p.name}" for p in sorted(DOCS.glob("*.md")) if f"docs/{p.name}" not in targets]
    assert missing == [], f"docs pages the README does not link: {missing}"


@pytest.mark.parametrize("page", linking_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
            continue
        if anchor and dest.suffix == ".md":
            text = dest.read_text()
            if anchor not in slugs(text):
                broken.append(f"{target}: no such heading")
    assert broken == [], f"{page.relative_to(ROOT)}: " + "; ".join(broken)


# -- the runnable examples ------------------------------------------------------------------------
@dataclass
class Step:
    line: int
    command: str
    stdin: str | None = None
    expected: list[str] = field(default_factory=list)


def console_steps(text: str) -> list[Step]:
    """The commands of every ```console block of a page, in order."""
    steps: list[Step] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != "```console":
            i += 1
            continue
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            line = lines[i]
            if line.startswith("$ "):
                step = Step(i + 1, line[2:])
                heredoc = re.search(r"<<\s*'?(\w+)'?\s*(#.*)?$", step.command)
                if heredoc:
                    end = heredoc.group(1)
                    step.command = step.command[:heredoc.start()]
                    body = []
                    i += 1
                    while i < len(lines) and lines[i] != end and lines[i].strip() != "```":
                        body.append(lines[i])
                        i += 1
                    assert i < len(lines) and lines[i] == end, f"line {step.line}: no `{end}` ends the input"
                    step.stdin = "\n".join(body) + "\n"
                steps.append(step)
            elif steps:
                steps[-1].expected.append(line)
            else:
                raise AssertionError(f"line {i + 1}: a ```console block starts with output, not with `$ `")
            i += 1
        i += 1
    return steps


def expected_pattern(expected: list[str]) -> re.Pattern:
    while expected and not expected[-1].strip():
        expected = expected[:-1]
    parts = []
    for line in expected:
        line = line.rstrip()
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append("[^\n]*?".join(re.escape(piece) for piece in line.split("...")) + r"\n")
    return re.compile("".join(parts))


def normalised(output: str) -> str:
    lines = [line.rstrip() for line in output.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "".join(line + "\n" for line in lines)


def run_step(cli: Cli, step: Step):
    words = shlex.split(step.command, comments=True)
    env = {}
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    assert words[:1] == ["tessdb-core"], f"line {step.line}: only `tessdb-core` commands are run: {step.command}"
    saved = dict(cli.env)
    cli.env.update(env)
    try:
        return cli(*words[1:], check=False, stdin=step.stdin)
    finally:
        cli.env.clear()
        cli.env.update(saved)


def example_pages() -> list[Path]:
    return [p for p in pages() if any(line.strip() == "```console" for line in p.read_text().splitlines())]


def test_the_examples_are_numerous_enough_and_few_enough():
    steps = sum(len(console_steps(p.read_text())) for p in example_pages())
    blocks = sum(sum(line.strip() == "```console" for line in p.read_text().splitlines()) for p in example_pages())
    assert 10 <= blocks <= 25 and steps <= 80, (blocks, steps)


@pytest.mark.parametrize("page", example_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_examples_print_what_the_page_shows(page, tmp_path):
    steps = console_steps(page.read_text())
    assert steps
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    cli = Cli(tmp_path)
    if shlex.split(steps[0].command, comments=True) != ["tessdb-core", "init"]:
        cli("init")
    failures = []
    for step in steps:
        out = run_step(cli, step)
        printed = normalised(out.stdout + out.stderr)
        ok_exit = out.returncode == 0 or (
            out.returncode == 2 and any("tessdb-core: error:" in line for line in step.expected))
        if not ok_exit or not expected_pattern(step.expected).fullmatch(printed):
            failures.append(f"{page.relative_to(ROOT)}:{step.line}: $ {step.command}\n"
                            f"  exit code {out.returncode}; expected:\n"
                            + "".join(f"    {line}\n" for line in step.expected)
                            + "  printed:\n" + "".join(f"    {line}\n" for line in printed.splitlines()))
    assert failures == [], "\n".join(failures)


def test_the_example_rules_themselves():
    """The matcher of the examples: ellipses, heredocs, environment assignments, comments."""
    steps = console_steps("text\n```console\n$ A=1 tessdb-core x - <<'EOF'  # c\nin 1\nEOF\nout ...\n...\nend\n"
                          "$ tessdb-core y\n```\n")
    assert [s.command.strip() for s in steps] == ["A=1 tessdb-core x -", "tessdb-core y"]
    assert steps[0].stdin == "in 1\n" and steps[0].expected == ["out ...", "...", "end"]
    pattern = expected_pattern(steps[0].expected)
    assert pattern.fullmatch("out 12:00\nend\n") and pattern.fullmatch("out \na\nb\nend\n")
    assert not pattern.fullmatch("out x\nend\nmore\n") and not pattern.fullmatch("outer\nend\n")
    assert expected_pattern([]).fullmatch("") and not expected_pattern([]).fullmatch("x\n")
    with pytest.raises(AssertionError, match="no `EOF` ends the input"):
        console_steps("```console\n$ tessdb-core ingest - <<'EOF'\nline\n```\n")
