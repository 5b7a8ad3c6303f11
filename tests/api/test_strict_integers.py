"""Integer and float query parameters take plain decimal notation only, on every route.

Pydantic's lax mode reads ``+0.0``, ``1_000``, `` 7`` and ``1e3`` as integers;
closedloop answers them with a 422 problem naming the parameter instead. The
rule lives in one place (:data:`api.http.params.DecimalDigits`); the first
test fails when a route declares an integer query parameter without it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.params import DecimalDigits, DecimalNumber
from api.http.settings import Settings


def _query_params(dependant: Dependant) -> Iterator[typing.Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_params(sub)


def _is_integer(annotation: object, kind: type = int) -> bool:
    if annotation is kind:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return kind in typing.get_args(annotation)
    return False


def _api_routes(routes: typing.Sequence[object]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # an included router's routes
        if included is not None:
            yield from _api_routes(included.routes)


def _integer_query_params(tmp_path: Path, kind: type = int) -> list[tuple[str, str, list[object]]]:
    app = create_app(Settings(db_path=tmp_path / "strict.duckdb"))
    return [
        (route.path, param.alias, list(param.field_info.metadata))
        for route in _api_routes(app.routes)
        for param in _query_params(route.dependant)
        if _is_integer(param.field_info.annotation, kind)
    ]


def test_every_integer_query_parameter_takes_decimal_digits_only(tmp_path: Path) -> None:
    found = _integer_query_params(tmp_path)
    assert {name for _, name, _ in found} >= {"top", "limit", "bootstrap", "seed"}
    lax = [f"{path} ?{name}=" for path, name, metadata in found if DecimalDigits not in metadata]
    assert not lax, f"integer query parameters without DecimalDigits: {lax}"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(db_path=tmp_path / "strict.duckdb")))


@pytest.mark.parametrize("value", ["%2B0.0", "1_000", "%201", "1e3", "3.0", "%D9%A3", "0x10", ""])
def test_lax_integers_are_a_problem_naming_the_parameter(client: TestClient, value: str) -> None:
    response = client.get(f"/v1/models?limit={value}")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["detail"].startswith(
        "Query parameter 'limit': Input should be a whole number in plain decimal digits"
    )
    assert body["errors"][0]["field"] == "limit"


def test_plain_digits_still_parse_and_bounds_still_apply(client: TestClient) -> None:
    assert len(client.get("/v1/models?limit=2").json()["data"]) == 2
    assert len(client.get("/v1/models?limit=007").json()["data"]) == 7
    below = client.get("/v1/models?limit=-1")
    assert below.status_code == 422
    assert "greater than or equal to 1" in below.json()["detail"]


def test_a_post_route_names_its_integer_parameter(client: TestClient) -> None:
    records = [{"path": "a > b", "total_conversions": 1}]
    response = client.post("/v1/attribution/paths?model=linear&seed=1_0", json=records)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "seed"
    assert client.post("/v1/attribution/paths?model=linear&seed=10", json=records).is_success


@pytest.mark.parametrize("value", ["1_000", "%2B500", "500.0"])
def test_integer_model_parameters_are_strict_too(client: TestClient, value: str) -> None:
    response = client.get(f"/v1/attribution?model=shapley_counterfactual&samples={value}")
    assert response.status_code == 422
    assert response.json()["detail"].startswith(
        "The 'samples' parameter of model 'shapley_counterfactual' must be an integer."
    )


def test_every_float_query_parameter_takes_decimal_notation_only(tmp_path: Path) -> None:
    found = _integer_query_params(tmp_path, float)
    assert {name for _, name, _ in found} >= {"lookback_days", "ci", "view_window_days"}
    lax = [f"{path} ?{name}=" for path, name, metadata in found if DecimalNumber not in metadata]
    assert not lax, f"float query parameters without DecimalNumber: {lax}"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e1", "9_0", "%2090", "0x10", ""])
def test_lax_floats_are_a_problem_naming_the_parameter(client: TestClient, value: str) -> None:
    response = client.get(f"/v1/attribution?model=linear&lookback_days={value}")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(
        "Query parameter 'lookback_days': Input should be a number in plain decimal notation"
    )


@pytest.mark.parametrize("value", ["90", "0.5", "7."])
def test_plain_decimal_floats_pass_validation(client: TestClient, value: str) -> None:
    response = client.get(f"/v1/attribution?model=linear&lookback_days={value}")
    assert "plain decimal notation" not in response.text
