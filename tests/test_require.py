"""``require``: a missing best-effort test dependency skips, except under ``CI=true``."""

from __future__ import annotations

import pytest

from tests.conftest import require


def test_a_met_requirement_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    require(True, "never shown")
    monkeypatch.delenv("CI")
    require(object(), "never shown")


@pytest.mark.parametrize("ci", [None, "", "false", "1"])
def test_outside_ci_a_missing_dependency_skips(
    monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match=r"^chromium is not installed$"):
        require(False, "chromium is not installed")


def test_under_ci_a_missing_dependency_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(
        pytest.fail.Exception, match=r"^chromium is not installed \(CI=true"
    ) as info:
        require(None, "chromium is not installed")
    assert not info.value.pytrace
