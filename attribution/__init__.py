"""closedloop's attribution engine: journeys, models and metrics on polars frames.

Pure computation: no files, no HTTP, no database. Everything here can be
called from a notebook with two frames::

    import attribution
    report = attribution.attribute(touchpoints, conversions, costs, model="markov")
    print(report)

Aggregated paths (ChannelAttribution's ``path, total_conversions, ...``) go
through :func:`attribute_paths` instead.

Layout:

- :mod:`attribution.constants`, :mod:`attribution.errors`,
  :mod:`attribution.schema`: the shared vocabulary (light: the ingest
  package imports them);
- :mod:`attribution.journeys`, :mod:`attribution.paths`: touches and
  conversions into journeys, aggregated path tables;
- :mod:`attribution.models`: every attribution model, one module each, one
  registry;
- :mod:`attribution.markov`, :mod:`attribution.shapley`: the chain and the
  Shapley values the data-driven models stand on;
- :mod:`attribution.uncertainty`: the person-level bootstrap;
- :mod:`attribution.report`, :mod:`attribution.compare`,
  :mod:`attribution.timeseries`, :mod:`attribution.pathstats`,
  :mod:`attribution.funnel`, :mod:`attribution.budget`: what is reported.

The names below are loaded on first use (PEP 562), so ``import
attribution.errors`` does not import the models, SciPy or NetworkX.

Examples
--------
>>> import attribution
>>> attribution.get_model("linear")
Linear()
"""

from __future__ import annotations

import importlib
import importlib.util
import typing

if typing.TYPE_CHECKING:
    from attribution.errors import (
        ClosedloopError,
        DuplicateModelError,
        EmptyInputError,
        InputError,
        MissingColumnsError,
        ParameterError,
        UnknownModelError,
    )
    from attribution.journeys import Journeys, build_journeys
    from attribution.metrics import cpa, roas, roi
    from attribution.models import (
        MODELS,
        AttributionModel,
        available_models,
        get_model,
        model_class,
        register_model,
    )
    from attribution.paths import PathsReport, attribute_paths, journeys_from_paths
    from attribution.report import AttributionReport, attribute, credit_touches
    from attribution.uncertainty import BootstrapDraws, bootstrap_totals

_HOMES = {
    "attribution.errors": (
        "ClosedloopError",
        "DuplicateModelError",
        "EmptyInputError",
        "InputError",
        "MissingColumnsError",
        "ParameterError",
        "UnknownModelError",
    ),
    "attribution.journeys": ("Journeys", "build_journeys"),
    "attribution.metrics": ("cpa", "roas", "roi"),
    "attribution.models": (
        "MODELS",
        "AttributionModel",
        "available_models",
        "get_model",
        "model_class",
        "register_model",
    ),
    "attribution.paths": ("PathsReport", "attribute_paths", "journeys_from_paths"),
    "attribution.report": ("AttributionReport", "attribute", "credit_touches"),
    "attribution.uncertainty": ("BootstrapDraws", "bootstrap_totals"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "MODELS",
    "AttributionModel",
    "AttributionReport",
    "BootstrapDraws",
    "ClosedloopError",
    "DuplicateModelError",
    "EmptyInputError",
    "InputError",
    "Journeys",
    "MissingColumnsError",
    "ParameterError",
    "PathsReport",
    "UnknownModelError",
    "attribute",
    "attribute_paths",
    "available_models",
    "bootstrap_totals",
    "build_journeys",
    "cpa",
    "credit_touches",
    "get_model",
    "journeys_from_paths",
    "model_class",
    "register_model",
    "roas",
    "roi",
]


def __getattr__(name: str) -> typing.Any:
    """Import a public name (or a submodule) on first use, then keep it here (PEP 562)."""
    module = _HOME.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the module's names, the lazily loaded public ones included."""
    return sorted(set(globals()) | set(__all__))
