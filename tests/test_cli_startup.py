"""``closedloop`` starts fast: building the parser and listing models load no heavy dependency.

Each check runs a fresh interpreter (this one has imported everything).
Timings are not asserted; they are in the change notes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from api.cli import _shared

ROOT = Path(__file__).resolve().parent.parent

HEAVY = ("polars", "numpy", "scipy", "networkx", "fastapi", "uvicorn", "duckdb", "pyarrow")
"""Third-party packages that take tens to hundreds of milliseconds to import."""

HEAVY_OWN = ("attribution.models", "ingest.store", "api.services", "api.http.app")
"""Our own modules that pull them in."""


def imported_after(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the modules it had imported at the end.

    ``code`` must leave its result out of stdout: the module list is printed last.
    """
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return modules


def loaded(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if any(m == name or m.startswith(f"{name}.") for m in modules)]


def test_building_the_parser_imports_nothing_heavy() -> None:
    modules = imported_after("import api.cli\napi.cli.build_parser()")
    assert loaded(modules, HEAVY + HEAVY_OWN) == []


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import contextlib, io\nfrom api.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['--help']) == 0\n"
        "    for command in ('ingest', 'attribute', 'budget', 'funnel', 'report'):\n"
        "        assert main([command, '--help']) == 0\n"
    )
    assert loaded(imported_after(code), HEAVY + HEAVY_OWN) == []


def test_models_imports_no_solver_no_server_no_store() -> None:
    code = (
        "import contextlib, io\nfrom api.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['models']) == 0\n"
        "assert 'markov' in out.getvalue()\n"
    )
    modules = imported_after(code)
    assert loaded(modules, ("scipy", "networkx", "fastapi", "uvicorn", "duckdb")) == []


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: closedloop")


# The parser's choices and help texts use light copies of names that live in
# heavy modules; each copy must equal its source.


def test_tables_copy() -> None:
    from attribution.schema import TABLES

    assert tuple(TABLES) == _shared.TABLES


def test_adapters_copy() -> None:
    from ingest.adapters import ADAPTERS

    assert tuple(ADAPTERS) == _shared.ADAPTERS


def test_identity_default_copy() -> None:
    from ingest.identity import DEFAULT_MAX_COMPONENT_SIZE

    assert _shared.DEFAULT_MAX_COMPONENT_SIZE == DEFAULT_MAX_COMPONENT_SIZE


def test_funnel_copies() -> None:
    from attribution.funnel import ASSIGNMENTS, GROUPINGS

    assert tuple(GROUPINGS) == _shared.FUNNEL_GROUPINGS
    assert tuple(ASSIGNMENTS) == _shared.FUNNEL_ASSIGNMENTS


def test_budget_copies() -> None:
    from attribution.budget.curves import KINDS
    from attribution.budget.period import PERIODS
    from attribution.budget.plan import DEFAULT_CAP_MULTIPLE, DEFAULT_CI, DEFAULT_MAX_CHANGE

    assert tuple(KINDS) == _shared.CURVE_KINDS
    assert _shared.DEFAULT_CAP_MULTIPLE == DEFAULT_CAP_MULTIPLE
    assert _shared.DEFAULT_BUDGET_CI == DEFAULT_CI
    assert tuple(PERIODS) == _shared.BUDGET_PERIODS
    assert _shared.DEFAULT_MAX_CHANGE == DEFAULT_MAX_CHANGE


def test_input_formats_copy() -> None:
    from ingest.readers import READERS

    assert set(_shared.INPUT_FORMATS) == set(READERS)


def test_a_rule_based_answer_without_identity_pairs_imports_no_scipy() -> None:
    """SciPy (about 0.2 s) is loaded for intervals, solvers and stitching, not for every answer."""
    data = ROOT / "examples" / "data"
    code = (
        "import contextlib, io\nfrom api.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    assert main(['attribute', '--touchpoints', {str(data / 'touchpoints.csv')!r},\n"
        f"        '--conversions', {str(data / 'conversions.csv')!r}, '--model', 'linear',\n"
        "        '--format', 'json']) == 0\n"
        'assert \'"model": "linear"\' in out.getvalue()\n'
    )
    assert loaded(imported_after(code), ("scipy",)) == []
