"""Progress of long work, told to whoever listens: a terminal line in the CLI, nobody elsewhere.

Curve fits, bootstrap resamples and the report's sections take seconds to
minutes. Code that loops over them calls :func:`report_progress` (``what``,
``done``, ``total``, ``unit``) and wraps a long step in :func:`stage`; neither
knows who listens. Like the cancellation in :mod:`attribution.cancel`, the
listener is a context variable: the CLI installs one with :func:`listening`
when stderr is a terminal (:func:`api.cli._shared.terminal_listening` draws
it), and with no
listener — the API, the tests, a notebook, a pipe — a report costs one
context-variable read.

Stages nest: inside ``stage("report 1/8: model comparison")`` a bootstrap's
``report_progress("bootstrap markov", 40, 100, "resamples")`` reaches the
listener as ``"report 1/8: model comparison › bootstrap markov"``.

Examples
--------
>>> seen = []
>>> with listening(lambda what, done, total, unit: seen.append((what, done, total, unit))):
...     with stage("report"):
...         report_progress("fits", 1, 2, "fits")
>>> seen
[('report', 0, 0, ''), ('report › fits', 1, 2, 'fits')]
>>> report_progress("nobody listens", 1, 2)  # no listener: nothing happens
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

ProgressListener = Callable[[str, int, int, str], None]
"""Called as ``listener(what, done, total, unit)``; ``total == 0`` announces a step."""

_listener: ContextVar[ProgressListener | None] = ContextVar("closedloop_progress", default=None)
_stages: ContextVar[tuple[str, ...]] = ContextVar("closedloop_progress_stages", default=())

SEPARATOR = " › "
"""Between a stage and what is reported inside it."""


@contextmanager
def listening(listener: ProgressListener | None) -> Iterator[None]:
    """Send the progress reported inside the block to ``listener`` (``None``: to nobody).

    Examples
    --------
    >>> with listening(None):
    ...     report_progress("quiet", 1, 1)
    """
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def report_progress(what: str, done: int, total: int, unit: str = "steps") -> None:
    """Tell the listener, if any, that ``done`` of ``total`` ``unit`` of ``what`` are done.

    Examples
    --------
    >>> seen = []
    >>> with listening(lambda *args: seen.append(args)):
    ...     report_progress("curve fits", 3, 10, "fits")
    >>> seen
    [('curve fits', 3, 10, 'fits')]
    """
    listener = _listener.get()
    if listener is not None:
        listener(SEPARATOR.join((*_stages.get(), what)), done, total, unit)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Name a long step: announce it, and prefix what is reported inside it with its name.

    Examples
    --------
    >>> seen = []
    >>> with listening(lambda what, *_: seen.append(what)):
    ...     with stage("budget plan"):
    ...         with stage("curves"):
    ...             report_progress("fits", 1, 1)
    >>> seen
    ['budget plan', 'budget plan › curves', 'budget plan › curves › fits']
    """
    if _listener.get() is None:
        yield
        return
    report_progress(name, 0, 0, "")
    token = _stages.set((*_stages.get(), name))
    try:
        yield
    finally:
        _stages.reset(token)


__all__ = ["SEPARATOR", "ProgressListener", "listening", "report_progress", "stage"]
