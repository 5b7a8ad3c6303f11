"""The engine: the work that grows with raw data, defined once, run where the data lives.

Journey building and path aggregation are written once as SQL
(:mod:`engine.sql`) and run by DuckDB inside a store snapshot
(:mod:`engine.paths`); only distinct paths come back to Python, so what the
models read is bounded by distinct paths, not by raw touches. The polars
path (:func:`attribution.build_journeys`) stays the reference and serves
frames held in memory.
"""
