"""Write the 1M-touchpoint inputs of benchmarks/SERVICE.md: touchpoints, conversions, costs.

About 2.5 touches per person, 8 channels, ~5% of persons converting, one
stage (``purchase``), a daily cost row per channel; seeded, byte-identical
across runs. Usage: ``python benchmarks/generate_service_store.py OUT [PERSONS]``.
"""

import sys
from pathlib import Path

import numpy as np
import polars as pl

from attribution.simulate import ChainSpec, random_chain, simulate_markov_journeys

PERSONS = 400_000
CONV_SCALE = 0.155

out = Path(sys.argv[1])
persons = int(sys.argv[2]) if len(sys.argv) > 2 else PERSONS
spec = random_chain(8, seed=7)
t = spec.transition.copy()
n = len(spec.channels)
conv = t[:, n].copy()
t[:, n] = conv * CONV_SCALE
t[:, n + 1] += conv * (1 - CONV_SCALE)
spec = ChainSpec(channels=spec.channels, start_probs=spec.start_probs, transition=t)
tp, cv = simulate_markov_journeys(persons, **spec.as_kwargs(), seed=11)
rng = np.random.default_rng(13)
cv = cv.with_columns(
    pl.Series("revenue", np.round(rng.lognormal(np.log(200.0), 0.8, cv.height), 2))
)
days = pl.date_range(tp["ts"].min().date(), tp["ts"].max().date(), eager=True)
rng = np.random.default_rng(17)
costs = pl.DataFrame({"date": days}).join(
    pl.DataFrame({"channel": list(spec.channels)}), how="cross"
)
costs = costs.with_columns(pl.Series("spend", np.round(rng.uniform(50, 500, costs.height), 2)))
out.mkdir(parents=True, exist_ok=True)
tp.write_parquet(out / "touchpoints.parquet")
cv.write_parquet(out / "conversions.parquet")
costs.write_parquet(out / "costs.parquet")
