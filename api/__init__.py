"""closedloop's interfaces and the application layer they share.

- :mod:`api.services`: the application services — validated query objects
  in, result objects out (JSON, CSV, Parquet, terminal table); one
  consistent store snapshot per query, results cached by ``data_version``.
  Free of FastAPI and argparse.
- :mod:`api.http`: the FastAPI app (``api.http.app.create_app``); routes
  only parse, call one service and format.
- :mod:`api.cli`: the ``closedloop`` console script (``api.cli.main``), one
  module per command.
- :mod:`api.report`: the self-contained HTML report.

No model logic lives here. See ``docs/architecture.md``.
"""
