"""Guard tests: the public names of each package are sorted, complete and importable.

As in httpx's ``test_exported_members.py``: ``__all__`` is the public API, so every
name in it must import, and every public name the package defines must be listed.
"""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = ["attribution", "ingest"]


def _package(name: str) -> types.ModuleType:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            pytest.skip(f"package {name!r} does not exist yet")
        raise
    if getattr(module, "__file__", None) is None:
        pytest.skip(f"{name!r} is a namespace package with no __init__.py yet")
    return module


def ruff_order(member: str) -> tuple[int, str]:
    """Sort key of ruff's RUF022 (isort style): CONSTANTS, then Classes, then functions."""
    if member.isupper():
        return (0, member)
    if member[:1].isupper():
        return (1, member)
    return (2, member)


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_unique(name: str) -> None:
    module = _package(name)
    exported = list(module.__all__)
    assert exported == sorted(exported, key=ruff_order)
    assert len(set(exported)) == len(exported)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_is_importable(name: str) -> None:
    module = _package(name)
    for member in module.__all__:
        assert hasattr(module, member), f"{name}.__all__ lists {member!r}, which is missing"
        namespace: dict[str, object] = {}
        exec(f"from {name} import {member}", namespace)
        assert namespace[member] is getattr(module, member)


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_member_is_exported(name: str) -> None:
    module = _package(name)
    public = {
        member
        for member, value in vars(module).items()
        if not member.startswith("_")
        and not isinstance(value, types.ModuleType)
        and member not in {"annotations"}
    }
    assert public <= set(module.__all__), sorted(public - set(module.__all__))


def test_attribution_exports_the_core() -> None:
    import attribution

    assert {
        "MODELS",
        "AttributionModel",
        "AttributionReport",
        "Journeys",
        "attribute",
        "build_journeys",
        "get_model",
        "register_model",
    } <= set(attribution.__all__)
