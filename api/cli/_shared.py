"""What the ``closedloop`` commands share: options, argument parsing, output and exit codes.

Importing this module costs the standard library and :mod:`attribution.constants`
(which imports nothing). Each command imports
its heavy dependencies (polars, the models, the store, FastAPI) inside its
``run``, so that ``closedloop --help`` and building the parser stay fast.
The tuples below are light copies of names defined in heavy modules, for the
help texts and choices; ``tests/test_cli_startup.py`` checks every copy
against its source.

One option, one meaning, one definition: every command adds ``--db``,
``--format``, ``--start``/``--end``, ``--ci``/``--bootstrap``/``--seed`` and the
others through the ``add_*`` functions here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeAlias

from attribution.constants import DEFAULT_LOOKBACK_DAYS, DEFAULT_RESAMPLES

if TYPE_CHECKING:
    import polars as pl

    from api.services import Services
    from api.services.results import Result
    from ingest.store import Store

    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

PROG = "closedloop"
"""The command's name, first word of every message."""

OUTPUT_FORMATS = ("table", "json", "csv")
"""``--format``: what a command prints (a readable table, JSON or RFC 4180 CSV)."""

INPUT_FORMATS = ("csv", "tsv", "parquet", "ndjson", "json")
"""``--input-format``: the format of files read, when their suffixes do not say."""

# Light copies of heavy modules' names (tests/test_cli_startup.py checks them).
TABLES = ("touchpoints", "conversions", "costs", "identities", "accounts", "lift_tests")
"""The canonical tables: the keys of :data:`attribution.schema.TABLES`."""

ADAPTERS = (
    "ga4", "segment", "rudderstack", "salesforce", "hubspot", "google_ads", "meta_ads",
    "linkedin_ads", "microsoft_ads", "dp6", "olist", "completejourney",
)  # fmt: skip
"""Source adapters for ``ingest --from``: the keys of :data:`ingest.adapters.ADAPTERS`."""

DEFAULT_MAX_COMPONENT_SIZE = 1000
"""``--max-identity-component``'s default: :data:`ingest.identity.DEFAULT_MAX_COMPONENT_SIZE`."""

FUNNEL_GROUPINGS = ("channel", "campaign", "lead_source", "owner")
"""``funnel --by``: :data:`attribution.funnel.GROUPINGS`."""

FUNNEL_ASSIGNMENTS = ("first_touch", "lead_touch")
"""``funnel --assign``: :data:`attribution.funnel.ASSIGNMENTS`."""

CURVE_KINDS = ("hill", "power", "log")
"""``budget --curve``: :data:`attribution.budget.curves.KINDS`."""

DEFAULT_CAP_MULTIPLE = 1.5
"""``budget --cap-multiple``'s default: :data:`attribution.budget.plan.DEFAULT_CAP_MULTIPLE`."""

DEFAULT_BUDGET_CI = 0.9
"""``budget --ci``'s default: :data:`attribution.budget.plan.DEFAULT_CI`."""

BUDGET_PERIODS = ("week", "month", "quarter")
"""``budget --period``: the keys of :data:`attribution.budget.period.PERIODS`."""

DEFAULT_MAX_CHANGE = 0.3
"""``budget --max-change``'s default: :data:`attribution.budget.plan.DEFAULT_MAX_CHANGE`."""


class Progress:
    r"""Rows done and rows per second, redrawn in place on a terminal.

    Parameters
    ----------
    stream
        Where to draw (stderr).
    label
        What is making progress, e.g. ``ingest costs``.
    unit
        What is counted (``rows``, ``resamples``).

    Examples
    --------
    >>> import io
    >>> stream = io.StringIO()
    >>> progress = Progress(stream, "ingest costs")
    >>> progress(2, 4)
    >>> progress.close()
    >>> stream.getvalue().startswith("\ringest costs: 2 of 4 rows (50%), ")
    True
    """

    def __init__(self, stream: TextIO, label: str, unit: str = "rows") -> None:
        self.stream = stream
        self.label = label
        self.unit = unit
        self.started = time.monotonic()
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        """Redraw the line for ``done`` of ``total`` rows (or other units)."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        share = f" ({done / total:.0%})" if total else ""
        unit = self.unit
        self.stream.write(
            f"\r{self.label}: {done:,} of {total:,} {unit}{share}, {done / elapsed:,.0f} {unit}/s"
        )
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """End the progress line so later output starts on a fresh one."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def terminal_progress(label: str, unit: str = "rows") -> Progress | None:
    """Return a progress line on stderr when it is a terminal, else ``None`` (quiet in pipes).

    Examples
    --------
    >>> terminal_progress("ingest costs") is None  # stderr is not a terminal under doctest
    True
    """
    return Progress(sys.stderr, label, unit) if sys.stderr.isatty() else None


REDRAW_SECONDS = 0.1
"""Least time between two redraws of the line (the last step of a job is always drawn)."""

_CLEAR_TO_END = "\x1b[K"


class ProgressLine:
    r"""A listener (:data:`attribution.progress.ProgressListener`) that redraws one terminal line.

    Parameters
    ----------
    stream
        The terminal to draw on (stderr).
    clock
        Seconds, for the rate and the redraw interval (tests pass a fake).

    Examples
    --------
    >>> import io
    >>> stream = io.StringIO()
    >>> line = ProgressLine(stream, clock=iter([0.0, 2.0, 2.01, 2.5]).__next__)
    >>> line("curve fits", 0, 100, "fits")
    >>> line("curve fits", 50, 100, "fits")
    >>> line("curve fits", 51, 100, "fits")  # 10 ms later: not redrawn
    >>> line("report 2/8: channels", 0, 0, "")
    >>> for drawn in stream.getvalue().split("\r")[1:]:
    ...     print(drawn.removesuffix("\x1b[K"))
    curve fits: 0 of 100 fits (0%)
    curve fits: 50 of 100 fits (50%), 25 fits/s
    report 2/8: channels …
    """

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.what = ""
        self.started = 0.0
        self.drawn_at: float | None = None

    def __call__(self, what: str, done: int, total: int, unit: str) -> None:
        """Redraw the line for ``done`` of ``total`` ``unit`` of ``what``."""
        now = self.clock()
        if what != self.what:
            self.what, self.started = what, now
        elif self.drawn_at is not None and now - self.drawn_at < REDRAW_SECONDS and done < total:
            return
        if total > 0:
            elapsed = now - self.started
            rate = f", {done / elapsed:,.0f} {unit}/s" if elapsed > 0 and done > 0 else ""
            text = f"{what}: {done:,} of {total:,} {unit} ({done / total:.0%}){rate}"
        else:
            text = f"{what} …"
        width = max(shutil.get_terminal_size().columns - 1, 20)
        self.stream.write(f"\r{text[:width]}{_CLEAR_TO_END}")
        self.stream.flush()
        self.drawn_at = now

    def close(self) -> None:
        """Erase the line, so the results print on a clean one."""
        if self.drawn_at is not None:
            self.stream.write(f"\r{_CLEAR_TO_END}")
            self.stream.flush()


@contextmanager
def terminal_listening(stream: TextIO | None = None) -> Iterator[None]:
    r"""Draw the progress reported inside the block when ``stream`` (stderr) is a terminal.

    Long work (curve fits, bootstraps, the report's sections) reports to
    :mod:`attribution.progress`; inside this block, on a terminal, a
    :class:`ProgressLine` draws it on one line, erased when the block ends.
    When ``stream`` is not a terminal (a pipe, a file, CI) nothing listens, so
    a script's output stays exactly the results.

    Examples
    --------
    >>> import io
    >>> from attribution.progress import report_progress
    >>> piped = io.StringIO()  # not a terminal: nothing is drawn
    >>> with terminal_listening(piped):
    ...     report_progress("curve fits", 1, 2, "fits")
    >>> piped.getvalue()
    ''
    >>> class FakeTerminal(io.StringIO):
    ...     def isatty(self) -> bool:
    ...         return True
    >>> terminal = FakeTerminal()
    >>> with terminal_listening(terminal):
    ...     report_progress("curve fits", 808, 808, "fits")
    >>> terminal.getvalue()  # drawn, then erased
    '\rcurve fits: 808 of 808 fits (100%)\x1b[K\r\x1b[K'
    """
    from attribution.progress import listening

    target = sys.stderr if stream is None else stream
    if not target.isatty():
        yield
        return
    line = ProgressLine(target)
    try:
        with listening(line):
            yield
    finally:
        line.close()


def parse_date(text: str) -> dt.date:
    """Parse a ``--start``/``--end`` date, YYYY-MM-DD (an argparse ``type``).

    Raises
    ------
    argparse.ArgumentTypeError
        If ``text`` is not such a date (argparse turns it into a usage error).

    Examples
    --------
    >>> parse_date("2025-03-01")
    datetime.date(2025, 3, 1)
    >>> parse_date("March")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a date YYYY-MM-DD, got 'March'
    """
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def parse_params(
    pairs: Sequence[str], option: str = "--param", example: str = "half_life_days=3"
) -> dict[str, str]:
    """Parse repeated ``NAME=VALUE`` options (``--param``, ``--option``), refusing repeats.

    Parameters
    ----------
    pairs
        The values given, e.g. ``["half_life_days=3"]``.
    option, example
        The option's name and an example value, for the error message.

    Raises
    ------
    attribution.errors.ParameterError
        If a pair has no ``=`` or no name, or a name comes twice.

    Examples
    --------
    >>> parse_params(["half_life_days=3", "order = 2"])
    {'half_life_days': '3', 'order': '2'}
    >>> parse_params(["order"])
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Bad --param 'order': expected name=value, e.g. ...
    """
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            from attribution.errors import ParameterError

            raise ParameterError(
                f"Bad {option} '{pair}': expected name=value, e.g. {option} {example}."
            )
        if key in params:
            from attribution.errors import ParameterError

            raise ParameterError(f"{option} {key} is given more than once. Give it once.")
        params[key] = value
    return params


def column_mapping(args: argparse.Namespace, table: str) -> dict[str, str]:
    """Combine ``--mapping F.toml`` (its section for ``table``) and ``--map`` options.

    ``--map`` wins over the file for the same canonical column.

    Examples
    --------
    >>> column_mapping(argparse.Namespace(mapping=None, map=["user_id=cookie"]), "touchpoints")
    {'user_id': 'cookie'}
    """
    from ingest.mapping import load_mapping_file, parse_map_args

    from_file = load_mapping_file(args.mapping)[table] if args.mapping else {}
    return {**from_file, **parse_map_args(args.map or [])}


ENGINES = ("duckdb", "spark")
"""Where the journeys are built: the embedded DuckDB store, or Apache Spark over a Parquet lake."""


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--engine duckdb|spark``, ``--lake DIR`` and ``--spark-master URL``.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_engine_options(parser)
    >>> args = parser.parse_args(["--engine", "spark", "--lake", "lake/"])
    >>> args.engine, args.lake, args.spark_master
    ('spark', 'lake/', 'local[*]')
    """
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="where journeys are built: duckdb (the store, default) or spark (a Parquet lake "
        "given with --lake)",
    )
    parser.add_argument(
        "--lake",
        metavar="DIR",
        help="with --engine spark: a folder with touchpoints/, conversions/, costs/, "
        "identities/ as Parquet (closedloop export --out DIR writes one)",
    )
    parser.add_argument(
        "--spark-master",
        default="local[*]",
        metavar="URL",
        help="with --engine spark: the Spark master (default local[*]: this machine)",
    )


def open_services(args: argparse.Namespace) -> Services:
    """Return the services over the store (``--db``) or, with ``--engine spark``, the lake.

    Examples
    --------
    >>> import tempfile
    >>> args = argparse.Namespace(db=f"{tempfile.mkdtemp()}/x.duckdb", engine=None, lake=None)
    >>> open_services(args).source.name
    "the store 'x.duckdb'"
    >>> open_services(argparse.Namespace(db=None, engine="spark", lake=None))
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: --engine spark reads a Parquet lake: give --lake DIR ...
    """
    from api.services import Services
    from attribution.errors import ParameterError

    engine = getattr(args, "engine", None)
    lake = getattr(args, "lake", None)
    if lake is not None and engine is None:
        engine = "spark"
    if engine == "spark":
        if lake is None:
            raise ParameterError(
                "--engine spark reads a Parquet lake: give --lake DIR (closedloop export "
                "--out DIR writes one from a store)."
            )
        if getattr(args, "db", None) is not None:
            raise ParameterError("Give either --db (the store) or --lake (Spark), not both.")
        return Services.for_lake(lake, getattr(args, "spark_master", "local[*]"))
    if lake is not None:
        raise ParameterError("--lake goes with --engine spark.")
    return Services.for_store(open_store(args))


def open_store(args: argparse.Namespace) -> Store:
    """Open (or create) the store: ``--db``, else ``$CLOSEDLOOP_DB``, else ``./closedloop.duckdb``.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> open_store(argparse.Namespace(db=f"{folder}/x.duckdb")).path.name
    'x.duckdb'
    """
    from ingest.store import Store, default_db_path

    return Store(Path(args.db) if args.db else default_db_path())


OUT_FORMATS = {".csv": "csv", ".json": "json", ".parquet": "parquet"}
"""``--out FILE``: the format each suffix writes."""


class OutputFile(str):
    """The ``--format`` value ``--out FILE`` stores: the format its suffix picks, and the path.

    It *is* the format (``OutputFile("csv", "x.csv") == "csv"``), so code that
    asks ``args.format == "csv"`` keeps working; :func:`write_output` writes
    to :attr:`path` instead of stdout.

    Examples
    --------
    >>> out = OutputFile("csv", "report.csv")
    >>> out == "csv", out.path
    (True, 'report.csv')
    """

    path: str

    def __new__(cls, fmt: str, path: str) -> OutputFile:
        """Make the format ``fmt`` that writes to ``path``."""
        made = super().__new__(cls, fmt)
        made.path = path
        return made


def out_suffixes(choices: Sequence[str]) -> dict[str, str]:
    """Return the ``--out`` suffixes a command with these ``--format`` choices writes.

    ``.json`` where it prints JSON; ``.csv`` and ``.parquet`` where it prints
    rows (CSV).

    Examples
    --------
    >>> out_suffixes(("table", "json", "csv"))
    {'.csv': 'csv', '.json': 'json', '.parquet': 'parquet'}
    >>> out_suffixes(("table", "json"))
    {'.json': 'json'}
    """
    formats = {"json"} & set(choices) | ({"csv", "parquet"} if "csv" in choices else set())
    return {suffix: fmt for suffix, fmt in OUT_FORMATS.items() if fmt in formats}


def output_file(path: str, suffixes: Mapping[str, str]) -> OutputFile:
    """Check an ``--out`` path (its suffix, its folder) and return what it writes.

    Raises
    ------
    argparse.ArgumentTypeError
        If the suffix is not one of ``suffixes``, the folder does not exist or
        cannot be written, or the path is a folder (argparse turns it into a
        usage error, exit status 2).

    Examples
    --------
    >>> output_file("march.parquet", OUT_FORMATS)
    'parquet'
    >>> output_file("march.xlsx", OUT_FORMATS)
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: cannot tell the format of 'march.xlsx': end it in .csv, .json or ...
    >>> output_file("no/such/folder/x.csv", OUT_FORMATS)
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: cannot write 'no/such/folder/x.csv': folder 'no/such/folder' ...
    """
    target = Path(path)
    fmt = suffixes.get(target.suffix.lower())
    if fmt is None:
        names = [*suffixes]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        raise argparse.ArgumentTypeError(
            f"cannot tell the format of {path!r}: end it in {listed} "
            "(.parquet and .csv write the rows, .json the whole answer)"
        )
    folder = target.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot write {path!r}: folder '{folder}' does not exist; create it first"
        )
    if target.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {path!r}: it is a folder")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(
            f"cannot write {path!r}: folder '{folder}' is not writable"
        )
    return OutputFile(fmt, path)


def write_output(
    fmt: str,
    *,
    table: Callable[[], str],
    data: Callable[[], Any] | None = None,
    csv: Callable[[], str] | None = None,
    parquet: Callable[[], bytes] | None = None,
    rows: int | None = None,
) -> None:
    """Write a command's result to stdout in the ``--format`` asked for, or to ``--out FILE``.

    With ``--out FILE`` (``fmt`` is then an :class:`OutputFile`) the file is
    written atomically (a temporary file in the same folder, renamed over
    it), stdout stays empty and stderr gets ``wrote N rows to FILE``.

    Parameters
    ----------
    fmt
        ``table``, ``json`` or ``csv``; or the :class:`OutputFile` of ``--out``.
    table, data, csv
        Return the readable text, the JSON-ready data and the CSV text; only
        the one asked for is called.
    parquet
        Returns the rows as a Parquet file (:meth:`api.services.results.Result.to_parquet`);
        when absent, ``--out x.parquet`` writes the rows of ``data`` (its
        ``data`` member, or the list itself).
    rows
        How many rows the result has, for the line on stderr (default:
        counted from what is written).

    Raises
    ------
    ValueError
        If the command offers no output for ``fmt`` (argparse's choices
        should have refused it).
    attribution.errors.ParameterError
        If the ``--out`` file cannot be written.

    Examples
    --------
    >>> write_output("table", table=lambda: "Email  1")
    Email  1
    >>> write_output("json", table=lambda: "Email  1", data=lambda: {"Email": 1})
    {
      "Email": 1
    }
    """
    if isinstance(fmt, OutputFile):
        _write_file(fmt, data=data, csv=csv, parquet=parquet, rows=rows)
    elif fmt == "table":
        sys.stdout.write(table() + "\n")
    elif fmt == "json" and data is not None:
        sys.stdout.write(json.dumps(data(), indent=2, default=str) + "\n")
    elif fmt == "csv" and csv is not None:
        sys.stdout.write(csv())
    else:
        raise ValueError(f"This command has no {fmt} output.")


def write_result(fmt: str, result: Result) -> None:
    """Write a service's :class:`~api.services.results.Result` as :func:`write_output` does.

    The one call a command that prints a result needs: ``--format`` and
    ``--out`` (every suffix) both work.

    Examples
    --------
    >>> import polars as pl
    >>> from api.services.results import Result
    >>> write_result("csv", Result("x", {}, pl.DataFrame({"channel": ["Email"]})))
    channel
    Email
    """
    write_output(
        fmt,
        table=result.to_table,
        data=result.to_dict,
        csv=result.to_csv,
        parquet=result.to_parquet,
        rows=result.total_rows,
    )


def _write_file(
    out: OutputFile,
    *,
    data: Callable[[], Any] | None,
    csv: Callable[[], str] | None,
    parquet: Callable[[], bytes] | None,
    rows: int | None,
) -> None:
    """Write ``--out``'s file atomically and say on stderr how many rows it holds."""
    import csv as csv_module
    import io
    import tempfile

    body = data() if data is not None and (out == "json" or parquet is None) else None
    listed = body.get("data") if isinstance(body, dict) else body
    if out == "json" and data is not None:
        content = (json.dumps(body, indent=2, default=str) + "\n").encode()
        count = rows if rows is not None else len(listed) if isinstance(listed, list) else 1
    elif out == "csv" and csv is not None:
        text = csv()
        content = text.encode()
        count = rows if rows is not None else sum(1 for _ in csv_module.reader(io.StringIO(text)))
        count -= 1 if rows is None else 0  # the header
    elif out == "parquet" and (parquet is not None or isinstance(listed, list)):
        content, count = _parquet(parquet, listed, rows)
    else:
        from attribution.errors import ParameterError

        raise ParameterError(
            f"This answer has no rows to write as {out}: give --out a .json file instead."
        )
    target = Path(out.path)
    try:
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as temporary:
            temporary.write(content)
        os.replace(temporary.name, target)
    except OSError as exc:
        if "temporary" in locals():
            Path(temporary.name).unlink(missing_ok=True)
        from attribution.errors import ParameterError

        raise ParameterError(
            f"Cannot write --out {out.path}: {exc.strerror or exc}. Give a path in a folder "
            "you can write."
        ) from exc
    print(f"wrote {count:,} rows to {out.path}", file=sys.stderr)


def _parquet(
    parquet: Callable[[], bytes] | None, listed: Any, rows: int | None
) -> tuple[bytes, int]:
    """Return the Parquet bytes and their row count: the result's own, or ``data``'s rows."""
    import io

    import polars as pl

    if parquet is not None:
        content = parquet()
        return content, rows if rows is not None else pl.read_parquet(io.BytesIO(content)).height
    frame = pl.DataFrame(listed)
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue(), frame.height


def warn_csv(fmt: str, members: Mapping[str, Any]) -> None:
    r"""Print an answer's ``warnings`` on stderr with CSV or Parquet output (the others show them).

    Examples
    --------
    >>> import contextlib, io
    >>> members = {"warnings": [{"code": "unknown_stage", "severity": "warning", "message": "m"}]}
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     warn_csv("csv", members)
    >>> err.getvalue()
    'warning [unknown_stage]: m\n'
    """
    if fmt not in ("csv", "parquet"):
        return
    for warning in members.get("warnings", ()):
        print(f"{warning['severity']} [{warning['code']}]: {warning['message']}", file=sys.stderr)


def usage_error(parser: argparse.ArgumentParser, message: str) -> int:
    """Report a usage error as argparse would (usage, then the error) and return 2.

    Examples
    --------
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     usage_error(argparse.ArgumentParser(prog="closedloop ingest"), "FILE is required")
    2
    >>> err.getvalue().splitlines()[-1]
    'closedloop ingest: error: FILE is required'
    """
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return 2


class DeprecatedAlias(argparse.Action):
    r"""An option's old spelling: stores into the new option's ``dest`` and says so on stderr.

    Hidden from ``--help``. Pass ``replacement`` (what to use instead) to
    ``add_argument``.

    Examples
    --------
    >>> import contextlib, io
    >>> parser = argparse.ArgumentParser(prog="closedloop channels explain")
    >>> _ = parser.add_argument("--channel-rules")
    >>> _ = parser.add_argument("--rules", dest="channel_rules", action=DeprecatedAlias,
    ...                         replacement="--channel-rules")
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     parser.parse_args(["--rules", "r.toml"]).channel_rules
    'r.toml'
    >>> err.getvalue()
    'closedloop channels explain: note: --rules is deprecated; use --channel-rules.\n'
    """

    def __init__(
        self, option_strings: Sequence[str], dest: str, *, replacement: str, **kwargs: Any
    ) -> None:
        kwargs.setdefault("help", argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)
        self.replacement = replacement

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        """Store ``values`` and print the one-line deprecation note."""
        deprecation_note(parser, f"{option_string} is deprecated; use {self.replacement}.")
        setattr(namespace, self.dest, values)


class _FormatAction(argparse.Action):
    """``--format`` that maps deprecated values (``text``) to their new names, with a note."""

    def __init__(
        self, option_strings: Sequence[str], dest: str, *, renamed: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.renamed = renamed

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        """Store the format, renaming a deprecated value."""
        if values in self.renamed:
            new = self.renamed[values]
            deprecation_note(
                parser, f"{option_string} {values} is deprecated; use {option_string} {new}."
            )
            values = new
        current = getattr(namespace, self.dest, None)
        if isinstance(current, OutputFile):
            _check_agree(parser, values, current)
            return
        setattr(namespace, self.dest, values)
        setattr(namespace, _FORMAT_GIVEN, values)


_FORMAT_GIVEN = "_format_given"
"""Where ``--format`` notes it was given, so ``--out`` can tell it from the default."""


class _OutAction(argparse.Action):
    """``--out FILE``: store an :class:`OutputFile` as the format, refusing a disagreeing one."""

    def __init__(
        self, option_strings: Sequence[str], dest: str, *, suffixes: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.suffixes = suffixes

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        """Check the path and store what it writes in ``format``."""
        try:
            out = output_file(str(values), self.suffixes)
        except argparse.ArgumentTypeError as exc:
            parser.error(f"argument --out: {exc}")
        given = getattr(namespace, _FORMAT_GIVEN, None)
        if given is not None:
            _check_agree(parser, given, out)
        setattr(namespace, self.dest, out)


def _check_agree(parser: argparse.ArgumentParser, fmt: str, out: OutputFile) -> None:
    """Refuse ``--format`` and ``--out`` that ask for different formats (a usage error)."""
    if fmt != str(out):
        parser.error(
            f"--format {fmt} and --out {out.path} disagree: the suffix of --out picks the "
            f"format ({out}); drop --format"
        )


def deprecation_note(parser: argparse.ArgumentParser, message: str) -> None:
    r"""Print ``<prog>: note: <message>`` on stderr: one line, the command still runs.

    Examples
    --------
    >>> import contextlib, io
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     deprecation_note(argparse.ArgumentParser(prog="closedloop x"), "--y is deprecated.")
    >>> err.getvalue()
    'closedloop x: note: --y is deprecated.\n'
    """
    print(f"{parser.prog}: note: {message}", file=sys.stderr)


def add_format_option(
    parser: argparse.ArgumentParser,
    choices: Sequence[str] = OUTPUT_FORMATS,
    renamed: dict[str, str] | None = None,
) -> None:
    """Add ``--format`` (the output format, default ``table``) and ``--out FILE``, as everywhere.

    ``--out FILE`` writes the result to a file instead: ``.json`` where the
    command prints JSON, ``.csv`` and ``.parquet`` where it prints CSV (see
    :func:`out_suffixes`); it stores an :class:`OutputFile` in ``format``, so
    a command that writes with :func:`write_output` or :func:`write_result`
    needs no code of its own for it.

    Parameters
    ----------
    parser
        The command's parser.
    choices
        The formats the command can print.
    renamed
        Deprecated values still accepted, each with its new name (a note on
        stderr when given).

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_format_option(parser, ("table", "json"))
    >>> parser.parse_args(["--format", "json"]).format
    'json'
    >>> out = parser.parse_args(["--out", "models.json"]).format
    >>> out, out.path
    ('json', 'models.json')
    """
    renamed = renamed or {}
    parser.add_argument(
        "--format",
        choices=(*choices, *renamed),
        metavar="{" + ",".join(choices) + "}",
        default="table",
        action=_FormatAction,
        renamed=renamed,
        help=f"output format: {', '.join(choices)} (default table)",
    )
    suffixes = out_suffixes(choices)
    written = {".parquet": "the rows as Parquet", ".csv": "the rows as CSV",
               ".json": "the JSON answer"}  # fmt: skip
    parser.add_argument(
        "--out",
        dest="format",
        metavar="FILE",
        action=_OutAction,
        suffixes=suffixes,
        help="write the result to FILE instead of stdout, atomically; its suffix picks the "
        f"format: {', '.join(f'{k} {written[k]}' for k in suffixes)} (--format, if given, "
        "must agree); stderr says how many rows were written",
    )


def add_input_format_option(parser: argparse.ArgumentParser, files: str = "the files") -> None:
    """Add ``--input-format``: the format of files read, when their suffixes do not say.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_input_format_option(parser)
    >>> parser.parse_args(["--input-format", "tsv"]).input_format
    'tsv'
    """
    parser.add_argument(
        "--input-format",
        choices=INPUT_FORMATS,
        help=f"format of {files}, when their suffixes do not say",
    )


def add_db_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--db PATH``: the store file.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_db_option(parser)
    >>> parser.parse_args([]).db is None
    True
    """
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the store file (default: $CLOSEDLOOP_DB or ./closedloop.duckdb)",
    )


def add_mapping_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--map CANONICAL=YOURS ...`` and ``--mapping F.toml``: your columns' names.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_mapping_options(parser)
    >>> parser.parse_args(["--map", "user_id=cookie", "ts=time"]).map
    ['user_id=cookie', 'ts=time']
    """
    parser.add_argument(
        "--map",
        action="extend",
        nargs="+",
        metavar="CANONICAL=YOURS",
        help="rename your columns to canonical ones, e.g. --map user_id=cookie ts=time",
    )
    parser.add_argument(
        "--mapping", metavar="F.toml", help="a TOML file of column mappings ([columns], [table])"
    )


def add_model_options(
    parser: argparse.ArgumentParser, default: str | None = None, *, several: bool = False
) -> None:
    """Add ``--model NAME`` (required unless ``default``) and ``--param NAME=VALUE`` (repeatable).

    ``several``: the command also takes ``a,b,c`` or ``all`` (a comparison).

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_model_options(parser, default="linear")
    >>> args = parser.parse_args(["--param", "half_life_days=3"])
    >>> args.model, args.param
    ('linear', ['half_life_days=3'])
    """
    parser.add_argument(
        "--model",
        required=default is None,
        default=default,
        metavar="NAME",
        help="the attribution model (see `closedloop models`)"
        + ("; several separated by commas, or all, compare them" if several else "")
        + (f"; default {default}" if default else ""),
    )
    parser.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="a model parameter, e.g. --param half_life_days=3 (repeatable)",
    )


def add_by_option(parser: argparse.ArgumentParser, what: str = "report") -> None:
    """Add ``--by channel|campaign`` (default channel): the key credit is summed by.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_by_option(parser)
    >>> parser.parse_args([]).by
    'channel'
    """
    keys = "channel (default) or campaign"
    if what == "report":  # a report may be keyed by any touch column; costs split only two
        keys = (
            "channel (default), campaign, or source, medium, interaction (columns costs lack: "
            "spend, ROAS, ROI and CPA are then shown as —)"
        )
    parser.add_argument("--by", default="channel", help=f"{what} by {keys}")


def add_stage_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--stage NAME``: the conversion stage to attribute.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_stage_option(parser)
    >>> parser.parse_args(["--stage", "lead"]).stage
    'lead'
    """
    parser.add_argument(
        "--stage",
        metavar="NAME",
        help="conversion stage (default: the only one, else closed_won or purchase)",
    )


def add_journey_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--journey person|account``: what one journey follows (default ``person``).

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_journey_option(parser)
    >>> parser.parse_args([]).journey, parser.parse_args(["--journey", "account"]).journey
    ('person', 'account')
    """
    parser.add_argument(
        "--journey",
        choices=("person", "account"),
        default="person",
        help="person: one journey per person (default); account: every person linked to an "
        "account (accounts table, conversions' account_id) is one journey, so a deal is "
        "credited across its buying group's touches",
    )


def add_stage_values_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--stage-values lead=50,mql=200``: the worth of a conversion of a revenue-less stage.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_stage_values_option(parser)
    >>> parser.parse_args(["--stage-values", "lead=50,mql=200"]).stage_values
    'lead=50,mql=200'
    """
    parser.add_argument(
        "--stage-values",
        metavar="STAGE=V,...",
        help="value of one conversion of a stage without revenue, e.g. lead=50,mql=200: the "
        "report's value column is conversions × it, for a value-based ROAS",
    )


def add_calibration_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--no-calibration``: ignore the store's lift tests (calibrated by default).

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_calibration_option(parser)
    >>> parser.parse_args([]).no_calibration, parser.parse_args(["--no-calibration"]).no_calibration
    (False, True)
    """
    parser.add_argument(
        "--no-calibration",
        action="store_true",
        help="ignore lift tests (closedloop ingest lift_tests FILE): by default a channel with "
        "a lift test has its revenue and response curve scaled to agree with the experiment",
    )


def add_lookback_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--lookback-days DAYS``: how far back a touch may be credited (default 90).

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_lookback_option(parser)
    >>> parser.parse_args([]).lookback_days
    90.0
    """
    parser.add_argument(
        "--lookback-days",
        type=float,
        default=DEFAULT_LOOKBACK_DAYS,
        metavar="DAYS",
        help=f"lookback window in days (default {DEFAULT_LOOKBACK_DAYS:g})",
    )


def add_window_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--click-window-days`` and ``--view-window-days``: how long clicks and views count.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_window_options(parser)
    >>> args = parser.parse_args(["--click-window-days", "7"])
    >>> args.click_window_days, args.view_window_days
    (7.0, None)
    """
    parser.add_argument(
        "--click-window-days",
        type=float,
        metavar="DAYS",
        help="days a click (any touch but an impression) counts before a conversion "
        "(default: --lookback-days)",
    )
    parser.add_argument(
        "--view-window-days",
        type=float,
        metavar="DAYS",
        help="days a view (interaction impression) counts before a conversion "
        "(default 1, as Meta's 1-day view; 0 counts only views at the conversion instant)",
    )


def add_period_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--start`` and ``--end``: the period, inclusive dates YYYY-MM-DD.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_period_options(parser)
    >>> parser.parse_args(["--start", "2025-03-01"]).start
    datetime.date(2025, 3, 1)
    """
    parser.add_argument(
        "--start", type=parse_date, metavar="YYYY-MM-DD", help="first day (inclusive)"
    )
    parser.add_argument("--end", type=parse_date, metavar="YYYY-MM-DD", help="last day (inclusive)")


def add_interval_options(
    parser: argparse.ArgumentParser,
    *,
    ci: float | None,
    ci_help: str,
    bootstrap: int,
    bootstrap_help: str,
    seed: bool = True,
) -> None:
    """Add ``--ci LEVEL``, ``--bootstrap N`` and ``--seed S``: the same three in every command.

    ``--ci`` is the level of the intervals (e.g. 0.95), ``--bootstrap`` the
    number of resamples they come from, ``--seed`` the seed of the resampling.

    Parameters
    ----------
    parser
        The command's parser.
    ci, bootstrap
        Their defaults (``ci=None``: no intervals unless asked for).
    ci_help, bootstrap_help
        What the intervals are in this command (the default is appended).
    seed
        Whether the command takes ``--seed`` (default 0).

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_interval_options(parser, ci=None, ci_help="intervals", bootstrap=200,
    ...                      bootstrap_help="resamples")
    >>> args = parser.parse_args(["--ci", "0.9"])
    >>> args.ci, args.bootstrap, args.seed
    (0.9, 200, 0)
    """
    default = f"default {ci}" if ci is not None else "default: none"
    parser.add_argument(
        "--ci", type=float, default=ci, metavar="LEVEL", help=f"{ci_help} ({default})"
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=bootstrap,
        metavar="N",
        help=f"{bootstrap_help} (default {bootstrap})",
    )
    if seed:
        parser.add_argument(
            "--seed",
            type=int,
            default=0,
            metavar="S",
            help="seed of the bootstrap resampling (default 0)",
        )


def run_command(args: argparse.Namespace) -> int:
    r"""Run the parsed command's ``handler`` and turn what it raises into an exit status.

    0 on success; 2 for bad input or usage (a :class:`~attribution.errors.ClosedloopError`
    below 500: the message on stderr, no traceback); 1 for anything unexpected
    (with the traceback) or when the store cannot be used (busy, unreadable);
    130 when interrupted.

    Examples
    --------
    >>> import contextlib, io
    >>> def fails(args):
    ...     from attribution.errors import ParameterError
    ...     raise ParameterError("Bad --param 'x'.")
    >>> with contextlib.redirect_stderr(io.StringIO()) as err:
    ...     run_command(argparse.Namespace(command="attribute", handler=fails))
    2
    >>> err.getvalue()
    "closedloop attribute: error: Bad --param 'x'.\n"
    """
    command = args.command
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print(f"{PROG} {command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`closedloop models | head`): stop quietly, as
        # the Python docs recommend, so the interpreter's flush does not fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        return _report_error(command, exc)
    return code


def _report_error(command: str, exc: Exception) -> int:
    """Print ``exc`` as the exit-code policy says and return the exit status."""
    # Imported here: only a failing command pays for it.
    from attribution.errors import ClosedloopError, ValidationFailedError

    if isinstance(exc, ValidationFailedError):
        print(f"{PROG} {command}: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, ClosedloopError):
        print(f"{PROG} {command}: error: {exc}", file=sys.stderr)
        return 2 if exc.status < 500 else 1
    traceback.print_exception(exc)
    print(
        f"{PROG} {command}: unexpected error (a bug in closedloop); "
        "please report it with the traceback above.",
        file=sys.stderr,
    )
    return 1


def load_file(
    path: str,
    table: str,
    args: argparse.Namespace,
    *,
    rename: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    channel: str | None = None,
) -> pl.DataFrame:
    r"""Read, map and validate one file as ``closedloop ingest`` would, without a store.

    Uses ``--input-format``, ``--map`` / ``--mapping``, ``--date-format`` and
    ``--decimal`` from ``args``. One ``--map`` serves the two or three files
    of a command: an entry whose column is not in this file while the
    canonical one is was meant for another file and is skipped (``--map
    ts=time`` for touchpoints when conversions already have ``ts``).
    ``rename`` changes the mapped rows before they are validated (cost
    names); ``channel`` fills a costs file's channel where it has none.

    Raises
    ------
    attribution.errors.ValidationFailedError
        Naming the rows and fields that are not valid.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "c.csv").write_text("conversion_id,user_id,ts,stage,revenue\n"
    ...                                   "c1,u1,2024-01-02,Closed Won,10\n")
    >>> args = argparse.Namespace(input_format=None, map=None, mapping=None)
    >>> load_file(str(folder / "c.csv"), "conversions", args)["stage"].to_list()
    ['closed_won']
    """
    import polars as pl

    from attribution.errors import ValidationFailedError
    from ingest import apply_mapping, read_table, validate
    from ingest.stages import StageMap

    raw = read_table(path, args.input_format)
    if channel is not None and "channel" not in raw.columns:
        raw = raw.with_columns(pl.lit(channel).alias("channel"))
    mapping = {
        canonical: theirs
        for canonical, theirs in column_mapping(args, table).items()
        if theirs in raw.columns or canonical not in raw.columns
    }
    frame = apply_mapping(raw, table, mapping, path)
    if table == "conversions" and "stage" in frame.columns:
        frame, _ = StageMap().apply(frame)  # Salesforce / HubSpot names, as an ingest reads them
    if rename is not None:
        frame = rename(frame)
    good, problems, _ = validate(
        frame,
        table,
        path,
        date_format=getattr(args, "date_format", None),
        decimal=getattr(args, "decimal", "."),
    )
    if problems:
        raise ValidationFailedError(problems, getattr(problems, "total", len(problems)))
    return good


def add_file_options(parser: argparse.ArgumentParser, *, costs: bool = False) -> None:
    """Add ``--touchpoints``, ``--conversions``, ``--identities`` (``--costs``) and their formats.

    What a reporting command (``paths``, ``timeseries``) reads instead of the
    store; :func:`report_services` opens them.

    Examples
    --------
    >>> parser = argparse.ArgumentParser()
    >>> add_file_options(parser, costs=True)
    >>> args = parser.parse_args(["--touchpoints", "t.csv", "--conversions", "c.csv"])
    >>> args.touchpoints, args.costs, args.no_stitch
    ('t.csv', None, False)
    """
    parser.add_argument("--touchpoints", metavar="FILE", help="read this file ...")
    parser.add_argument("--conversions", metavar="FILE", help="... with these conversions")
    if costs:
        parser.add_argument("--costs", metavar="FILE", help="... and this spend (optional)")
    parser.add_argument(
        "--identities",
        metavar="FILE",
        help="... and these id pairs (anonymous_id, user_id) to stitch persons from",
    )
    parser.add_argument(
        "--no-stitch",
        action="store_true",
        help="use the raw user_id: do not stitch ids into persons with the identities",
    )
    add_input_format_option(parser, "those files")
    parser.add_argument(
        "--date-format",
        metavar="FMT",
        help="strftime format of those files' timestamps (default: ISO 8601 and the like)",
    )
    parser.add_argument(
        "--decimal",
        choices=(".", ","),
        default=".",
        metavar="SEP",
        help="decimal separator of money in those files: . (default) or ,",
    )
    add_mapping_options(parser)


def report_services(args: argparse.Namespace) -> Services:
    """Return the services over the files given (:func:`add_file_options`), else the store or lake.

    Raises
    ------
    attribution.errors.ParameterError
        When only one of ``--touchpoints`` / ``--conversions`` is given, or
        files together with ``--db`` or a lake.

    Examples
    --------
    >>> args = argparse.Namespace(touchpoints="t.csv", conversions=None)
    >>> report_services(args)
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Reading files needs both --touchpoints and --conversions.
    """
    from api.services import Services
    from attribution.errors import ParameterError

    touchpoints, conversions = args.touchpoints, args.conversions
    costs = getattr(args, "costs", None)
    if touchpoints is None and conversions is None:
        for flag, value in (("--costs", costs), ("--identities", args.identities)):
            if value is not None:
                raise ParameterError(f"{flag} goes with --touchpoints and --conversions.")
        return open_services(args)
    if touchpoints is None or conversions is None:
        raise ParameterError("Reading files needs both --touchpoints and --conversions.")
    if args.db is not None or args.lake is not None or args.engine == "spark":
        raise ParameterError(
            "Give either a store (--db) or lake (--engine spark --lake DIR), or files "
            "(--touchpoints and --conversions), not both."
        )
    if args.identities is not None and args.no_stitch:
        raise ParameterError("Give either --identities or --no-stitch, not both.")
    return Services.for_frames(
        load_file(touchpoints, "touchpoints", args),
        load_file(conversions, "conversions", args),
        load_file(costs, "costs", args) if costs else None,
        identities=load_file(args.identities, "identities", args) if args.identities else None,
        name=f"'{Path(conversions).name}'",
    )


__all__ = [
    "ADAPTERS",
    "BUDGET_PERIODS",
    "CURVE_KINDS",
    "DEFAULT_BUDGET_CI",
    "DEFAULT_CAP_MULTIPLE",
    "DEFAULT_LOOKBACK_DAYS",
    "DEFAULT_MAX_CHANGE",
    "DEFAULT_MAX_COMPONENT_SIZE",
    "DEFAULT_RESAMPLES",
    "FUNNEL_ASSIGNMENTS",
    "FUNNEL_GROUPINGS",
    "INPUT_FORMATS",
    "OUTPUT_FORMATS",
    "OUT_FORMATS",
    "PROG",
    "REDRAW_SECONDS",
    "TABLES",
    "DeprecatedAlias",
    "OutputFile",
    "Progress",
    "ProgressLine",
    "add_by_option",
    "add_db_option",
    "add_file_options",
    "add_format_option",
    "add_input_format_option",
    "add_interval_options",
    "add_journey_option",
    "add_lookback_option",
    "add_mapping_options",
    "add_model_options",
    "add_period_options",
    "add_stage_option",
    "add_stage_values_option",
    "add_window_options",
    "column_mapping",
    "deprecation_note",
    "load_file",
    "open_store",
    "out_suffixes",
    "output_file",
    "parse_date",
    "parse_params",
    "report_services",
    "run_command",
    "terminal_listening",
    "terminal_progress",
    "usage_error",
    "warn_csv",
    "write_output",
    "write_result",
]
