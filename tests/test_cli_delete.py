"""``closedloop delete``: every row of one person goes, in one transaction, nothing else (#12)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from api.cli import main
from ingest import Store, ingest_frame

DAY = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """cookie-1 and crm-7 are one person; u9 another; crm-8 is linked to nobody."""
    store = Store(tmp_path / "s.duckdb")
    touches = pl.DataFrame(
        {
            "touchpoint_id": ["t1", "t2", "t3", "t4"],
            "user_id": ["cookie-1", "cookie-1", "u9", "crm-8"],
            "ts": [DAY, DAY + dt.timedelta(hours=1), DAY, DAY],
            "channel": ["Email", "Search", "Email", "Display"],
        }
    )
    sales = pl.DataFrame(
        {
            "conversion_id": ["c1", "c2"],
            "user_id": ["crm-7", "u9"],
            "ts": [DAY + dt.timedelta(days=1)] * 2,
            "stage": ["purchase"] * 2,
            "revenue": [100.0, 50.0],
        }
    )
    pairs = pl.DataFrame({"anonymous_id": ["cookie-1"], "user_id": ["crm-7"]})
    ingest_frame(store, "touchpoints", touches)
    ingest_frame(store, "conversions", sales)
    ingest_frame(store, "identities", pairs)
    return store


def test_delete_follows_stitched_identities(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    version = store.data_version()
    assert main(["delete", "--user-id", "crm-7", "--yes", "--db", str(store.path)]) == 0
    out = capsys.readouterr().out
    assert "crm-7 and 1 linked id(s): cookie-1" in out
    assert "2 touchpoints, 1 conversions, 1 identity pairs" in out
    assert store.read("touchpoints")["user_id"].sort().to_list() == ["crm-8", "u9"]
    assert store.read("conversions")["user_id"].to_list() == ["u9"]
    assert store.read("identities").is_empty()
    assert store.data_version() > version


def test_no_follow_deletes_only_that_id(store: Store) -> None:
    removed = store.delete_person("cookie-1", follow_identities=False)
    assert (removed.ids, removed.touchpoints, removed.conversions) == (("cookie-1",), 2, 0)
    assert removed.identities == 1  # the pair naming it goes too
    assert store.read("conversions")["user_id"].sort().to_list() == ["crm-7", "u9"]


def test_an_unknown_id_changes_nothing(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    version = store.data_version()
    assert main(["delete", "--user-id", "nobody", "--yes", "--db", str(store.path)]) == 0
    assert "nothing to delete" in capsys.readouterr().out
    assert store.data_version() == version
    assert store.counts()["touchpoints"] == 4


def test_delete_without_yes_off_a_terminal_is_refused(
    store: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["delete", "--user-id", "u9", "--db", str(store.path)]) == 2
    assert "--yes" in capsys.readouterr().err
    assert store.counts()["conversions"] == 2


def test_a_failed_delete_leaves_the_store_as_it_was(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest.store as store_module

    before = {t: store.read(t) for t in ("touchpoints", "conversions", "identities")}
    real = store_module._bump_version

    def broken(con: object) -> None:
        real(con)  # type: ignore[arg-type]
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_module, "_bump_version", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        store.delete_person("crm-7")
    for table, frame in before.items():
        assert store.read(table).equals(frame), table
