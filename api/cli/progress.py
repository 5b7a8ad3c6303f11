r"""Draw the progress long work reports (:mod:`attribution.progress`) on one line of a terminal.

Commands whose work takes seconds to minutes (``budget``, ``report``) run it
inside :func:`terminal_listening`: on a terminal, stderr shows one line,
redrawn in place at most ten times a second and erased when the work ends —
``curve fits: 230 of 808 fits (28%), 61 fits/s``. When stderr is not a
terminal (a pipe, a file, CI) nothing is drawn and nothing listens, so the
output of a script stays exactly the results.

Examples
--------
>>> import io
>>> class FakeTerminal(io.StringIO):
...     def isatty(self) -> bool:
...         return True
>>> stream = FakeTerminal()
>>> from attribution.progress import report_progress
>>> with terminal_listening(stream):
...     report_progress("curve fits", 808, 808, "fits")
>>> stream.getvalue()  # drawn, then erased
'\rcurve fits: 808 of 808 fits (100%)\x1b[K\r\x1b[K'
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

REDRAW_SECONDS = 0.1
"""Least time between two redraws of the line (the last step of a job is always drawn)."""

_CLEAR_TO_END = "\x1b[K"


class ProgressLine:
    r"""A listener (:data:`attribution.progress.ProgressListener`) that redraws one terminal line.

    Parameters
    ----------
    stream
        The terminal to draw on (stderr).
    clock
        Seconds, for the rate and the redraw interval (tests pass a fake).

    Examples
    --------
    >>> import io
    >>> stream = io.StringIO()
    >>> line = ProgressLine(stream, clock=iter([0.0, 2.0, 2.01, 2.5]).__next__)
    >>> line("curve fits", 0, 100, "fits")
    >>> line("curve fits", 50, 100, "fits")
    >>> line("curve fits", 51, 100, "fits")  # 10 ms later: not redrawn
    >>> line("report 2/8: channels", 0, 0, "")
    >>> for drawn in stream.getvalue().split("\r")[1:]:
    ...     print(drawn.removesuffix("\x1b[K"))
    curve fits: 0 of 100 fits (0%)
    curve fits: 50 of 100 fits (50%), 25 fits/s
    report 2/8: channels …
    """

    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.what = ""
        self.started = 0.0
        self.drawn_at: float | None = None

    def __call__(self, what: str, done: int, total: int, unit: str) -> None:
        """Redraw the line for ``done`` of ``total`` ``unit`` of ``what``."""
        now = self.clock()
        if what != self.what:
            self.what, self.started = what, now
        elif self.drawn_at is not None and now - self.drawn_at < REDRAW_SECONDS and done < total:
            return
        if total > 0:
            elapsed = now - self.started
            rate = f", {done / elapsed:,.0f} {unit}/s" if elapsed > 0 and done > 0 else ""
            text = f"{what}: {done:,} of {total:,} {unit} ({done / total:.0%}){rate}"
        else:
            text = f"{what} …"
        width = max(shutil.get_terminal_size().columns - 1, 20)
        self.stream.write(f"\r{text[:width]}{_CLEAR_TO_END}")
        self.stream.flush()
        self.drawn_at = now

    def close(self) -> None:
        """Erase the line, so the results print on a clean one."""
        if self.drawn_at is not None:
            self.stream.write(f"\r{_CLEAR_TO_END}")
            self.stream.flush()


@contextmanager
def terminal_listening(stream: TextIO | None = None) -> Iterator[None]:
    """Draw the progress reported inside the block when ``stream`` (stderr) is a terminal.

    Examples
    --------
    >>> import io
    >>> from attribution.progress import report_progress
    >>> piped = io.StringIO()  # not a terminal: nothing is drawn
    >>> with terminal_listening(piped):
    ...     report_progress("curve fits", 1, 2, "fits")
    >>> piped.getvalue()
    ''
    """
    from attribution.progress import listening

    target = sys.stderr if stream is None else stream
    if not target.isatty():
        yield
        return
    line = ProgressLine(target)
    try:
        with listening(line):
            yield
    finally:
        line.close()


__all__ = ["REDRAW_SECONDS", "ProgressLine", "terminal_listening"]
