"""Price table, model-name resolution and micro-dollar cost arithmetic."""

from __future__ import annotations

import dataclasses
import random
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

import pytest

from atende.billing.pricing import (
    PRICE_TABLE_VERSION,
    PRICES,
    ModelPrice,
    cost_micros,
    micros_to_usd,
    resolve_price,
    usd_to_micros,
    worst_case_micros,
)

GPT_4O = ModelPrice(input=2_500_000, cached_input=1_250_000, output=10_000_000)


def test_table_version_and_list_prices() -> None:
    assert PRICE_TABLE_VERSION == "2026-11-01"
    assert PRICES["gpt-4o"] == GPT_4O
    assert PRICES["gpt-4o-mini"] == ModelPrice(150_000, 75_000, 600_000)
    assert PRICES["gpt-4.1"] == ModelPrice(2_000_000, 500_000, 8_000_000)
    assert PRICES["gpt-4.1-mini"] == ModelPrice(400_000, 100_000, 1_600_000)
    assert PRICES["gpt-4.1-nano"] == ModelPrice(100_000, 25_000, 400_000)
    assert PRICES["o4-mini"] == ModelPrice(1_100_000, 275_000, 4_400_000)
    assert PRICES["o3"] == ModelPrice(2_000_000, 500_000, 8_000_000)
    assert PRICES["gpt-5"] == ModelPrice(1_250_000, 125_000, 10_000_000)
    assert PRICES["gpt-5-mini"] == ModelPrice(250_000, 25_000, 2_000_000)
    assert PRICES["gpt-5-nano"] == ModelPrice(50_000, 5_000, 400_000)
    assert len(PRICES) == 10


def test_table_holds_only_ints_and_is_read_only() -> None:
    for price in PRICES.values():
        for value in (price.input, price.cached_input, price.output):
            assert type(value) is int
        assert price.cached_input <= price.input
    with pytest.raises(TypeError):
        PRICES["gpt-4o"] = GPT_4O  # type: ignore[index]


def test_model_price_is_frozen_and_validated() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        GPT_4O.input = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="input"):
        ModelPrice(2.5, 1, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="output"):
        ModelPrice(1, 1, -1)
    with pytest.raises(ValueError):
        ModelPrice(True, 1, 1)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("o4-mini-2025-04-16", "o4-mini"),
        ("gpt-5-nano-2025-08-07", "gpt-5-nano"),
        ("openai/gpt-4o", "gpt-4o"),
        ("openai/gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("  GPT-4o  ", "gpt-4o"),
    ],
)
def test_resolve_price_strips_prefixes_and_dated_suffixes(model: str, expected: str) -> None:
    assert resolve_price(model) == PRICES[expected]


@pytest.mark.parametrize("model", ["", "   ", "gpt-4", "gpt-4-0613", "claude-3-5-sonnet", "gpt-4o-turbo", "o3-pro"])
def test_unknown_models_resolve_to_none(model: str) -> None:
    assert resolve_price(model) is None


def test_overrides_win_over_the_table() -> None:
    negotiated = ModelPrice(2_000_000, 1_000_000, 8_000_000)
    assert resolve_price("gpt-4o", {"gpt-4o": negotiated}) == negotiated
    assert resolve_price("gpt-4o-2024-08-06", {"gpt-4o": negotiated}) == negotiated
    assert resolve_price("openai/gpt-4o", {"gpt-4o": negotiated}) == negotiated
    # a more specific override beats a general one
    snapshot = ModelPrice(1, 1, 1)
    assert resolve_price("gpt-4o-2024-08-06", {"gpt-4o": negotiated, "gpt-4o-2024-08-06": snapshot}) == snapshot
    # models the table lacks can be priced; other models keep table prices
    custom = ModelPrice(500_000, 500_000, 1_500_000)
    assert resolve_price("llama-3.1-70b", {"llama-3.1-70b": custom}) == custom
    assert resolve_price("gpt-5", {"llama-3.1-70b": custom}) == PRICES["gpt-5"]
    assert resolve_price("gpt-4o", {}) == GPT_4O


@pytest.mark.parametrize(
    ("price", "input_tokens", "cached", "output", "expected"),
    [
        (GPT_4O, 0, 0, 0, 0),
        (GPT_4O, 1000, 0, 500, 2_500 + 5_000),
        (GPT_4O, 1000, 400, 500, 1_500 + 500 + 5_000),
        (GPT_4O, 1000, 1000, 0, 1_250),
        (GPT_4O, 1_000_000, 0, 1_000_000, 12_500_000),
        (PRICES["gpt-4o-mini"], 1234, 1024, 321, 301),  # 31.5 + 76.8 + 192.6 = 300.9 -> 301
        (PRICES["gpt-5-nano"], 1, 0, 0, 1),  # 0.05 micro-dollars still costs one
        (PRICES["gpt-4o-mini"], 7, 0, 0, 2),  # 1.05 -> 2
        (PRICES["gpt-5-nano"], 20, 10, 0, 1),  # 0.5 + 0.05: fractions add before one rounding up
        (PRICES["o4-mini"], 10_000, 8_000, 2_000, 2_200 + 2_200 + 8_800),
        (PRICES["gpt-5"], 3_000, 2_048, 1_500, 1_190 + 256 + 15_000),
    ],
)
def test_cost_micros(price: ModelPrice, input_tokens: int, cached: int, output: int, expected: int) -> None:
    got = cost_micros(price, input_tokens=input_tokens, cached_input_tokens=cached, output_tokens=output)
    assert got == expected


def test_cost_is_never_below_exact_and_at_most_one_micro_above() -> None:
    rng = random.Random(7)
    for _ in range(2_000):
        price = rng.choice(list(PRICES.values()))
        input_tokens = rng.randint(0, 200_000)
        cached = rng.randint(0, input_tokens)
        output = rng.randint(0, 50_000)
        exact = (
            Fraction(price.input * (input_tokens - cached) + price.cached_input * cached + price.output * output)
            / 1_000_000
        )
        got = cost_micros(price, input_tokens=input_tokens, cached_input_tokens=cached, output_tokens=output)
        assert exact <= got < exact + 1


def test_cached_tokens_beyond_the_prompt_are_capped() -> None:
    capped = cost_micros(GPT_4O, input_tokens=100, cached_input_tokens=500, output_tokens=0)
    assert capped == cost_micros(GPT_4O, input_tokens=100, cached_input_tokens=100, output_tokens=0) == 125


@pytest.mark.parametrize("bad", [-1, 1.5, True, None])
def test_cost_rejects_bad_token_counts(bad: object) -> None:
    with pytest.raises(ValueError):
        cost_micros(GPT_4O, input_tokens=bad, cached_input_tokens=0, output_tokens=0)  # type: ignore[arg-type]


def test_worst_case_is_uncached_input_and_n_times_max_output() -> None:
    assert worst_case_micros(GPT_4O, prompt_tokens=1000, max_output_tokens=500) == 7_500
    assert worst_case_micros(GPT_4O, prompt_tokens=1000, max_output_tokens=500, n=2) == 2_500 + 10_000
    assert worst_case_micros(PRICES["gpt-5-nano"], prompt_tokens=1, max_output_tokens=0) == 1
    with pytest.raises(ValueError):
        worst_case_micros(GPT_4O, prompt_tokens=10, max_output_tokens=10, n=0)


def test_worst_case_bounds_any_actual_usage_within_the_limits() -> None:
    rng = random.Random(11)
    for _ in range(500):
        price = rng.choice(list(PRICES.values()))
        prompt, max_out, n = rng.randint(0, 50_000), rng.randint(1, 8_000), rng.randint(1, 4)
        reserve = worst_case_micros(price, prompt_tokens=prompt, max_output_tokens=max_out, n=n)
        cached = rng.randint(0, prompt)
        actual = cost_micros(
            price, input_tokens=prompt, cached_input_tokens=cached, output_tokens=rng.randint(0, n * max_out)
        )
        assert actual <= reserve


@pytest.mark.parametrize(
    ("amount", "micros"),
    [
        ("2.50", 2_500_000),
        (" 0.075 ", 75_000),
        (Decimal("0.005"), 5_000),
        (3, 3_000_000),
        ("0", 0),
        ("-1.5", -1_500_000),
        ("100000.000001", 100_000_000_001),
        ("0.0000005", 1),  # half a micro-dollar rounds half-up
        ("0.0000004", 0),
    ],
)
def test_usd_to_micros(amount: Decimal | str | int, micros: int) -> None:
    assert usd_to_micros(amount) == micros


def test_usd_to_micros_rounding_and_refusals() -> None:
    assert usd_to_micros("0.0000001", rounding=ROUND_CEILING) == 1
    with pytest.raises(TypeError):
        usd_to_micros(2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        usd_to_micros(True)
    for bad in ("abc", "", "NaN", "Infinity"):
        with pytest.raises(ValueError):
            usd_to_micros(bad)


def test_micros_to_usd_is_exact_decimal() -> None:
    assert micros_to_usd(2_500_000) == Decimal("2.5")
    assert str(micros_to_usd(2_500_000)) == "2.500000"
    assert str(micros_to_usd(1)) == "0.000001"
    assert str(micros_to_usd(-75_000)) == "-0.075000"
    assert usd_to_micros(micros_to_usd(123_456_789)) == 123_456_789
    with pytest.raises(TypeError):
        micros_to_usd(1.0)  # type: ignore[arg-type]
