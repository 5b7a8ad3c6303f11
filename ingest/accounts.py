"""Account journeys: key every person linked to an account (a B2B company) by that account.

B2B deals are won by accounts, not by the one contact on the opportunity: the
buying group's touches (every contact of the company) led to the deal. With
``journey="account"`` the services key touchpoints and conversions by
account instead of by person, so one deal of an account is credited across
the touches of all its people, and counted once.

What links a person to an account (:func:`account_links`):

- the canonical ``accounts`` table (``user_id``, ``account_id``): an
  accounts mapping file, Salesforce ``Contact.AccountId`` and
  OpportunityContactRole, HubSpot contact–company and deal–contact
  associations (see ``docs/identity.md``);
- the ``account_id`` of a conversion: the converting person belongs to it.

Links are made on the ids as stored and follow identity stitching: a link of
any id of a person links the person (:func:`account_journeys` takes the
stitched ``person_map``). A person linked to several accounts joins the
smallest account id (string order, so the result never depends on row
order); the summary counts such persons. Persons without an account stay
their own journey. An account's journey key is ``account:`` + the account id,
so account ids never collide with person ids (HubSpot numbers both).

The result is a ``person_map`` (``id``, ``person_id``) like stitching's:
the engines (DuckDB, Spark) and polars apply it in the same join, so every
engine keys the same rows by the same account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from attribution.errors import ParameterError

__all__ = [
    "ACCOUNT_PREFIX",
    "JOURNEYS",
    "AccountJourneys",
    "account_journeys",
    "account_links",
    "check_journey",
]

ACCOUNT_PREFIX = "account:"
"""What an account's journey key starts with (``account:0015e00000Acc01AAA``)."""

JOURNEYS = ("person", "account")
"""What a journey follows: one person (default), or every person of an account."""

LINKS = pl.Schema({"user_id": pl.String(), "account_id": pl.String()})
PERSON_MAP = pl.Schema({"id": pl.String(), "person_id": pl.String()})


def check_journey(journey: str) -> str:
    """Return ``journey`` if it is one of :data:`JOURNEYS`, else raise :class:`ParameterError`.

    Examples
    --------
    >>> check_journey("account")
    'account'
    >>> check_journey("company")
    Traceback (most recent call last):
    ...
    attribution.errors.ParameterError: The 'journey' parameter must be 'person' or 'account'. ...
    """
    if journey not in JOURNEYS:
        raise ParameterError(
            f"The 'journey' parameter must be 'person' or 'account'. Got {journey!r} instead."
        )
    return journey


def _clean(frame: pl.DataFrame) -> pl.DataFrame:
    """Return the distinct links of ``frame`` whose two ids are set (spaces are no id)."""
    return (
        frame.select(
            pl.col("user_id").cast(pl.String).str.strip_chars(),
            pl.col("account_id").cast(pl.String).str.strip_chars(),
        )
        .filter(
            pl.col("user_id").is_not_null()
            & pl.col("account_id").is_not_null()
            & (pl.col("user_id") != "")
            & (pl.col("account_id") != "")
        )
        .unique(maintain_order=True)
    )


def account_links(accounts: pl.DataFrame | None, conversions: pl.DataFrame | None) -> pl.DataFrame:
    """Return the distinct person -> account links (``user_id``, ``account_id``).

    From the ``accounts`` table and the conversions that carry an
    ``account_id`` (either may be ``None``, and conversions may lack the
    column); rows missing either id link nothing.

    Examples
    --------
    >>> accounts = pl.DataFrame({"user_id": ["bo", "cy"], "account_id": ["acme", None]})
    >>> deals = pl.DataFrame({"user_id": ["ana", "ana"], "account_id": ["acme", "acme"]})
    >>> account_links(accounts, deals).rows()
    [('bo', 'acme'), ('ana', 'acme')]
    """
    parts = [
        _clean(frame)
        for frame in (accounts, conversions)
        if frame is not None and {"user_id", "account_id"} <= set(frame.columns)
    ]
    if not parts:
        return pl.DataFrame(schema=LINKS)
    return pl.concat(parts).unique(maintain_order=True)


@dataclass(frozen=True)
class AccountJourneys:
    """The ids account journeys re-key, and what a report says about them.

    ``mapping`` (``id``, ``person_id``) holds every id whose journey key
    changes: the ids stitching maps to a person of an account, and the
    person ids themselves, each to ``account:`` + the account.

    Examples
    --------
    >>> result = account_journeys(None, pl.DataFrame({"user_id": ["ana"], "account_id": ["a1"]}))
    >>> result.mapping.rows(), result.summary()["accounts"]
    ([('ana', 'account:a1')], 1)
    """

    mapping: pl.DataFrame
    accounts: int
    persons: int
    several: int

    def summary(self) -> dict[str, Any]:
        """Return the ``accounts`` member of a report's ``identity``.

        Examples
        --------
        >>> AccountJourneys(pl.DataFrame(schema=PERSON_MAP), 0, 0, 0).summary()["note"]
        'no person is linked to an account: every journey is one person ...'
        """
        if not self.persons:
            note = (
                "no person is linked to an account: every journey is one person (ingest an "
                "accounts table, or conversions with an account_id)"
            )
        elif self.several:
            note = (
                f"{self.several:,} person{'' if self.several == 1 else 's'} linked to several "
                "accounts joined the smallest account id"
            )
        else:
            note = None
        return {
            "accounts": self.accounts,
            "linked_persons": self.persons,
            "persons_in_several_accounts": self.several,
            "note": note,
        }


def account_journeys(person_map: pl.DataFrame | None, links: pl.DataFrame) -> AccountJourneys:
    """Key every person linked to an account by the account (one vectorised pass).

    Parameters
    ----------
    person_map
        The ids identity stitching replaces (``id`` -> ``person_id``), or
        ``None`` when nothing is stitched.
    links
        ``user_id`` -> ``account_id`` (:func:`account_links`), on any id of a
        person.

    Returns
    -------
    AccountJourneys
        The map of the ids whose journey key changes (to apply in place of
        ``person_map``: it keeps the stitched persons of persons with no
        account) and the counts a report echoes.

    Examples
    --------
    Two contacts of Acme, one of them also known by a cookie, and a person
    with no account:

    >>> stitched = pl.DataFrame({"id": ["cookie-9"], "person_id": ["ana"]})
    >>> links = pl.DataFrame({"user_id": ["ana", "bo"], "account_id": ["acme", "acme"]})
    >>> result = account_journeys(stitched, links)
    >>> sorted(result.mapping.rows())
    [('ana', 'account:acme'), ('bo', 'account:acme'), ('cookie-9', 'account:acme')]
    >>> result.accounts, result.persons
    (1, 2)
    """
    persons = (
        pl.DataFrame(schema=PERSON_MAP)
        if person_map is None
        else person_map.select(pl.col("id").cast(pl.String), pl.col("person_id").cast(pl.String))
    )
    linked = links.join(
        persons.rename({"id": "user_id"}), on="user_id", how="left", maintain_order="left"
    ).select(pl.coalesce("person_id", "user_id").alias("person_id"), "account_id")
    per_person = linked.group_by("person_id").agg(
        pl.col("account_id").min().alias("account_id"),
        pl.col("account_id").n_unique().alias("accounts"),
    )
    ids = pl.concat(
        [persons, per_person.select(pl.col("person_id").alias("id"), "person_id")]
    ).unique(subset=["id"], keep="first", maintain_order=True)
    mapping = (
        ids.join(per_person.drop("accounts"), on="person_id", how="left", maintain_order="left")
        .select(
            "id",
            pl.coalesce(pl.lit(ACCOUNT_PREFIX) + pl.col("account_id"), pl.col("person_id")).alias(
                "person_id"
            ),
        )
        .filter(pl.col("id") != pl.col("person_id"))
        .sort("id")
    )
    return AccountJourneys(
        mapping=mapping,
        accounts=per_person["account_id"].n_unique(),
        persons=per_person.height,
        several=int((per_person["accounts"] > 1).sum()),
    )
