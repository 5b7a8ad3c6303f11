"""The README stays honest: every model is in its table, every CLI command it shows exists."""

from __future__ import annotations

import re
from pathlib import Path

from attribution import MODELS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_model_is_in_the_readme_table() -> None:
    rows = {m.group(1) for m in re.finditer(r"^\| `([a-z_]+)` \|", README, flags=re.MULTILINE)}
    missing = sorted(set(MODELS) - rows)
    assert not missing, f"README model table lacks: {missing}"


def test_every_model_parameter_is_documented() -> None:
    for name, cls in MODELS.items():
        for spec in cls.param_specs():
            assert f"{spec.name}" in README, f"README does not mention {name}.{spec.name}"


def test_readme_starts_with_the_two_commands() -> None:
    head = README[: README.index("## ")] if "## " in README else README
    assert "make demo" in README[:3000]
    assert "make test" in README[:3000]
    assert head


def test_ci_runs_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_services_example_runs(tmp_path: Path) -> None:
    from ingest import Store, ingest_files

    store = Store(tmp_path / "demo.duckdb")
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [ROOT / "examples" / "data" / f"{table}.csv"])
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    block = next(b for b in blocks if "Services.for_store" in b)
    code = block.replace('"examples/demo.duckdb"', repr(str(store.path)))
    exec(compile(code, "README.md", "exec"), {})
