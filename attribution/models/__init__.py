"""The model registry: every attribution model by name, in one place.

Built-in models are listed explicitly below, so ``grep`` finds them and import
order cannot change the result. User models come in through the same door with
:func:`register_model`.
"""

from __future__ import annotations

import re
from typing import Any

from attribution.errors import DuplicateModelError, ParameterError, UnknownModelError
from attribution.models.base import AttributionModel, ParamSpec
from attribution.models.first_touch import FirstTouch
from attribution.models.full_path import FullPath
from attribution.models.last_non_direct import LastNonDirect
from attribution.models.last_touch import LastTouch
from attribution.models.linear import Linear
from attribution.models.markov import Markov
from attribution.models.position_based import PositionBased
from attribution.models.resampling import Resampler, ResampleSpec
from attribution.models.shapley import Shapley
from attribution.models.shapley_counterfactual import ShapleyCounterfactual
from attribution.models.shapley_ordered import ShapleyOrdered
from attribution.models.time_decay import TimeDecay
from attribution.models.u_shaped import UShaped
from attribution.models.w_shaped import WShaped


def _index(*classes: type[AttributionModel]) -> dict[str, type[AttributionModel]]:
    index: dict[str, type[AttributionModel]] = {}
    for cls in classes:
        if cls.name in index:
            first, second = index[cls.name].__name__, cls.__name__
            raise DuplicateModelError(f"Duplicate model name '{cls.name}' ({first} and {second}).")
        index[cls.name] = cls
    return index


BUILTIN_MODELS: dict[str, type[AttributionModel]] = _index(
    FirstTouch,
    LastTouch,
    LastNonDirect,
    Linear,
    TimeDecay,
    PositionBased,
    Markov,
    Shapley,
    ShapleyOrdered,
    ShapleyCounterfactual,
    UShaped,
    WShaped,
    FullPath,
)
MODELS: dict[str, type[AttributionModel]] = dict(BUILTIN_MODELS)
"""Every registered model class by name."""


def register_model(cls: type[AttributionModel]) -> type[AttributionModel]:
    """Register a user model class under its ``name`` (usable as a decorator).

    Raises
    ------
    DuplicateModelError
        If the name is taken, by a built-in or another user model.

    Examples
    --------
    >>> import dataclasses, typing
    >>> @register_model
    ... @dataclasses.dataclass(frozen=True, kw_only=True)
    ... class Halves(Linear):
    ...     name: typing.ClassVar[str] = "halves_example"
    ...     summary: typing.ClassVar[str] = "example"
    >>> "halves_example" in available_models()
    True
    >>> _ = MODELS.pop("halves_example")
    """
    if cls.name in MODELS:
        kind = "built-in" if cls.name in BUILTIN_MODELS else "registered"
        raise DuplicateModelError(
            f"Cannot register {cls.__name__} as '{cls.name}': that name is already a {kind} "
            f"model ({MODELS[cls.name].__name__}). Choose another name."
        )
    MODELS[cls.name] = cls
    return cls


def available_models() -> list[str]:
    """Return the sorted names of every registered model.

    Examples
    --------
    >>> available_models()[:3]
    ['first_touch', 'full_path', 'last_non_direct']
    """
    return sorted(MODELS)


def model_class(name: str) -> type[AttributionModel]:
    """Return the class registered as ``name``.

    Examples
    --------
    >>> model_class("linear").__name__
    'Linear'
    """
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModelError(name, MODELS) from None


def model_label(name: str) -> str:
    """Return the name people read for the model registered as ``name``.

    Unknown names come back unchanged, so a label never fails a report.

    Examples
    --------
    >>> model_label("shapley_counterfactual"), model_label("time_decay"), model_label("x")
    ('Data-driven (counterfactual Shapley)', 'Time decay', 'x')
    """
    cls = MODELS.get(name)
    return (cls.label or cls.name) if cls is not None else name


def get_model(name: str, **params: Any) -> AttributionModel:
    """Build the model registered as ``name`` with the given parameters.

    Parameters given as strings (from a command line or a query string) are
    converted to the parameter's type.

    Examples
    --------
    >>> get_model("time_decay", half_life_days="3")
    TimeDecay(half_life_days=3.0)
    >>> get_model("markov", order="2").order, get_model("markov", order="auto").order
    (2, 'auto')
    """
    cls = model_class(name)
    specs = {spec.name: spec for spec in cls.param_specs()}
    unknown = sorted(set(params) - set(specs))
    if unknown:
        accepted = ", ".join(specs) if specs else "none"
        raise ParameterError(
            f"Unknown parameter(s) for model '{name}': {', '.join(unknown)}. Accepted: {accepted}."
        )
    converted = {key: _convert(name, specs[key], value) for key, value in params.items()}
    return cls(**converted)


_TRUE = {"true", "1", "yes", "on"}
_DECIMAL_INTEGER = re.compile(r"-?[0-9]+")
"""An integer parameter given as text: plain decimal digits, an optional leading minus."""
_FALSE = {"false", "0", "no", "off"}


def _convert(model: str, spec: ParamSpec, value: Any) -> Any:
    kind = spec.type
    try:
        if kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError(value)
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            if isinstance(value, str) and not _DECIMAL_INTEGER.fullmatch(value):
                raise ValueError(value)  # int() also reads "+5", "1_000" and " 5 "
            return int(value)
        if kind == "float":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if kind == "int | str":
            # An integer, or a keyword such as Markov's order="auto": a string
            # that reads as an integer is one ("2" from a query string).
            if isinstance(value, str):
                return int(value) if _DECIMAL_INTEGER.fullmatch(value) else value
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"The '{spec.name}' parameter of model '{model}' must be {_ARTICLE[kind]}. "
            f"Got {value!r} instead."
        ) from None
    return value


_ARTICLE = {
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
    "int | str": "an integer or a keyword",
}

__all__ = [
    "MODELS",
    "AttributionModel",
    "FirstTouch",
    "FullPath",
    "LastNonDirect",
    "LastTouch",
    "Linear",
    "Markov",
    "PositionBased",
    "ResampleSpec",
    "Resampler",
    "Shapley",
    "ShapleyCounterfactual",
    "ShapleyOrdered",
    "TimeDecay",
    "UShaped",
    "WShaped",
    "available_models",
    "get_model",
    "model_class",
    "model_label",
    "register_model",
]
