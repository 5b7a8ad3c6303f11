"""Print the HTML report to PDF with headless Chromium (``closedloop report --pdf FILE``).

The page carries its own print stylesheet (``@media print`` in
``templates/report.css``: no sort hints, each section from a new page, charts
scaled to the page width, so A4 and Letter both fit). Chromium opens the
report file, lets the charts draw within a virtual-time budget and prints it
with ``--print-to-pdf`` (https://developer.chrome.com/docs/chromium/headless).
Without a browser the report is still written; the error says how to get the
PDF.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from attribution.errors import ClosedloopError, ParameterError

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
"""Commands tried on ``PATH``, in order."""
BROWSER_PATHS = (Path("/usr/bin/chromium"),)
"""Where Debian's ``chromium`` package puts the browser, tried last."""
CHART_BUDGET_MS = 15_000
"""Virtual time the charts get to draw before the page is printed."""
PRINT_TIMEOUT_S = 180.0
"""How long a print may take in real time before it is given up."""


def find_browser() -> Path:
    """Return the headless browser to print with.

    Raises
    ------
    ParameterError
        No Chromium on ``PATH`` nor at ``/usr/bin/chromium``: the message
        says how to install it, or to print the HTML from a browser.

    Examples
    --------
    >>> try:
    ...     browser = find_browser()
    ... except ParameterError as exc:
    ...     browser = None
    ...     assert "apt-get install chromium" in str(exc)
    >>> browser is None or browser.exists()
    True
    """
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    for path in BROWSER_PATHS:
        if path.exists():
            return path
    raise ParameterError(
        "--pdf needs headless Chromium and none was found (looked for "
        f"{', '.join(BROWSER_NAMES)} on PATH and {BROWSER_PATHS[0]}). Install it "
        "(Debian/Ubuntu: apt-get install chromium), or leave out --pdf and print the HTML "
        "report from a browser (its print layout is made for paper)."
    )


def browser_command(browser: Path, html: Path, pdf: Path, profile: Path) -> list[str]:
    """Return the command line that prints ``html`` to ``pdf``.

    ``--no-sandbox`` only where Chromium refuses to start without it (as
    root); every host name is unresolvable, so the page proves it needs no
    network.

    Examples
    --------
    >>> cmd = browser_command(Path("/usr/bin/chromium"), Path("/tmp/r.html"),
    ...     Path("/tmp/r.pdf"), Path("/tmp/profile"))
    >>> cmd[:2], cmd[-1], "--print-to-pdf=/tmp/r.pdf" in cmd
    (['/usr/bin/chromium', '--headless'], 'file:///tmp/r.html', True)
    """
    flags = [
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        "--print-to-pdf-no-header",
        f"--virtual-time-budget={CHART_BUDGET_MS}",
        f"--print-to-pdf={pdf}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.insert(1, "--no-sandbox")
    return [str(browser), *flags, html.resolve().as_uri()]


def print_pdf(html: Path, pdf: Path, *, browser: Path | None = None) -> Path:
    """Print the report file ``html`` to ``pdf`` and return ``pdf``.

    Parameters
    ----------
    html
        The report, as written by ``closedloop report --out``.
    pdf
        The PDF to write (its folder is made).
    browser
        Chromium to use; default :func:`find_browser`.

    Raises
    ------
    ParameterError
        No browser (see :func:`find_browser`).
    ClosedloopError
        The browser ran and wrote no PDF: its last lines of output say why.

    Examples
    --------
    >>> print_pdf(Path("/nonexistent/r.html"), Path("r.pdf"))
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: Cannot print '/nonexistent/r.html': there is no such file.
    """
    if not html.is_file():
        raise ParameterError(f"Cannot print '{html}': there is no such file.")
    chosen = browser or find_browser()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    target = pdf.resolve()
    target.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="closedloop-pdf-") as profile:
        command = browser_command(chosen, html, target, Path(profile))
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=PRINT_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ClosedloopError(
                f"{chosen} did not print '{html}' within {PRINT_TIMEOUT_S:.0f} s; the HTML "
                "report is written, print it from a browser."
            ) from exc
    if not target.is_file() or target.read_bytes()[:4] != b"%PDF":
        tail = " ".join(done.stderr.strip().splitlines()[-3:]) or f"exit status {done.returncode}"
        raise ClosedloopError(
            f"{chosen} wrote no PDF for '{html}' ({tail}); the HTML report is written, print "
            "it from a browser."
        )
    return pdf


__all__ = ["BROWSER_NAMES", "BROWSER_PATHS", "browser_command", "find_browser", "print_pdf"]
