"""``closedloop models``: list the registered models with their parameters and defaults.

::

    closedloop models
    closedloop models --format json
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from api.cli._shared import add_format_option, write_output

if TYPE_CHECKING:
    from api.cli._shared import Subparsers


def register(subparsers: Subparsers) -> argparse.ArgumentParser:
    """Add ``closedloop models`` to the subcommands.

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="closedloop")
    >>> _ = register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["models", "--format", "json"]).format
    'json'
    """
    parser = subparsers.add_parser(
        "models",
        help="list the models with their parameters",
        description="List the registered models with their parameters and defaults.",
    )
    add_format_option(parser, ("table", "json"))
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print every registered model, its summary and its parameters with their defaults.

    Examples
    --------
    >>> run(argparse.Namespace(format="table"))  # doctest: +ELLIPSIS
    first_touch ...
    linear ...
    0
    """
    from attribution import available_models, model_class

    described = [model_class(name).describe() for name in available_models()]
    write_output(args.format, table=lambda: _table(described), data=lambda: described)
    return 0


def _table(described: list[dict[str, Any]]) -> str:
    """Lay the models out one per line, their parameters indented under them.

    Examples
    --------
    >>> print(_table([{"name": "linear", "summary": "equal split", "params": []}]))
    linear  equal split
    """
    width = max(len(m["name"]) for m in described)
    lines = []
    for model in described:
        lines.append(f"{model['name']:<{width}}  {model['summary']}")
        for param in model["params"]:
            about = f"  {param['description']}" if param["description"] else ""
            lines.append(
                f"{'':<{width}}    {param['name']}: {param['type']} = {param['default']!r}{about}"
            )
    return "\n".join(lines)


__all__ = ["register", "run"]
