"""The one way to spend: `hold` reserves a call's worst case, and settles or releases it on every exit path.

    with budget.hold(tenant, request_id, models=[...], params=params, bot_id=bot_id, model=model) as held:
        result = upstream.chat_completion(...)           # the provider is paid from here on
        held.charge(result.model, result.body["usage"])  # what the call really cost
        store.append(..., extra_operations=held.settlement_operations(model=...))
        held.settled()                                   # the settlement landed with the turn's messages

On leaving the block: settled → the turn's metrics go out; charged but not settled (the call was paid, its
turn was not stored, or the caller settles nothing of its own, like a summary) → the charge is written alone;
never charged (the provider failed, or the turn was answered without it) → the reservation is given back.
An exception inside the block is re-raised after that.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from atende.billing import reservations
from atende.billing.estimate import reservation_estimate
from atende.billing.metrics import emit_turn_metrics
from atende.billing.periods import periods, utc
from atende.billing.policy import price_for, turn_cost
from atende.billing.pricing import ModelPrice
from atende.billing.values import Reservation, Usage
from atende.models.tenants import Tenant
from atende.platform.errors import AtendeError, InvalidRequest, LimitExceeded, UpstreamUnavailable
from atende.platform.observability import logger
from atende.store import stores


class Held:
    """A reservation in progress: what the call cost once it is known, and whether its settlement landed."""

    def __init__(
        self, tenant: Tenant, reservation: Reservation, price: ModelPrice | None, bot_id: str | None, model: str
    ) -> None:
        self.tenant, self.reservation, self._price = tenant, reservation, price
        self.bot_id, self.model = bot_id, model
        self.cost: int | None = None
        self.usage = Usage()
        self.anomaly: dict[str, int] | None = None  # set when the provider reported more than was reserved
        self._settled = False
        self.unresolved = False  # settling alone failed: a lost or delayed write of the call may still land
        self._timings: dict[str, float | None] = {}

    def charge(self, model: str, usage: dict[str, Any] | None) -> int:
        """Price the usage a provider reported, at the price of the model that answered (maybe a fallback's:
        never refused after the spend); the reserved model's price when that one has none."""
        self.usage = Usage.from_openai(usage)
        self.model = model
        cost = turn_cost(price_for(self.tenant, model, strict=False) or self._price, self.usage)
        held = self.reservation.amount_micros
        if cost > held:  # a report past the worst case (a misbehaving upstream): billed at what was held
            logger.warning("usage above the reservation", extra={"cost_micros": cost, "reserved_micros": held})
            self.anomaly = {"reported_cost_micros": cost, "reserved_micros": held}
            cost = held
        self.cost = cost
        return cost

    def settlement_operations(self, *, model: str | None = None) -> list[dict[str, Any]]:
        """The transaction items that settle the charge: write them with the turn's messages, then `settled()`."""
        if self.cost is None:
            raise RuntimeError("charge() the call before settling it")
        if model is not None:
            self.model = model
        return reservations.settlement_operations(
            self.reservation, self.cost, self.usage, bot_id=self.bot_id or "-", model=self.model
        )

    def timings(self, *, upstream_seconds: float | None, overhead_seconds: float | None) -> None:
        """The provider's time and Atende's own, for the turn's metrics."""
        self._timings = {"upstream_seconds": upstream_seconds, "overhead_seconds": overhead_seconds}

    def settled(self) -> None:
        """The settlement landed in the caller's own transaction (with the turn's messages)."""
        self._settled = True

    def _close(self) -> None:
        if self.cost is None:  # the provider was never paid
            _release_quietly(self.reservation)
            return
        if not self._settled:
            self._settle_alone()
        if self._settled:
            emit_turn_metrics(
                self.tenant,
                self.bot_id or "-",
                self.model,
                self.cost,
                self.usage,
                anomaly=self.anomaly is not None,
                requests=self.reservation.requests,
                upstream_seconds=self._timings.get("upstream_seconds"),
                overhead_seconds=self._timings.get("overhead_seconds"),
            )

    def landed_after_all(self) -> bool:
        """After the caller's transaction failed without a clear answer: whether it landed anyway (read back).
        If so the settlement is done, and `settled()` has been called."""
        if self.cost is None or self._settled:
            return self._settled
        if reservations.settled_by_lost_write(self.reservation):
            self._settled = True
        return self._settled

    @property
    def billed(self) -> bool:
        """Whether the call's cost is on the counters (in the caller's transaction or on its own)."""
        return self._settled

    def settle_now(self) -> None:
        """Bill the call on its own, now (a turn with no conversation to store it with); raises if it cannot."""
        reservations.settle_alone(self.reservation, self.settlement_operations())
        self._settled = True

    def _settle_alone(self) -> None:
        """The provider was paid but nothing settled it: bill the call on its own."""
        try:
            self.settle_now()
        except Exception:  # noqa: BLE001 — reported here; the hold stays until the sweep (never given back early)
            self.unresolved = True
            logger.exception("could not settle a paid call", extra={"request_id": self.reservation.request_id})


@contextmanager
def hold(
    tenant: Tenant,
    request_id: str,
    *,
    models: Sequence[str],
    params: dict[str, Any],
    bot_id: str | None,
    model: str,
    requests: int = 1,
    speculated: Speculation | None = None,
) -> Iterator[Held]:
    """Reserve the worst case of `params` at the priciest of `models` (each must be priced when the tenant has
    a budget), yield the hold, then settle or release it (see the module docstring).

    Raises LimitExceeded (a refused request is counted) or InvalidRequest (an unpriced model) before the block
    runs. `requests=0` is for a call that is not a user request (a summary): outside the request quota.
    `speculated`: a hold made before the call's exact worst case was known (see `speculate`), used when it covers it.
    """
    prices = [price_for(tenant, target) for target in models]
    estimate, tokens = reservation_estimate(params, prices)
    reservation = speculated.adopt(estimate, tokens, requests) if speculated is not None else None
    if speculated is not None and speculated.given_back:
        request_id = f"{request_id}.1"  # the first reservation's record is a tombstone now: it cannot hold again
    try:
        if reservation is None and speculated is not None and speculated.contended:
            # The counters stayed busy through the speculative hold's own retries, a moment ago, inside this
            # turn's deadline: answered as the turn's own reservation would be, without spending the rest of it.
            raise speculated.contended
        if reservation is None:
            reservation = reservations.reserve(
                tenant, request_id, estimate, tokens=tokens, bot_id=bot_id, model=model, requests=requests
            )
    except AtendeError:
        if requests:
            emit_turn_metrics(tenant, bot_id, model, refused=True)
        raise
    held = Held(tenant, reservation, prices[0] if prices else None, bot_id, model)
    try:
        yield held
    finally:
        held._close()


class Speculation:
    """A hold made alongside a turn's reads, from what this container last saw of the tenant and bot, so the
    reservation costs no round trip of its own. The turn's `hold` adopts it when it covers the call's exact worst
    case; anything else gives it back (`give_back`), and the turn reserves again under a derived request id."""

    def __init__(self, reservation: Reservation | None, contended: UpstreamUnavailable | None = None) -> None:
        self.reservation = reservation  # None: refused or not made (nothing was written; the turn reserves itself)
        self.contended = contended  # the counters were too busy to answer it (nothing was written)
        self.given_back = False

    def adopt(self, estimate: int, tokens: int, requests: int) -> Reservation | None:
        """The held reservation when it covers `estimate` and `tokens`; else it is given back and None."""
        held = self.reservation
        if held is not None and held.amount_micros >= estimate and held.tokens >= tokens and held.requests == requests:
            self.reservation = None
            return held
        self.give_back()
        return None

    def give_back(self) -> None:
        """Release the hold if it was made and not adopted (the turn ended without a provider call, or it changed)."""
        if self.reservation is not None:
            _release_quietly(self.reservation)
            self.reservation, self.given_back = None, True


def speculate(
    tenant: Tenant,
    request_id: str,
    *,
    models: Sequence[str],
    params: dict[str, Any],
    extra_prompt_tokens: int,
    bot_id: str | None,
    model: str,
) -> Speculation:
    """Hold the worst case of `params` plus `extra_prompt_tokens` (history not read yet) without counting or
    answering a refusal: a refused, unpriced or contended speculation writes nothing, and the turn's own `hold`
    answers (reserving again, or for contended counters at once). Other storage failures are raised, as the
    turn's own reservation would raise them."""
    try:
        prices = [price_for(tenant, target) for target in models]
        estimate, tokens = reservation_estimate(params, prices, extra_prompt_tokens=extra_prompt_tokens)
        held = reservations.reserve(
            tenant, request_id, estimate, tokens=tokens, bot_id=bot_id, model=model, speculative=True
        )
    except (LimitExceeded, InvalidRequest):
        return Speculation(None)
    except UpstreamUnavailable as busy:
        return Speculation(None, contended=busy)
    return Speculation(held)


def _release_quietly(reservation: Reservation) -> None:
    try:
        reservations.release(reservation)
    except Exception:  # noqa: BLE001 — an unreleased reservation expires and is swept
        logger.exception("could not release a reservation", extra={"request_id": reservation.request_id})


def record_unbilled_turn(tenant: Tenant, *, bot_id: str, model: str, refused: bool) -> None:
    """Count a turn answered without calling the model: one UpdateItem on today's report, and its metric.

    A zero-cost request (an instant answer, a handoff, a disabled bot) counts in `requests`; with `refused`, a
    turn moderation refused counts in `refused`, as a limit's refusal does. Both per bot and per model. The
    month counter is left alone: the monthly request quota counts the requests that reach a model.
    """
    month, dd = periods(utc())
    field = "refused" if refused else "requests"
    try:
        stores().usage.count(tenant.id, f"{month}-{dd}", field, bot_id=bot_id, model=model)
    except Exception:  # noqa: BLE001 — the turn is answered and stored; the count is a report
        logger.warning("could not count an unbilled turn", exc_info=True)
    emit_turn_metrics(tenant, bot_id, model, refused=refused)
