"""First, last and linear touch equal ChannelAttribution's ``heuristic_models`` exactly.

These models are deterministic in both packages, so on the peer's own example
data (``Data.csv``) conversions and value per channel must agree to
floating-point precision. Skipped, with the reason, where the package or the
shared data is absent (failed, where the package is, under ``CI=true``).
"""

from __future__ import annotations

import importlib
import io
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from attribution import attribute_paths
from tests.conftest import require

ca: Any
pd: Any
try:
    with redirect_stdout(io.StringIO()):  # its import prints a banner
        ca = importlib.import_module("ChannelAttribution")
    pd = importlib.import_module("pandas")
except ImportError:
    ca = pd = None

DATA_CSV = (
    Path(__file__).resolve().parents[2]
    / ".."
    / "shared"
    / "data"
    / "real"
    / "channelattribution_pathdata"
    / "Data.csv"
)


@pytest.fixture(scope="module", autouse=True)
def _reference_and_data() -> None:
    """Skip without the peer (``make test`` installs it; under ``CI=true``, fail) or its data."""
    require(ca is not None, "the channelattribution package (with pandas) is not installed")
    if not DATA_CSV.is_file():
        pytest.skip(f"shared real data not found at {DATA_CSV}")


PAIRS = {"first_touch": "first_touch", "last_touch": "last_touch", "linear": "linear_touch"}


@pytest.fixture(scope="module")
def theirs() -> pl.DataFrame:
    table = pd.read_csv(DATA_CSV, sep=";")
    with redirect_stdout(io.StringIO()):
        result = ca.heuristic_models(
            table,
            var_path="path",
            var_conv="total_conversions",
            var_value="total_conversion_value",
        )
    return pl.from_pandas(result).rename({"channel_name": "channel"})


@pytest.mark.parametrize("model", list(PAIRS))
def test_heuristics_equal_channelattribution(model: str, theirs: pl.DataFrame) -> None:
    ours = attribute_paths(pl.read_csv(DATA_CSV, separator=";"), model=model).data
    name = PAIRS[model]
    joined = ours.join(
        theirs.select(
            "channel",
            pl.col(f"{name}_conversions").alias("ca_conversions"),
            pl.col(f"{name}_value").alias("ca_value"),
        ),
        on="channel",
        how="full",
        coalesce=True,
    )
    assert joined.height == 12
    for ours_value, their_value in joined.select("conversions", "ca_conversions").iter_rows():
        assert ours_value == pytest.approx(their_value, rel=1e-12, abs=1e-9)
    for ours_value, their_value in joined.select("revenue", "ca_value").iter_rows():
        assert ours_value == pytest.approx(their_value, rel=1e-12, abs=1e-9)
