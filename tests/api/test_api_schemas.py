"""The documented response models describe what the routes really answer."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from api.http.schemas import (
    AttributionPublic,
    ComparePublic,
    FunnelPublic,
    HealthPublic,
    PathsPublic,
    TimeSeriesPublic,
)

from .conftest import TestClient


@pytest.mark.parametrize(
    ("url", "schema"),
    [
        ("/v1/health", HealthPublic),
        ("/v1/attribution?model=linear", AttributionPublic),
        ("/v1/attribution?model=markov&ci=0.9&bootstrap=20&limit=1", AttributionPublic),
        ("/v1/compare?models=first_touch,linear", ComparePublic),
        ("/v1/paths", PathsPublic),
        ("/v1/timeseries?metric=spend&interval=day", TimeSeriesPublic),
        ("/v1/funnel?by=channel", FunnelPublic),
    ],
)
def test_answers_validate_against_their_documented_model(
    client: TestClient, url: str, schema: type[BaseModel]
) -> None:
    response = client.get(url)
    assert response.status_code == 200, response.text
    schema.model_validate(response.json(), strict=False)


def test_row_models_are_typed_not_plain_dicts(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    for name in ("AttributionPublic", "ComparePublic", "PathsPublic", "TimeSeriesPublic"):
        items = components[name]["properties"]["data"]["items"]
        assert "$ref" in items, f"{name}.data rows are untyped"
