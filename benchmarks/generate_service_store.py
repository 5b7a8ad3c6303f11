"""Write the pipeline benchmark's inputs: touchpoints, conversions, costs (Parquet).

Usage: ``python benchmarks/generate_service_store.py OUT [PERSONS]`` (default
400,000 persons, about 1.25M touchpoints). Writes ``OUT/touchpoints.parquet``,
``OUT/conversions.parquet`` and ``OUT/costs.parquet`` and prints a JSON summary.

The data (seeded; the same arguments give byte-identical files):

- **10 channels, 60 campaigns**: every campaign belongs to one channel
  (:data:`CAMPAIGNS`); a touch's campaign is drawn from its channel's
  campaigns with Zipf weights (1, 1/2, 1/3, ...).
- **Paths**: a person's first channel is drawn from seeded start
  probabilities, every next one from a seeded first-order transition matrix
  (a quarter of the mass stays on the same channel).
- **Heavy-tailed path lengths**: a person's planned length is geometric with a
  continuation probability drawn from Beta(2, 1.8) (a beta-geometric mixture,
  whose tail falls like k^-1.8), capped at :data:`MAX_TOUCHES`: about half of
  the persons have one touch, about 5% ten or more, a few hundred of each
  million the cap; about 3 touches per person on average.
- **Conversions**: every touch converts with its channel's hazard
  (:data:`HAZARD`, 0.2–2.4%); a conversion ends the person's path (30 minutes
  after its last touch), so each person is one journey: converting or not.
  About 3.5% of persons convert; revenue is lognormal (median 200, σ 0.8).
- **Time**: first touches uniform over the 90 days from 2024-01-01, then
  exponential gaps of mean 5 hours (whole seconds, at least 1), so even a
  300-touch path stays inside the default 90-day lookback and every person's
  touches have distinct timestamps (sorting by person and time is unambiguous).
- **Costs**: one row per day, channel and campaign over the days the touches
  span (``date, channel, campaign, spend, impressions, clicks``).

Persons are generated in chunks of :data:`CHUNK` with a generator seeded by
the chunk's number, and each chunk is written as its own row groups, so memory
is bounded by a chunk (50M touchpoints generate in a few minutes), and the
first persons of a larger data set are exactly those of a smaller one.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow.parquet as pq

PERSONS = 400_000
CHUNK = 500_000
"""Persons per chunk (about 1.6M touchpoints)."""
SEED = 2024
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
WINDOW_DAYS = 90
MEAN_GAP_HOURS = 5.0
MAX_TOUCHES = 300
LENGTH_BETA = (2.0, 1.8)

CAMPAIGNS: dict[str, int] = {
    "Paid Search": 10,
    "Organic Search": 4,
    "Paid Social": 10,
    "Organic Social": 3,
    "Email": 8,
    "Display": 8,
    "Affiliates": 6,
    "Direct": 1,
    "Video": 6,
    "Referral": 4,
}
"""Channels and how many campaigns each has (60 in all)."""
CHANNELS = tuple(CAMPAIGNS)
HAZARD = np.array([0.024, 0.012, 0.014, 0.004, 0.02, 0.002, 0.01, 0.022, 0.003, 0.008]) * 0.75
"""Per-touch conversion probability of each channel, in :data:`CHANNELS` order."""

IntArray = npt.NDArray[np.int64]


def campaign_names() -> list[str]:
    """Every campaign name, channel by channel: ``paid_search_01`` ..."""
    return [
        f"{channel.lower().replace(' ', '_')}_{k + 1:02d}"
        for channel, count in CAMPAIGNS.items()
        for k in range(count)
    ]


def chain() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The seeded start probabilities and first-order transition matrix of the channels."""
    rng = np.random.default_rng(SEED)
    n = len(CHANNELS)
    start = rng.dirichlet(np.full(n, 2.0))
    moves = rng.dirichlet(np.ones(n - 1), size=n) * 0.75
    transition = np.zeros((n, n))
    for c in range(n):
        transition[c, c] = 0.25
        transition[c, [d for d in range(n) if d != c]] = moves[c]
    return start, transition


def _draw(rng: np.random.Generator, cumulative: npt.NDArray[np.float64]) -> IntArray:
    """One index per row of ``cumulative`` (rows of cumulative probabilities ending at 1)."""
    u = rng.random((cumulative.shape[0], 1))
    picked: IntArray = (u >= cumulative).sum(axis=1).astype(np.int64)
    last = cumulative.shape[1] - 1
    picked[picked > last] = last
    return picked


def generate_chunk(first: int, persons: int, digits: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Touchpoints and conversions of persons ``first`` .. ``first + persons - 1``."""
    rng = np.random.default_rng([SEED, first // CHUNK])
    start_probs, transition = chain()
    start_cum, trans_cum = start_probs.cumsum(), transition.cumsum(axis=1)
    counts = np.array(list(CAMPAIGNS.values()))
    offsets = np.concatenate([[0], counts.cumsum()[:-1]])
    zipf = np.zeros((len(CHANNELS), counts.max()))
    for c, k in enumerate(counts):
        weights = 1.0 / np.arange(1, k + 1)
        zipf[c, :k] = weights.cumsum() / weights.sum()
        zipf[c, k:] = 1.0

    planned = np.minimum(rng.geometric(1.0 - rng.beta(*LENGTH_BETA, persons)), MAX_TOUCHES)
    t0 = (rng.random(persons) * WINDOW_DAYS * 86_400).astype(np.int64)
    active = np.arange(persons)
    current = _draw(rng, np.broadcast_to(start_cum, (persons, len(CHANNELS))))
    clock = t0.copy()
    taken = np.zeros(persons, dtype=np.int64)
    conversion_s = np.full(persons, -1, dtype=np.int64)
    steps: list[tuple[IntArray, int, IntArray, IntArray]] = []
    for step in range(MAX_TOUCHES):
        steps.append((active, step, current, clock))
        taken[active] = step + 1
        converts = rng.random(active.size) < HAZARD[current]
        conversion_s[active[converts]] = clock[converts] + 1_800
        going = ~converts & (planned[active] > step + 1)
        active, current, clock = active[going], current[going], clock[going]
        if active.size == 0:
            break
        current = _draw(rng, trans_cum[current])
        clock = clock + 1 + rng.exponential(MEAN_GAP_HOURS * 3_600, active.size).astype(np.int64)

    # Scatter the step-major draws into person-major rows (a person's touches in time order).
    base = np.concatenate([[0], taken.cumsum()[:-1]])
    total = int(taken.sum())
    person = np.empty(total, dtype=np.int64)
    position = np.empty(total, dtype=np.int64)
    channel = np.empty(total, dtype=np.int64)
    seconds = np.empty(total, dtype=np.int64)
    for ids, step, chans, clocks in steps:
        rows = base[ids] + step
        person[rows], position[rows], channel[rows], seconds[rows] = ids, step, chans, clocks
    campaign = offsets[channel] + _draw(rng, zipf[channel])

    epoch = pl.lit(START).cast(pl.Datetime("us", "UTC"))
    pid = (pl.col("person") + first).cast(pl.String).str.zfill(digits)
    touchpoints = pl.DataFrame({"person": person, "position": position, "seconds": seconds}).select(
        pl.format("t{}-{}", pid, pl.col("position")).alias("touchpoint_id"),
        pl.format("u{}", pid).alias("user_id"),
        (epoch + pl.duration(seconds=pl.col("seconds"))).alias("ts"),
        pl.Series("channel", CHANNELS).gather(channel),
        pl.Series("campaign", campaign_names()).gather(campaign),
    )
    converted = np.flatnonzero(conversion_s >= 0)
    revenue = np.round(rng.lognormal(np.log(200.0), 0.8, converted.size), 2)
    conversions = pl.DataFrame(
        {"person": converted, "seconds": conversion_s[converted], "revenue": revenue}
    ).select(
        pl.format("c{}", pid).alias("conversion_id"),
        pl.format("u{}", pid).alias("user_id"),
        (epoch + pl.duration(seconds=pl.col("seconds"))).alias("ts"),
        pl.lit("purchase").alias("stage"),
        pl.col("revenue").cast(pl.Float64),
    )
    return touchpoints, conversions


def costs(first_day: dt.date, last_day: dt.date) -> pl.DataFrame:
    """One seeded spend row per day, channel and campaign."""
    rng = np.random.default_rng([SEED, 999_999])
    days = pl.date_range(first_day, last_day, eager=True)
    names = campaign_names()
    owners = [channel for channel, count in CAMPAIGNS.items() for _ in range(count)]
    frame = pl.DataFrame({"date": days}).join(
        pl.DataFrame({"channel": owners, "campaign": names}), how="cross"
    )
    spend = np.round(rng.uniform(20, 400, frame.height), 2)
    impressions = rng.integers(1_000, 50_000, frame.height)
    clicks = rng.binomial(impressions, 0.02)
    return frame.with_columns(
        pl.Series("spend", spend), pl.Series("impressions", impressions),
        pl.Series("clicks", clicks),
    )  # fmt: skip


class _Writer:
    """Append polars frames to one Parquet file as row groups."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
        self.writer.write_table(table.cast(self.writer.schema))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def generate(out: Path, persons: int) -> dict[str, Any]:
    """Write the three Parquet files of ``persons`` persons under ``out``; a summary."""
    out.mkdir(parents=True, exist_ok=True)
    digits = max(6, len(str(persons - 1)))
    touch_writer = _Writer(out / "touchpoints.parquet")
    conv_writer = _Writer(out / "conversions.parquet")
    touches = conversions = 0
    last: dt.datetime | None = None
    try:
        for first in range(0, persons, CHUNK):
            tp, cv = generate_chunk(first, min(CHUNK, persons - first), digits)
            touch_writer.write(tp)
            conv_writer.write(cv)
            touches += tp.height
            conversions += cv.height
            latest = tp["ts"].max()
            assert isinstance(latest, dt.datetime)
            last = latest if last is None else max(last, latest)
    finally:
        touch_writer.close()
        conv_writer.close()
    assert last is not None
    cost = costs(START.date(), last.date())
    cost.write_parquet(out / "costs.parquet")
    return {
        "persons": persons,
        "touchpoints": touches,
        "conversions": conversions,
        "costs": cost.height,
        "touches_per_person": touches / persons,
        "conversion_rate": conversions / persons,
    }


if __name__ == "__main__":
    directory = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else PERSONS
    print(json.dumps(generate(directory, count)))
