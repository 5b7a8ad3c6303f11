"""What `make demo` runs: ingest the example data, compare every model, report, serve the API.

Every step is a ``closedloop`` CLI command, so the output shows what a user
would type. Re-running is safe: the store is keyed, a second ingest reports
every row unchanged.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from api.cli import main as closedloop

DATA = Path(__file__).parent / "data"


def run(*args: str) -> None:
    """Echo and run one ``closedloop`` command; stop the demo if it fails."""
    print(f"\n$ closedloop {shlex.join(args)}", flush=True)
    code = closedloop(list(args))
    if code != 0:
        sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="examples/demo.duckdb")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    parser.add_argument("--no-serve", action="store_true", help="stop after the reports")
    options = parser.parse_args(argv)
    db = options.db

    for table in ("touchpoints", "conversions", "costs"):
        run("ingest", table, str(DATA / f"{table}.csv"), "--db", db)
    run("attribute", "--model", "markov", "--stage", "closed_won", "--db", db)
    # GA4's model comparison: two rule-based models against Markov (--models all for every one).
    run("compare", "--models", "markov,last_touch,linear", "--stage", "closed_won", "--db", db)
    run("attribute", "--model", "markov", "--by", "campaign", "--stage", "closed_won", "--db", db)
    run("paths", "--stage", "closed_won", "--top", "5", "--db", db)
    run("budget", "plan", "--model", "markov", "--stage", "closed_won", "--threshold", "3",
        "--attribution-bootstrap", "50", "--db", db)  # fmt: skip
    run("funnel", "--by", "channel", "--db", db)
    run("funnel", "--by", "owner", "--db", db)
    report = Path(db).parent / "report.html"
    run("report", "--db", db, "--out", str(report))
    print(f"\nHTML report: {report} (open it in a browser; it works offline)", flush=True)
    if not options.no_serve:
        print(f"dashboard at http://{options.host}:{options.port}/ once the server is up")
        run("serve", "--db", db, "--host", options.host, "--port", str(options.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
