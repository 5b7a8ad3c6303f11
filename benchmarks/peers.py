"""The peers of the pipeline section: other packages' Markov attribution on the same data.

Each peer is one fresh process (a child of this file), timed from spawn to exit
by :mod:`benchmarks.pipeline` like closedloop's own cases, on the same
touchpoints and conversions Parquet files:

- **ChannelAttribution** (``ca``): polars reads both files, sorts the touches by
  person and time, joins each person's channels into ``"A > B > C"``, counts
  per path the conversions, their revenue and the non-converting persons
  (``total_conversions``, ``total_conversion_value``, ``total_null``: the table
  ``markov_model`` needs), then ``ChannelAttribution.markov_model(..., order=1)``
  at its defaults (simulation, ``nsim_start=1e5``, ``ncore=1``; its console
  output goes to ``/dev/null``).
- **DP6 marketing-attribution-models** (``dp6``; PyPI
  ``marketing-attribution-models``, module ``mam``, a polars rewrite of DP6's
  MAM): polars reads both files and flags every touch of a person who
  converted; ``mam.MAM(format_type="session", ...)`` builds the journeys itself
  (its own sort by person and time, one journey per person), then
  ``run_markov()`` at its defaults (``transition_to_same_state=False``). It has
  no input for conversion value in its Markov removal effects, so it gets
  conversion flags only. It is not a dependency of closedloop: the first run
  installs it with pip into ``benchmarks/.peers/`` (``--no-deps``, next to the
  environment's own polars, pandas, numpy and scipy, plus ``plotly``, which
  ``mam`` imports), and the child puts that folder on ``sys.path``.

Every child prints one JSON line: the per-channel shares of its normalised
removal effects (to compare with closedloop's Markov shares), the distinct
paths or journeys, and how its time splits between building the paths and the
model.

Run as a script::

    python benchmarks/peers.py ca TOUCHPOINTS.parquet CONVERSIONS.parquet
    python benchmarks/peers.py dp6 TOUCHPOINTS.parquet CONVERSIONS.parquet
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
PEERS_DIR = HERE.parent / ".peers"
DP6_DIR = PEERS_DIR / "dp6"
DP6_REQUIREMENT = "marketing-attribution-models==2.1.1"
DP6_EXTRA = ("plotly",)
"""What ``mam`` imports beyond closedloop's own dependencies."""
INSTALL_TIMEOUT = 300.0


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Send file descriptor 1 (Python's and C++'s stdout) to ``/dev/null`` for a while."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def _shares(names: Any, values: Any) -> dict[str, float]:
    pairs = [(str(n).strip(), float(v)) for n, v in zip(names, values, strict=True)]
    total = sum(v for _, v in pairs)
    return {n: (v / total if total else 0.0) for n, v in pairs}


# --------------------------------------------------------------------------- availability


def channelattribution_version() -> str | None:
    """The installed ChannelAttribution version, if it is installed."""
    if importlib.util.find_spec("ChannelAttribution") is None:
        return None
    try:
        return metadata.version("ChannelAttribution")
    except metadata.PackageNotFoundError:
        return "unknown version"


def dp6_installed() -> bool:
    """Whether ``benchmarks/.peers/dp6`` holds the ``mam`` package."""
    return (DP6_DIR / "mam" / "__init__.py").exists()


def dp6_version() -> str:
    """The version of the DP6 package in ``benchmarks/.peers/dp6``."""
    for info in DP6_DIR.glob("marketing_attribution_models-*.dist-info"):
        return info.name.removeprefix("marketing_attribution_models-").removesuffix(".dist-info")
    return DP6_REQUIREMENT.split("==")[-1]


def ensure_dp6(install: bool) -> str | None:
    """Install the DP6 peer into ``benchmarks/.peers/dp6`` if needed; ``None`` or why not."""
    if dp6_installed():
        return None
    if not install:
        return "not installed (the first full run installs it into benchmarks/.peers/)"
    extra = [p for p in DP6_EXTRA if importlib.util.find_spec(p) is None]
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-deps", "--target", str(DP6_DIR), DP6_REQUIREMENT, *extra]  # fmt: skip
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"not installable: {type(error).__name__}: {error}"
    if done.returncode != 0 or not dp6_installed():
        lines = [x for x in (done.stderr + done.stdout).splitlines() if x.strip()]
        return f"not installable: {lines[-1] if lines else f'pip exit {done.returncode}'}"
    return None


# --------------------------------------------------------------------------- children


def channelattribution(touchpoints: str, conversions: str) -> dict[str, Any]:
    """Paths with polars, then ChannelAttribution's ``markov_model(order=1)``."""
    import polars as pl

    started = time.perf_counter()
    per_person = (
        pl.scan_parquet(conversions)
        .group_by("user_id")
        .agg(pl.len().alias("n"), pl.col("revenue").fill_null(0.0).sum().alias("value"))
    )
    paths = (
        pl.scan_parquet(touchpoints)
        .select("user_id", "ts", "channel")
        .sort("user_id", "ts")
        .group_by("user_id", maintain_order=True)
        .agg(pl.col("channel").str.join(" > ").alias("path"))
        .join(per_person, on="user_id", how="left")
        .group_by("path")
        .agg(
            pl.col("n").fill_null(0).sum().cast(pl.Float64).alias("total_conversions"),
            pl.col("value").fill_null(0.0).sum().alias("total_conversion_value"),
            pl.col("n").is_null().sum().cast(pl.Float64).alias("total_null"),
        )
        .collect()
    )
    frame = paths.to_pandas()
    built = time.perf_counter()
    with _quiet():
        import ChannelAttribution as ca  # type: ignore[import-untyped]

        result = ca.markov_model(
            frame,
            "path",
            "total_conversions",
            var_value="total_conversion_value",
            var_null="total_null",
            order=1,
        )
    done = time.perf_counter()
    return {
        "shares": _shares(result["channel_name"], result["total_conversions"]),
        "distinct_paths": paths.height,
        "paths_s": built - started,
        "model_s": done - built,
    }


def dp6(touchpoints: str, conversions: str) -> dict[str, Any]:
    """DP6's ``mam``: its own journeys from the touches, then ``run_markov()``."""
    sys.path.append(str(DP6_DIR))
    import polars as pl

    started = time.perf_counter()
    converted = pl.scan_parquet(conversions).select("user_id").unique().collect()["user_id"]
    sessions = (
        pl.scan_parquet(touchpoints)
        .select("user_id", "ts", "channel")
        .with_columns(pl.col("user_id").is_in(converted.implode()).alias("has_conversion"))
        .collect()
    )
    read = time.perf_counter()
    with _quiet():
        from mam import MAM  # type: ignore[import-not-found]

        model = MAM(
            sessions,
            format_type="session",
            channels_colname="channel",
            journey_with_conv_colname="has_conversion",
            datetime_colname="ts",
            user_id_colname="user_id",
        )
        built = time.perf_counter()
        result = model.run_markov()
    done = time.perf_counter()
    effects = result.metadata["removal_effect"]
    return {
        "shares": _shares(effects.index, effects["removal_effect"]),
        "journeys": model.unified_df.height,
        "read_s": read - started,
        "paths_s": built - read,
        "model_s": done - built,
    }


def main(argv: list[str]) -> int:
    """The peer children."""
    if len(argv) == 3 and argv[0] == "ca":
        print(json.dumps(channelattribution(argv[1], argv[2])))
    elif len(argv) == 3 and argv[0] == "dp6":
        print(json.dumps(dp6(argv[1], argv[2])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
