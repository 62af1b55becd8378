"""Model prices and cost arithmetic in integer micro-dollars (1 USD = 1,000,000 micros); never floats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType

# Bump whenever a price below changes; every settled turn records the version it was priced with.
PRICE_TABLE_VERSION = "2026-11-01"

MICROS_PER_USD = 1_000_000
TOKENS_PER_PRICE_UNIT = 1_000_000  # prices are per million tokens


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """List price of one model in micro-dollars per million tokens (so 2.50 USD / 1M tokens is 2_500_000)."""

    input: int
    cached_input: int
    output: int

    def __post_init__(self) -> None:
        for name in ("input", "cached_input", "output"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"ModelPrice.{name} must be a non-negative int of micro-dollars, got {value!r}")


def _usd(input_usd: str, cached_usd: str, output_usd: str) -> ModelPrice:
    return ModelPrice(usd_to_micros(input_usd), usd_to_micros(cached_usd), usd_to_micros(output_usd))


def usd_to_micros(amount: Decimal | str | int, *, rounding: str = ROUND_HALF_UP) -> int:
    """USD (a Decimal, a decimal string such as "2.50", or whole dollars as int) to integer micro-dollars.

    Floats are refused: they cannot hold most decimal prices exactly. Amounts finer than a micro-dollar
    are rounded with `rounding` (half-up by default; pass ROUND_CEILING to round towards more money).
    """
    if isinstance(amount, bool) or not isinstance(amount, Decimal | str | int):
        raise TypeError(f"USD amounts must be Decimal, str or int, not {type(amount).__name__}")
    try:
        value = Decimal(amount.strip() if isinstance(amount, str) else amount)
    except InvalidOperation as exc:
        raise ValueError(f"not a USD amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite USD amount: {amount!r}")
    return int((value * MICROS_PER_USD).to_integral_value(rounding=rounding))


def micros_to_usd(micros: int) -> Decimal:
    """Integer micro-dollars to an exact Decimal of USD with six places (2_500_000 -> Decimal("2.500000"))."""
    if isinstance(micros, bool) or not isinstance(micros, int):
        raise TypeError(f"micro-dollars must be an int, not {type(micros).__name__}")
    return Decimal(micros).scaleb(-6)


# OpenAI list prices per 1M tokens (standard tier): input, cached input, output.
PRICES: MappingProxyType[str, ModelPrice] = MappingProxyType(
    {
        "gpt-4o": _usd("2.50", "1.25", "10.00"),
        "gpt-4o-mini": _usd("0.15", "0.075", "0.60"),
        "gpt-4.1": _usd("2.00", "0.50", "8.00"),
        "gpt-4.1-mini": _usd("0.40", "0.10", "1.60"),
        "gpt-4.1-nano": _usd("0.10", "0.025", "0.40"),
        "o3": _usd("2.00", "0.50", "8.00"),
        "o4-mini": _usd("1.10", "0.275", "4.40"),
        "gpt-5": _usd("1.25", "0.125", "10.00"),
        "gpt-5-mini": _usd("0.25", "0.025", "2.00"),
        "gpt-5-nano": _usd("0.05", "0.005", "0.40"),
    }
)

# Snapshot suffixes: "-2024-08-06" (current style) and "-0613" (older MMDD style).
_DATED_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{4})$")


def _candidates(model: str) -> list[str]:
    """Names to look a model up by, most specific first: as given, without provider prefix, without date."""
    name = model.strip().lower()
    names = [name]
    if "/" in name:  # "openai/gpt-4o", "azure/openai/gpt-4o"
        name = name.rsplit("/", 1)[1]
        names.append(name)
    undated = _DATED_SUFFIX.sub("", name)
    if undated and undated != name:
        names.append(undated)
    return names


def resolve_price(model: str, overrides: dict[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price for `model`, or None when it is unknown (the caller decides whether to refuse the turn).

    Looks up the name as given, then without a provider prefix ("openai/gpt-4o"), then without a dated
    snapshot suffix ("gpt-4o-2024-08-06" -> "gpt-4o"). An override matching any of those names wins over
    the built-in table, so a tenant or operator can price a model the table lacks or negotiate a rate.
    """
    if not model or not model.strip():
        return None
    names = _candidates(model)
    if overrides:
        lowered = {key.strip().lower(): price for key, price in overrides.items()}
        for name in names:
            if name in lowered:
                return lowered[name]
    for name in names:
        price = PRICES.get(name)
        if price is not None:
            return price
    return None


def _check_tokens(**counts: int) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")


def cost_micros(price: ModelPrice, *, input_tokens: int, cached_input_tokens: int = 0, output_tokens: int) -> int:
    """The cost of one call in micro-dollars.

    `input_tokens` is the full prompt (as OpenAI reports `prompt_tokens`); `cached_input_tokens` is the part
    of it served from the prompt cache and billed at the cached rate. The rest is uncached input.

    Rounding: each part is price x tokens in micro-dollars x 10^-6, kept exact by summing the three
    numerators as integers and dividing once, rounding UP to the next whole micro-dollar. So the result is
    never below the exact cost and at most one micro-dollar above it (we never under-bill).
    """
    _check_tokens(input_tokens=input_tokens, cached_input_tokens=cached_input_tokens, output_tokens=output_tokens)
    cached = min(cached_input_tokens, input_tokens)  # a provider never caches more than the prompt
    uncached = input_tokens - cached
    numerator = price.input * uncached + price.cached_input * cached + price.output * output_tokens
    return -(-numerator // TOKENS_PER_PRICE_UNIT)  # ceiling division on integers


def worst_case_micros(price: ModelPrice, *, prompt_tokens: int, max_output_tokens: int, n: int = 1) -> int:
    """The reservation for a call before it runs: all input uncached and every one of `n` choices at max output.

    The prompt is billed once whatever `n` is; output is billed per choice.
    """
    _check_tokens(prompt_tokens=prompt_tokens, max_output_tokens=max_output_tokens, n=n)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return cost_micros(price, input_tokens=prompt_tokens, cached_input_tokens=0, output_tokens=n * max_output_tokens)
