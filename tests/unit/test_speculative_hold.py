"""A hold made beside a turn's reads: adopted when it covers the call's worst case, else given back once."""

from __future__ import annotations

import pytest

from atende.billing import budget
from atende.billing.values import Reservation


@pytest.fixture
def released(monkeypatch: pytest.MonkeyPatch) -> list[Reservation]:
    given_back: list[Reservation] = []
    monkeypatch.setattr(budget, "_release_quietly", given_back.append)
    return given_back


def _held(amount: int = 1_000, tokens: int = 500) -> Reservation:
    return Reservation("t1", "req-1", amount, tokens, "2026-12", "03", 1)


def test_a_hold_that_covers_the_worst_case_is_adopted_and_never_released(released: list[Reservation]) -> None:
    speculation = budget.Speculation(_held())
    assert speculation.adopt(estimate=900, tokens=500, requests=1) is not None
    speculation.give_back()  # the turn's exit path: nothing left to give back
    assert released == [] and not speculation.given_back


@pytest.mark.parametrize(("estimate", "tokens"), [(1_001, 100), (100, 501)])
def test_a_hold_smaller_than_the_worst_case_is_given_back_once(
    released: list[Reservation], estimate: int, tokens: int
) -> None:
    speculation = budget.Speculation(_held())
    assert speculation.adopt(estimate=estimate, tokens=tokens, requests=1) is None
    speculation.give_back()
    assert len(released) == 1 and speculation.given_back  # the turn reserves again under a derived id


def test_a_refused_speculation_gives_nothing_back(released: list[Reservation]) -> None:
    speculation = budget.Speculation(None)
    assert speculation.adopt(estimate=1, tokens=1, requests=1) is None
    assert released == [] and not speculation.given_back  # nothing was written: the same request id reserves
