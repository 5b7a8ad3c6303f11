"""The command registry, one meaning per flag across commands, and the deprecated spellings."""

from __future__ import annotations

import argparse
import ast
import keyword
import types
from pathlib import Path

import pytest

import api.cli
from api.cli import COMMANDS, Command, build_parser, main
from api.cli._shared import OUTPUT_FORMATS
from ingest import Store
from tests.test_cli import CONVERSIONS_CSV, COSTS_CSV, TOUCHPOINTS_CSV

CLI = Path(api.cli.__file__).resolve().parent
NAMES = [
    "ingest",
    "attribute",
    "compare",
    "models",
    "serve",
    "budget",
    "channels",
    "stages",
    "funnel",
    "paths",
    "timeseries",
    "report",
    "export",
    "materialize",
    "import",
    "delete",
    "keys",
]

Capture = pytest.CaptureFixture[str]


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """Every parser that takes options: the commands, and channels' actions."""
    parsers = subparsers(build_parser())
    for action, parser in subparsers(parsers.pop("channels")).items():
        parsers[f"channels {action}"] = parser
    return parsers


def options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {o: a for a in parser._actions for o in a.option_strings if a.help != argparse.SUPPRESS}


def module_name(command: Command) -> str:
    """The dotted name of a command: each one is a module."""
    assert isinstance(command, types.ModuleType), command
    return command.__name__


# The registry


def test_registry_lists_every_command_module_in_help_order() -> None:
    # A command named after a Python keyword lives in a module with a trailing underscore.
    modules = [
        f"api.cli.{name}_" if keyword.iskeyword(name) else f"api.cli.{name}" for name in NAMES
    ]
    assert [module_name(module) for module in COMMANDS] == modules
    assert list(subparsers(build_parser())) == NAMES
    on_disk = {p.stem.rstrip("_") for p in CLI.glob("*.py") if not p.stem.startswith("_")}
    assert on_disk == set(NAMES)


def test_each_command_runs_its_module() -> None:
    parsers = subparsers(build_parser())
    for module in COMMANDS:
        name = module_name(module).rpartition(".")[2].rstrip("_")
        assert parsers[name].get_default("handler") is module.run


def test_commands_import_only_the_shared_modules() -> None:
    # A command may use what commands share (api.cli._shared, and _-modules such as
    # _report_inputs for attribute and compare), never another command.
    for path in CLI.glob("*.py"):
        if path.stem in ("__init__", "__main__"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("api.cli"):
                shared = (node.module or "").removeprefix("api.cli.").startswith("_")
                assert shared, f"{path.name} imports {node.module}"
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private {private}"
            if isinstance(node, ast.Import):
                assert not [a for a in node.names if a.name.startswith("api.cli")], path.name


def test_a_new_command_is_one_module_and_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    hello = types.ModuleType("hello")

    def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        parser = subparsers.add_parser("hello", help="say hello")
        parser.add_argument("--name", default="world")
        parser.set_defaults(handler=hello.run)

    def run(args: argparse.Namespace) -> int:
        print(f"hello {args.name}")
        return 0

    hello.register, hello.run = register, run  # type: ignore[attr-defined]
    monkeypatch.setattr(api.cli, "COMMANDS", (*COMMANDS, hello))
    assert main(["hello", "--name", "you"]) == 0
    assert capsys.readouterr().out == "hello you\n"


# One meaning per flag


def test_format_is_always_the_output_format() -> None:
    for name, parser in command_parsers().items():
        action = options(parser).get("--format")
        if action is None:
            continue
        shown = action.metavar.strip("{}").split(",")  # type: ignore[union-attr]
        assert set(shown) <= set(OUTPUT_FORMATS), name
        assert action.default == "table", name


def test_every_file_reading_command_names_its_format_input_format() -> None:
    parsers = command_parsers()
    for name in ("ingest", "attribute"):
        assert "--input-format" in options(parsers[name]), name


@pytest.mark.parametrize(
    ("option", "kind", "metavar"),
    [
        ("--ci", float, "LEVEL"),
        ("--bootstrap", int, "N"),
        ("--seed", int, "S"),
        ("--db", None, "PATH"),
        ("--lookback-days", float, "DAYS"),
        ("--start", None, "YYYY-MM-DD"),
        ("--end", None, "YYYY-MM-DD"),
        ("--stage", None, "NAME"),
        ("--model", None, "NAME"),
        ("--param", None, "NAME=VALUE"),
    ],
)
def test_a_shared_option_is_defined_alike_everywhere(
    option: str, kind: type | None, metavar: str
) -> None:
    seen = []
    for name, parser in command_parsers().items():
        action = options(parser).get(option)
        if action is None:
            continue
        seen.append(name)
        assert action.metavar == metavar, (name, option)
        if kind is not None:
            assert action.type is kind, (name, option)
    assert seen, option


def test_interval_options_go_together() -> None:
    parsers = command_parsers()
    for name in ("attribute", "budget", "report"):
        assert {"--ci", "--bootstrap"} <= set(options(parsers[name])), name
    for name in ("attribute", "budget"):
        assert "--seed" in options(parsers[name]), name


def test_help_never_shows_deprecated_spellings(capsys: Capture) -> None:
    assert main(["ingest", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--input-format" in out
    assert "--format" not in out


# Deprecated spellings: still accepted, with one note on stderr


@pytest.fixture
def txt_costs(tmp_path: Path) -> Path:
    """A CSV whose suffix does not say so: ingest needs to be told its format."""
    path = tmp_path / "costs.txt"
    path.write_text(COSTS_CSV)
    return path


def test_ingest_input_format(capsys: Capture, tmp_path: Path, txt_costs: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    assert main(["ingest", "costs", str(txt_costs), "--db", db]) == 2
    assert "unsupported file type '.txt'" in capsys.readouterr().err
    assert main(["ingest", "costs", str(txt_costs), "--input-format", "csv", "--db", db]) == 0
    out, err = capsys.readouterr()
    assert "4 inserted" in out
    assert err == ""


def test_ingest_old_format_spelling(capsys: Capture, tmp_path: Path, txt_costs: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    assert main(["ingest", "costs", str(txt_costs), "--format", "csv", "--db", db]) == 0
    out, err = capsys.readouterr()
    assert "4 inserted" in out
    assert err == (
        "closedloop ingest: note: --format is deprecated; use --input-format "
        "(--format is the output format of the other commands).\n"
    )
    assert Store(db).counts()["costs"] == 4


def test_ingest_format_takes_input_formats_only(capsys: Capture, txt_costs: Path) -> None:
    assert main(["ingest", "costs", str(txt_costs), "--format", "table"]) == 2
    assert "argument --format: invalid choice: 'table'" in capsys.readouterr().err


def test_ingest_from_refuses_input_format(capsys: Capture, tmp_path: Path) -> None:
    argv = ["ingest", "--from", "ga4", "x.ndjson", "--input-format", "ndjson"]
    assert main([*argv, "--db", str(tmp_path / "x.duckdb")]) == 2
    assert capsys.readouterr().err.startswith(
        "closedloop ingest: error: --map, --mapping and --input-format apply to a table ingest, "
        "not to --from ga4"
    )


def test_ingest_option_errors_name_option(capsys: Capture, tmp_path: Path) -> None:
    argv = ["ingest", "--from", "segment", "x.ndjson", "--option", "conversion_events"]
    assert main([*argv, "--db", str(tmp_path / "x.duckdb")]) == 2
    assert capsys.readouterr().err == (
        "closedloop ingest: error: Bad --option 'conversion_events': expected name=value, "
        "e.g. --option conversion_events=purchase.\n"
    )


def test_attribute_reads_files_with_input_format(capsys: Capture, tmp_path: Path) -> None:
    touchpoints = tmp_path / "t.txt"
    touchpoints.write_text(TOUCHPOINTS_CSV)
    conversions = tmp_path / "c.csv"
    conversions.write_text(CONVERSIONS_CSV)
    argv = ["attribute", "--model", "linear", "--touchpoints", str(touchpoints)]
    argv += ["--conversions", str(conversions), "--input-format", "csv", "--format", "json"]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""


# The exit-code policy, the same for every command


def test_interrupt_exits_130(monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    def interrupted() -> list[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr("attribution.available_models", interrupted)
    assert main(["models"]) == 130
    assert capsys.readouterr().err == "closedloop models: interrupted\n"


def test_usage_error_exits_2(capsys: Capture) -> None:
    assert main(["models", "--format", "csv"]) == 2
    assert "argument --format: invalid choice: 'csv'" in capsys.readouterr().err
