"""Account journeys' person -> account map (ingest/accounts.py), worked by hand.

The map is checked against what a reader derives from the links on paper:
a person's every id goes to ``account:`` + the smallest of its accounts,
whatever the order of the rows.
"""

from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from attribution.errors import ParameterError
from ingest.accounts import account_journeys, account_links, check_journey


def links(*pairs: tuple[str | None, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"user_id": [p[0] for p in pairs], "account_id": [p[1] for p in pairs]},
        schema={"user_id": pl.String, "account_id": pl.String},
    )


def test_links_come_from_the_table_and_the_conversions() -> None:
    table = links(("bo", "acme"), ("cy", None), ("  ", "acme"), ("dee", " beta "))
    deals = pl.DataFrame(
        {"conversion_id": ["d1", "d2"], "user_id": ["ana", "bo"], "account_id": ["acme", "acme"]}
    )
    assert sorted(account_links(table, deals).rows()) == [
        ("ana", "acme"),
        ("bo", "acme"),
        ("dee", "beta"),
    ]
    # Conversions without the column (a frame from before account_id existed) link nobody.
    assert account_links(None, deals.drop("account_id")).is_empty()


def test_every_id_of_a_linked_person_goes_to_the_account() -> None:
    # cookie-9 is stitched to ana; ana and bo are contacts of Acme; cy has no account.
    stitched = pl.DataFrame({"id": ["cookie-9", "cy-mail"], "person_id": ["ana", "cy"]})
    result = account_journeys(stitched, links(("ana", "acme"), ("bo", "acme")))
    assert dict(result.mapping.rows()) == {
        "ana": "account:acme",
        "bo": "account:acme",
        "cookie-9": "account:acme",
        "cy-mail": "cy",  # no account: stays its stitched person
    }
    assert result.summary() == {
        "accounts": 1,
        "linked_persons": 2,
        "persons_in_several_accounts": 0,
        "note": None,
    }


def test_a_link_of_any_id_links_the_person() -> None:
    # The link names the cookie, not the person id: the person still joins the account.
    stitched = pl.DataFrame({"id": ["cookie-9"], "person_id": ["ana"]})
    result = account_journeys(stitched, links(("cookie-9", "acme")))
    assert dict(result.mapping.rows()) == {"ana": "account:acme", "cookie-9": "account:acme"}


def test_several_accounts_join_the_smallest() -> None:
    result = account_journeys(None, links(("ana", "zeta"), ("ana", "acme"), ("bo", "zeta")))
    assert dict(result.mapping.rows()) == {"ana": "account:acme", "bo": "account:zeta"}
    summary = result.summary()
    assert (summary["accounts"], summary["persons_in_several_accounts"]) == (2, 1)
    assert summary["note"] == "1 person linked to several accounts joined the smallest account id"


def test_no_link_keeps_the_persons() -> None:
    stitched = pl.DataFrame({"id": ["cookie-9"], "person_id": ["ana"]})
    result = account_journeys(stitched, links())
    assert result.mapping.rows() == [("cookie-9", "ana")]
    assert result.summary()["note"].startswith("no person is linked to an account")


def test_journey_is_person_or_account() -> None:
    assert check_journey("person") == "person"
    with pytest.raises(ParameterError, match=r"'person' or 'account'\. Got 'Account'"):
        check_journey("Account")


ids = st.sampled_from(["a", "b", "c", "d", "e"])


@given(st.lists(st.tuples(ids, st.sampled_from(["x", "y", "z"])), max_size=12), st.randoms())
def test_the_map_never_depends_on_row_order(
    pairs: list[tuple[str, str]], rng: random.Random
) -> None:
    shuffled = list(pairs)
    rng.shuffle(shuffled)
    first = account_journeys(None, links(*pairs)).mapping
    second = account_journeys(None, links(*shuffled)).mapping
    assert first.equals(second)
    expected: dict[str, str] = {}
    for person, account in pairs:
        expected[person] = min(expected.get(person, account), account)
    assert dict(first.rows()) == {p: f"account:{a}" for p, a in expected.items()}
