"""The import architecture: no cycles, four layers, and a light schema-and-errors core.

The graph is built by grimp over ``attribution``, ``ingest``, ``engine`` and ``api``
with *every* import statement: top-level ones, function-level ones and those
under ``if TYPE_CHECKING:``. A function-level import written only to dodge a
cycle is still an edge, so it still makes the cycle.

Rules:

1. **No cycles.** A cycle is a strongly connected component of more than one
   module in the module graph. Every edge counts, a package's ``__init__``
   included: ``import attribution.markov.chain`` runs
   ``attribution/markov/__init__.py`` first, so a submodule that imports its
   own package while that package re-exports it is a cycle too. (No
   exception is needed today; a package whose ``__init__`` re-exports from a
   submodule must not be imported back by that submodule: import the
   defining module instead.)
2. **Layers**, lowest first: ``attribution`` (pure computation) ← ``ingest``
   (files and the store) ← ``engine`` (journeys and paths where the data
   lives) ← ``api`` (services, HTTP and CLI). A layer imports only layers
   below it.
3. **A light core.** What ingest needs from ``attribution`` (the schema, the
   errors, the constants) imports neither the models nor SciPy nor NetworkX:
   ``attribution/__init__.py`` loads its public names lazily, and
   ``attribution.errors`` and ``attribution.constants`` import nothing heavy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("attribution", "ingest", "engine", "api")
LAYERS = ("api", "engine", "ingest", "attribution")
"""Highest first: a package may import only the packages after it."""

HEAVY = ("scipy", "networkx", "attribution.models", "attribution.markov", "attribution.uncertainty")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False, cache_dir=None)


def edges(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    return [
        (module, imported)
        for module in sorted(graph.modules)
        for imported in sorted(graph.find_modules_directly_imported_by(module))
    ]


def describe(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
    details = graph.get_import_details(importer=importer, imported=imported)
    lines = sorted({f"line {d['line_number']}: {d['line_contents']}" for d in details})
    return f"{importer} -> {imported} ({'; '.join(lines)})"


def test_no_import_cycles(graph: grimp.ImportGraph) -> None:
    digraph = nx.DiGraph(edges(graph))
    cycles = [sorted(c) for c in nx.strongly_connected_components(digraph) if len(c) > 1]
    report = []
    for component in sorted(cycles):
        members = set(component)
        inside = [(a, b) for a, b in digraph.edges(members) if b in members]
        report.append(
            f"cycle of {len(component)} modules: {', '.join(component)}\n  "
            + "\n  ".join(describe(graph, a, b) for a, b in sorted(inside))
        )
    assert not report, "Import cycles:\n" + "\n".join(report)


def test_layers(graph: grimp.ImportGraph) -> None:
    rank = {package: i for i, package in enumerate(LAYERS)}
    illegal = [
        describe(graph, a, b)
        for a, b in edges(graph)
        if rank[a.split(".")[0]] > rank[b.split(".")[0]]
    ]
    assert not illegal, "Imports against the layers (attribution <- ingest <- engine <- api):\n" + (
        "\n".join(illegal)
    )


def loaded_after(statement: str) -> list[str]:
    """Run ``statement`` in a fresh interpreter; return which of :data:`HEAVY` it loaded."""
    code = (
        f"import json, sys\n{statement}\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    "statement",
    [
        "import attribution.errors, attribution.schema, attribution.constants",
        "import ingest.validate, ingest.readers, ingest.mapping, ingest.loader",
        "import ingest",
        "import attribution",
    ],
)
def test_schema_and_errors_are_light(statement: str) -> None:
    assert loaded_after(statement) == []


def test_attribution_loads_its_names_on_first_use() -> None:
    loaded = loaded_after("import attribution\nattribution.get_model('markov')")
    assert "attribution.models" in loaded


def test_public_names_are_listed_and_reachable() -> None:
    import attribution

    assert set(attribution.__all__) <= set(dir(attribution))
    for name in attribution.__all__:
        assert getattr(attribution, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        _ = attribution.not_a_name
