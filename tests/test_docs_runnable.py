"""Every command block the docs mark as runnable runs, and prints what the docs show.

A block is runnable when the line before its fence is ``<!-- runnable -->``
(GitHub does not render the comment). Its ``$ `` lines are commands (a line
ending in ``\\`` continues on the next); the lines under a command are its
output as the docs show it. Each block runs in a fresh temporary folder with
``closedloop`` on ``PATH`` (this checkout's code) and:

- ``examples/data/`` copied from the repository, and the example data already
  ingested into ``examples/demo.duckdb``, which is also the default store
  (``CLOSEDLOOP_DB``), so ``closedloop funnel`` answers as after ``make demo``;
- with ``<!-- runnable: empty -->`` no store at all (a first ingest);
- with ``<!-- runnable: exit=2 -->`` the last command must exit 2 (an error the
  docs show), every other one 0;
- the public datasets a block names (``Data.csv``, ``olist_marketing_funnel/``
  ...) linked in when this machine has them, else the block is skipped;
- a ``cat FILE`` of a file that does not exist creates it from the lines the
  docs show under it (the docs show the file, the test writes it).

A command that is a plain ``closedloop ARGS`` (no redirection, pipe or
variable) runs in this process through :func:`api.cli.main` with the same
arguments, folder and environment, which keeps the test fast; anything else
runs in ``bash``, where ``closedloop`` is the script on ``PATH``.

Every command must exit 0, and every output line shown must appear in the
output, in order (``…`` and ``...`` stand for anything, runs of spaces are one
space, timings and file sizes are free; a line of only ``...`` or ``…``, or a
table row of only ``…``, stands for lines left out). Blocks that need a
running server (``curl``, ``closedloop serve``), the network (``pip install``)
or ``make`` are not marked.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
REAL = ROOT.parent / "shared" / "data" / "real"
DATASETS = {
    "Data.csv": REAL / "channelattribution_pathdata" / "Data.csv",
    "olist_marketing_funnel": REAL / "olist_marketing_funnel",
    "test_dataset.csv": REAL / "dp6_mam_fixture" / "test_dataset.csv",
    "completejourney": REAL / "completejourney_8451",
}
"""Names the docs use for the public datasets → where this machine keeps them."""

_BLOCK = re.compile(
    r"^<!-- runnable(?::(?P<options>[^>]*))? -->\n```[a-z]*\n(?P<body>.*?)^```",
    flags=re.MULTILINE | re.DOTALL,
)
_ANY_MARKER = re.compile(r"^<!-- runnable", flags=re.MULTILINE)
_TIMING = re.compile(r"\d+(?:\.\d+)? (?:s|ms|KiB|MiB)\b")
_ELLIPSIS = re.compile(r"…|\.\.\.")
_ELISION = re.compile(r"[\s│┆|]*(?:…|\.\.\.)[\s│┆|]*(?:\(.*\))?")
"""A line that stands for lines left out: ``...``, or a table row ``│ … ┆ ┆ │``."""
COMMAND_TIMEOUT = 120
_SHELL = re.compile(r"[<>|;&$`*?~(){}]")
"""Characters that need a shell: a command with one runs in ``bash``."""


@dataclass
class Command:
    """One ``$ `` command of a block and the output lines the docs show under it."""

    text: str
    shown: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Block:
    """A runnable block: where it is, its options and its commands."""

    where: str
    options: frozenset[str]
    commands: tuple[Command, ...]


def parse_commands(body: str) -> list[Command]:
    r"""Split a block into its commands and their shown output.

    Examples
    --------
    >>> [(c.text, c.shown) for c in parse_commands("$ a \\\n  b\nout\n$ c\n")]
    [('a \\\n  b', ['out']), ('c', [])]
    """
    commands: list[Command] = []
    continuing = False
    for line in body.splitlines():
        if continuing:
            commands[-1].text += "\n" + line
        elif line.startswith("$ "):
            commands.append(Command(line[2:]))
        elif commands:
            commands[-1].shown.append(line)
        continuing = bool(commands) and line.endswith("\\") and not commands[-1].shown
    return commands


def runnable_blocks() -> Iterator[Block]:
    """Yield every block marked runnable in README.md and docs/*.md."""
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            options = frozenset((match.group("options") or "").split())
            commands = tuple(parse_commands(match.group("body")))
            yield Block(f"{doc.name}:{line}", options, commands)


BLOCKS = list(runnable_blocks())


def _normal(line: str) -> str:
    return " ".join(_TIMING.sub("<t>", line).split())


def _pattern(shown: str) -> re.Pattern[str]:
    parts = [re.escape(part) for part in _ELLIPSIS.split(_normal(shown))]
    return re.compile(".*".join(parts))


def missing_lines(shown: list[str], printed: str) -> list[str]:
    """Return the shown lines that do not appear, in order, among the printed ones.

    Examples
    --------
    >>> missing_lines(["a … (0.40 s)", "... (more)", "│ … ┆ │", "z"], "x\\na b c (0.1 s)\\nz")
    []
    >>> missing_lines(["b", "a"], "a\\nb\\n")
    ['a']
    """
    lines = [_normal(line) for line in printed.splitlines()]
    position = 0
    missing = []
    for want in shown:
        if not want.strip() or _ELISION.fullmatch(want):
            continue
        pattern = _pattern(want)
        found = next((i for i in range(position, len(lines)) if pattern.fullmatch(lines[i])), None)
        if found is None:
            missing.append(want)
        else:
            position = found + 1
    return missing


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example data ingested once, as ``make demo`` does; each block gets a copy."""
    from ingest import Store, ingest_files

    path = tmp_path_factory.mktemp("docs-store") / "demo.duckdb"
    store = Store(path)
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [ROOT / "examples" / "data" / f"{table}.csv"])
    return path


@pytest.fixture(scope="session")
def bin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``closedloop`` on ``PATH`` that runs this checkout's code with this interpreter."""
    folder = tmp_path_factory.mktemp("docs-bin")
    script = folder / "closedloop"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m api.cli "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return folder


def _folder(block: Block, root: Path, demo_store: Path) -> Path:
    (root / "examples").mkdir()
    shutil.copytree(ROOT / "examples" / "data", root / "examples" / "data")
    if "empty" not in block.options:
        shutil.copy(demo_store, root / "examples" / "demo.duckdb")
    text = "\n".join(command.text for command in block.commands)
    for name, path in DATASETS.items():
        if re.search(rf"(?<![\w/.-]){re.escape(name)}\b", text):
            if not path.exists():
                pytest.skip(f"{block.where} needs {name}, not on this machine ({path})")
            (root / name).symlink_to(path)
    return root


def _environment(root: Path, bin_dir: Path, block: Block) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CLOSEDLOOP_") and key not in {"PYTHONPATH", "COLUMNS"}
    }
    env["PATH"] = f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(ROOT)
    if "empty" not in block.options:
        env["CLOSEDLOOP_DB"] = str(root / "examples" / "demo.duckdb")
    return env


def _expected_exit(block: Block) -> int:
    status = [int(option.removeprefix("exit=")) for option in block.options if "exit=" in option]
    return status[0] if status else 0


def _write_catted_file(command: Command, root: Path) -> None:
    catted = re.fullmatch(r"cat (\S+)", command.text.strip())
    if catted and not (root / catted.group(1)).exists():
        (root / catted.group(1)).write_text("\n".join(command.shown) + "\n", encoding="utf-8")


def test_the_docs_mark_runnable_blocks() -> None:
    marked = sum(len(_ANY_MARKER.findall(doc.read_text(encoding="utf-8"))) for doc in DOCS)
    assert marked == len(BLOCKS), "a <!-- runnable --> marker is not right before a ``` fence"
    assert len(BLOCKS) >= 10
    assert all(block.commands for block in BLOCKS), "a runnable block has no $ command"


def _in_process(text: str) -> list[str] | None:
    """Return the arguments of a plain ``closedloop ARGS`` command, else ``None``.

    Examples
    --------
    >>> _in_process("closedloop funnel --by channel   # per channel")
    ['funnel', '--by', 'channel']
    >>> _in_process("closedloop channels rules > my_rules.toml") is None
    True
    """
    words = shlex.split(text.replace("\\\n", " "), comments=True)
    if not words or words[0] != "closedloop" or _SHELL.search(" ".join(words)):
        return None
    return words[1:]


def _run(
    command: Command,
    root: Path,
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[int, str]:
    from api.cli import main

    argv = _in_process(command.text)
    if argv is None:
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command.text],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr
    with monkeypatch.context() as patch:
        patch.chdir(root)
        for key in [key for key in os.environ if key not in env]:
            patch.delenv(key)
        for key, value in env.items():
            patch.setenv(key, value)
        capsys.readouterr()
        code = main(argv)
        out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_runnable_block(
    block: Block,
    tmp_path: Path,
    demo_store: Path,
    bin_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _folder(block, tmp_path, demo_store)
    env = _environment(root, bin_dir, block)
    last = block.commands[-1]
    for command in block.commands:
        _write_catted_file(command, root)
        code, printed = _run(command, root, env, capsys, monkeypatch)
        expected = _expected_exit(block) if command is last else 0
        assert code == expected, (
            f"{block.where}: `{command.text}` exited {code}, not {expected}:\n{printed}"
        )
        missing = missing_lines(command.shown, printed)
        assert not missing, (
            f"{block.where}: `{command.text}` no longer prints (in this order):\n"
            + "\n".join(missing)
            + f"\n--- it printed:\n{printed}"
        )
