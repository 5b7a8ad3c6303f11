"""Query parameters the routes share, declared once as ``Annotated`` aliases.

A parameter means the same on every route; its bounds and description are
written here, so ``/docs`` shows them alike everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from fastapi import Header, Query
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from api.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from api.services.inputs import MAX_LOOKBACK_DAYS
from api.services.queries import MAX_BOOTSTRAP, MIN_BOOTSTRAP
from ingest.identity import DEFAULT_MAX_COMPONENT_SIZE

By = Annotated[
    str,
    Query(
        description="Report by this touch column: `channel` or `campaign` (spend per key), or "
        "`source`, `medium`, `interaction`, which costs do not carry (spend, ROAS, ROI and CPA "
        "are then null on every row; the totals keep the period's spend). Paths and Markov "
        "explanations take `channel` or `campaign` only."
    ),
]
Stage = Annotated[
    str | None,
    Query(
        description="Conversion stage to attribute. Default: the only stage present, "
        "else `closed_won`, else `purchase`."
    ),
]
StageValues = Annotated[
    str | None,
    Query(
        max_length=1_000,
        description="What one conversion of a stage without revenue is worth, as "
        "`stage=value` pairs separated by commas (`lead=50,mql=200`): the report's `value` "
        "column is then attributed conversions × it, and ROAS / ROI are value-based.",
        examples=["lead=50,mql=200"],
    ),
]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_text(value: Any) -> Any:
    """Let only ``YYYY-MM-DD`` text through to the date parser.

    Pydantic also reads a number as a Unix time, so ``start=0`` would mean
    1970-01-01 and ``start=20240101`` fail with a message about datetimes.

    Examples
    --------
    >>> _iso_date_text("2024-03-31")
    '2024-03-31'
    >>> _iso_date_text("0")
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.PydanticCustomError: Input should be a date as YYYY-MM-DD
    """
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_format", "Input should be a date as YYYY-MM-DD")
    return value


_DECIMAL_INTEGER = re.compile(r"-?[0-9]+")


def _decimal_integer_text(value: Any) -> Any:
    """Let only plain decimal digits (an optional leading minus) through to the int parser.

    Pydantic's lax mode also reads ``+0.0``, ``1_000``, `` 7 `` and ``1e3``
    as integers; a dashboard that sends those has a bug we should not hide.

    Examples
    --------
    >>> _decimal_integer_text("20"), _decimal_integer_text("-3")
    ('20', '-3')
    >>> _decimal_integer_text("1_000")
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.PydanticCustomError: Input should be a whole number in plain ...
    """
    if isinstance(value, str) and not _DECIMAL_INTEGER.fullmatch(value):
        raise PydanticCustomError(
            "int_format", "Input should be a whole number in plain decimal digits, such as 20"
        )
    return value


DecimalDigits = BeforeValidator(_decimal_integer_text)
_DECIMAL_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _decimal_number_text(value: Any) -> Any:
    """Let only plain decimal numbers (``90``, ``0.95``, ``-1.5``) through to the float parser.

    Pydantic's lax mode also reads ``nan``, ``inf``, ``1e3``, ``9_0`` and
    `` 90 ``; ``nan`` then fails a bound with a message about the bound, and
    ``9_0`` is silently 90.

    Examples
    --------
    >>> _decimal_number_text("0.95"), _decimal_number_text("90")
    ('0.95', '90')
    >>> _decimal_number_text("nan")
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.PydanticCustomError: Input should be a number in plain ...
    """
    if isinstance(value, str) and not _DECIMAL_NUMBER.fullmatch(value):
        raise PydanticCustomError(
            "float_format", "Input should be a number in plain decimal notation, such as 0.95"
        )
    return value


DecimalNumber = BeforeValidator(_decimal_number_text)
"""Put in every ``Annotated[float, ...]`` query parameter, as :data:`DecimalDigits` for integers."""

Lookback = Annotated[
    float,
    DecimalNumber,
    Query(
        gt=0,
        le=MAX_LOOKBACK_DAYS,
        description="Touches at most this many days before a conversion count.",
    ),
]
ClickWindow = Annotated[
    float | None,
    DecimalNumber,
    Query(
        gt=0,
        le=MAX_LOOKBACK_DAYS,
        description=(
            "Days a click (any touch but an impression) counts before a conversion; "
            "default: lookback_days. At most lookback_days."
        ),
    ),
]
ViewWindow = Annotated[
    float | None,
    DecimalNumber,
    Query(
        ge=0,
        le=MAX_LOOKBACK_DAYS,
        description=(
            "Days a view (interaction = impression) counts before a conversion; "
            "default: 1 (or lookback_days if shorter). At most lookback_days."
        ),
    ),
]
"""Put in every ``Annotated[int, ...]`` query parameter: ``Annotated[int, DecimalDigits, Query()]``.

``tests/api/test_strict_integers.py`` checks that every integer query parameter has it.
"""

Start = Annotated[
    dt.date | None,
    BeforeValidator(_iso_date_text),
    Query(description="First day of the period, `YYYY-MM-DD`, inclusive (UTC)."),
]
End = Annotated[
    dt.date | None,
    BeforeValidator(_iso_date_text),
    Query(description="Last day of the period, `YYYY-MM-DD`, inclusive (UTC)."),
]
Currency = Annotated[
    str | None,
    Query(
        pattern="^[A-Za-z]{3}$",
        description="ISO 4217 code the values are in (`EUR`); `null` in the answer when absent.",
        examples=["EUR"],
    ),
]
Ci = Annotated[
    float | None,
    DecimalNumber,
    Query(
        description="Add confidence intervals at this level (between 0 and 1, e.g. `0.95`) "
        "to every row: `conversions_low/high`, `revenue_low/high`, `roas_low/high`, from a "
        "person-level bootstrap with percentile intervals.",
        examples=[0.95],
    ),
]
Bootstrap = Annotated[
    int,
    DecimalDigits,
    Query(description=f"Bootstrap resamples for `ci` ({MIN_BOOTSTRAP} to {MAX_BOOTSTRAP:,})."),
]
Seed = Annotated[
    int,
    DecimalDigits,
    Query(description="Seed of the bootstrap (>= 0); the same seed gives the same intervals."),
]
Stitch = Annotated[
    bool,
    Query(
        description="Key touches and conversions by person, stitched from the identities "
        "table (connected components of id pairs). `false` uses the raw ids."
    ),
]
Journey = Annotated[
    Literal["person", "account"],
    Query(
        description="`person` (default): a journey is one person's touches. `account`: every "
        "person linked to an account (the `accounts` table, conversions' `account_id`) is one "
        "journey keyed `account:<id>`, so a deal is credited across its buying group's touches.",
    ),
]
Calibrate = Annotated[
    bool,
    Query(
        description="With lift tests in the store (`closedloop ingest lift_tests`): scale each "
        "tested channel to agree with its experiments (`revenue_calibrated` beside `revenue`; "
        "calibrated curves in the budget). `false` ignores them.",
    ),
]
MaxIdentityComponent = Annotated[
    int,
    DecimalDigits,
    Query(
        ge=2,
        description="Identity components with more ids than this (a shared device, a "
        "test email) are not merged; the report's `identity` member lists how many.",
    ),
]
DEFAULT_MAX_IDENTITY_COMPONENT = DEFAULT_MAX_COMPONENT_SIZE
OptionalLimit = Annotated[
    int | None,
    DecimalDigits,
    Query(
        ge=1,
        le=MAX_LIMIT,
        description="Rows per page (all rows when absent); `totals` always cover every row.",
    ),
]
Limit = Annotated[
    int,
    DecimalDigits,
    Query(ge=1, le=MAX_LIMIT, description=f"Rows per page (at most {MAX_LIMIT:,})."),
]
DEFAULT_PAGE = DEFAULT_LIMIT
Cursor = Annotated[
    str | None, Query(description="The `next_cursor` of the previous page; none for the first.")
]
Format = Annotated[
    Literal["json", "csv", "parquet"] | None,
    Query(alias="format", description="Force the format; otherwise `Accept` decides."),
]
Accept = Annotated[str | None, Header(include_in_schema=False)]


def table_responses(what: str) -> dict[int | str, dict[str, Any]]:
    """Document the 200 answer of a route that answers JSON, CSV or Parquet.

    Examples
    --------
    >>> sorted(table_responses("The report")[200]["content"])
    ['application/vnd.apache.parquet', 'text/csv']
    """
    return {
        200: {
            "description": f"{what} as JSON; or the rows as RFC 4180 CSV with "
            "`Accept: text/csv` or `?format=csv`, or as Parquet with "
            "`Accept: application/vnd.apache.parquet` or `?format=parquet`. A paged list "
            'has a `Link: <…>; rel="next"` header pointing to the next page.',
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    }


__all__ = [
    "DEFAULT_MAX_IDENTITY_COMPONENT",
    "DEFAULT_PAGE",
    "Accept",
    "Bootstrap",
    "By",
    "Calibrate",
    "Ci",
    "ClickWindow",
    "Currency",
    "Cursor",
    "DecimalDigits",
    "DecimalNumber",
    "End",
    "Format",
    "Limit",
    "Lookback",
    "MaxIdentityComponent",
    "OptionalLimit",
    "Seed",
    "Stage",
    "StageValues",
    "Start",
    "Stitch",
    "ViewWindow",
    "table_responses",
]
