"""Importing :mod:`api.http.app` writes nothing: the store file is opened on first request.

``pytest`` imports every module under ``api/`` to collect its doctests, from
the repository root; ``app = create_app()`` at import must not leave a
``closedloop.duckdb`` there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_app_creates_no_store_file(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "CLOSEDLOOP_DB"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", "import api.http.app"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
