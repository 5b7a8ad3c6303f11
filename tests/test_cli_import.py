"""``closedloop export`` then ``closedloop import``: the store comes back exactly (#12)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from api.cli import main
from attribution.errors import InputError
from attribution.schema import TABLES
from ingest import Store, ingest_files

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, Path]:
    folder = tmp_path_factory.mktemp("roundtrip")
    store = Store(folder / "original.duckdb")
    store.set_currency("EUR")
    for table in ("touchpoints", "conversions", "costs"):
        ingest_files(store, table, [ROOT / "examples" / "data" / f"{table}.csv"])
    pairs = folder / "pairs.csv"
    pairs.write_text("anonymous_id,user_id\nu00001,crm-1\nu00002,crm-1\n")
    ingest_files(store, "identities", [pairs])
    assert main(["export", "--db", str(store.path), "--out", str(folder / "backup")]) == 0
    return store, folder / "backup"


def _sorted(store: Store, table: str) -> pl.DataFrame:
    frame = store.read(table)
    return frame.sort(frame.columns)


def test_import_restores_every_row_and_the_currency(
    exported: tuple[Store, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original, backup = exported
    restored = Store(tmp_path / "restored.duckdb")
    assert main(["import", str(backup), "--db", str(restored.path)]) == 0
    assert "touchpoints: " in capsys.readouterr().out
    assert restored.currency == "EUR"
    for table in TABLES:
        assert _sorted(restored, table).equals(_sorted(original, table)), table


def test_import_again_changes_nothing(exported: tuple[Store, Path], tmp_path: Path) -> None:
    _, backup = exported
    restored = Store(tmp_path / "twice.duckdb")
    restored.restore(backup)
    version = restored.data_version()
    counts = restored.restore(backup)
    assert all(c.inserted == 0 and c.updated == 0 for c in counts.values())
    assert restored.data_version() == version


def test_a_damaged_file_writes_nothing_and_names_no_folder(
    exported: tuple[Store, Path], tmp_path: Path
) -> None:
    _, backup = exported
    broken = tmp_path / "secret-location" / "backup"
    for table in TABLES:
        (broken / table).mkdir(parents=True)
        for part in (backup / table).glob("*.parquet"):
            (broken / table / part.name).write_bytes(part.read_bytes())
    (broken / "costs" / "part-00000.parquet").write_bytes(b"PAR1 not really parquet")
    target = Store(tmp_path / "target.duckdb")
    with pytest.raises(InputError) as caught:
        target.restore(broken)
    message = str(caught.value)
    assert "'part-00000.parquet' of costs" in message
    assert "damaged" in message
    assert "secret-location" not in message
    assert sum(target.counts().values()) == 0


def test_a_foreign_parquet_file_is_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    (foreign / "touchpoints").mkdir(parents=True)
    pl.DataFrame({"visitor": ["a"], "when": ["2025-01-01"]}).write_parquet(
        foreign / "touchpoints" / "part-0.parquet"
    )
    with pytest.raises(InputError, match="not a closedloop export"):
        Store(tmp_path / "s.duckdb").restore(foreign)
    with pytest.raises(InputError, match="holds no table"):
        Store(tmp_path / "s.duckdb").restore(tmp_path / "empty")


def test_a_backup_in_another_currency_is_refused_over_money(
    exported: tuple[Store, Path], tmp_path: Path
) -> None:
    _, backup = exported
    from ingest import ingest_frame

    dollars = Store(tmp_path / "usd.duckdb")
    spend = pl.DataFrame({"date": ["2025-01-01"], "channel": ["Email"], "spend": ["1.0"]})
    ingest_frame(dollars, "costs", spend)
    with pytest.raises(InputError):
        dollars.restore(backup)
    assert dollars.counts()["touchpoints"] == 0
