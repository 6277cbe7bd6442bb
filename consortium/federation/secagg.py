"""The secure path: one FedAvg round under Flower's SecAgg+, isolated in this module.

In flwr 1.42, SecAgg+ exists only as ``flwr.server.workflow.SecAggPlusWorkflow`` driven by the
legacy ``DefaultWorkflow`` with a ``LegacyContext`` (coordinator) and
``flwr.client.mod.secaggplus_mod`` on the members, which reads the legacy ``FitRes`` of the
wrapped ``Client``. Re-check all of this on every flwr upgrade.

Choices made here (and why)
---------------------------
*Members send updates, not weights.* Each member returns ``local - global`` as its
``FitRes.parameters``; :class:`~consortium.federation.strategy.DeltaFedAvg` adds the weighted
average to the global model. The quantisation range then bounds an *update*, which the DP
clipping bound controls (:func:`update_clipping_range`), instead of raw weights, which nothing
bounds.

*Shares and threshold* (:func:`plan_secagg`). With ``n`` members each member's secrets are
split among ``k`` neighbours (itself included), any ``t`` of which can rebuild them:

- ``k = n`` while ``n <= 2*ceil(log2 n) + 1`` (or ``n <= 5``), else ``k = max(5, 2*ceil(log2 n)
  + 1)`` -- odd and logarithmic in ``n`` as in SecAgg+ (Bell et al., 2020), which keeps the
  members' work ``O(k)`` instead of ``O(n)``;
- ``t = max(2, ceil(2k/3))``, capped at ``k - 1``. ``t > k/2`` means the coordinator cannot
  collect both the mask seed and the key shares of one member, and fewer than ``t``
  colluding neighbours learn nothing;
- the round survives any ``k - t`` dropouts (``max_dropouts``); with ``k = n`` it needs at
  least ``t`` members left. Fewer than 3 members is refused: with 2, the sum and one's own
  update reveal the other's.

*Quantisation.* Each member clips every coordinate of ``w * update`` (``w = num_examples /
max_weight <= 1``) to ``[-R, R]``, maps it to ``[0, Q)`` and masks it modulo ``2**32``. The
average comes back with an error of about ``n * 2R / Q / sum(w)`` per coordinate, so keep
``max_weight`` close to the largest real weight. Sums stay below the modulus while
``n * Q <= 2**32`` (1024 members at the default ``Q = 2**22``). Flower would silently clip an
out-of-range value; :func:`make_update_guard_mod` instead rejects it (or clips it with a
warning), and the coordinator rejects masked vectors of the wrong layout, naming the member.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from flwr.app import Context, RecordDict
from flwr.common import (
    Scalar,
    parameters_to_ndarrays,
)
from flwr.compat.common import recorddict_compat as compat
from flwr.server import LegacyContext, ServerConfig
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_PARAMS_RECORD
from flwr.serverapp import Grid
from numpy.typing import NDArray

from consortium.errors import ConfigError, RoundFailed
from consortium.federation.admission import AdmittedGrid
from consortium.federation.instructions import MIN_MEMBERS
from consortium.federation.key_binding import KeyBindingGrid
from consortium.federation.records import ArraySpec
from consortium.federation.screening import ScreeningGrid
from consortium.federation.strategy import DeltaFedAvg, RoundOutcome

__all__ = [
    "MIN_MEMBERS",
    "SecAggPlan",
    "SecAggSettings",
    "plan_secagg",
    "run_fedavg_round",
    "update_clipping_range",
]

logger = logging.getLogger(__name__)

MODULUS_RANGE = 2**32


@dataclass(frozen=True)
class SecAggPlan:
    """Share count and reconstruction threshold for ``num_members`` (see module docstring)."""

    num_members: int
    num_shares: int
    threshold: int

    @property
    def max_dropouts(self) -> int:
        """Dropouts the round always survives, whichever members drop."""
        return self.num_shares - self.threshold

    @property
    def min_members_left(self) -> int:
        """Members that must remain so that the round is guaranteed to complete."""
        if self.num_shares == self.num_members:
            return self.threshold
        return self.num_members - self.max_dropouts


@dataclass(frozen=True)
class SecAggSettings:
    """Quantisation settings of the secure path.

    Attributes
    ----------
    clipping_range : float
        ``R``: every update coordinate must lie in ``[-R, R]`` (see
        :func:`update_clipping_range`).
    quantization_range : int
        ``Q``: values are quantised to ``[0, Q)``; larger is more precise.
    max_weight : float
        The largest ``num_examples`` a member may report.
    timeout : float | None
        Seconds to wait for replies at each stage (``None``: wait for all).
    """

    clipping_range: float = 8.0
    quantization_range: int = 2**22
    max_weight: float = 1000.0
    timeout: float | None = None

    def __post_init__(self) -> None:
        if not (self.clipping_range > 0 and math.isfinite(self.clipping_range)):
            raise ConfigError("clipping_range", "must be a positive finite number")
        if not 0 < self.quantization_range < MODULUS_RANGE:
            raise ConfigError("quantization_range", f"must be in (0, {MODULUS_RANGE})")
        if self.max_weight <= 0:
            raise ConfigError("max_weight", "must be positive")


def plan_secagg(num_members: int) -> SecAggPlan:
    """Choose SecAgg+ ``num_shares`` and ``reconstruction_threshold`` for ``num_members``.

    Examples
    --------
    >>> [(p.num_shares, p.threshold, p.max_dropouts) for p in map(plan_secagg, (3, 5, 20, 100))]
    [(3, 2, 1), (5, 4, 1), (11, 8, 3), (15, 10, 5)]
    """
    if num_members < MIN_MEMBERS:
        raise ConfigError(
            "num_members",
            f"SecAgg+ needs at least {MIN_MEMBERS} members, got {num_members}: with two, "
            "the sum and one's own update reveal the other's",
        )
    shares = max(5, 2 * math.ceil(math.log2(num_members)) + 1)
    shares = num_members if shares >= num_members else shares
    threshold = min(max(2, math.ceil(2 * shares / 3)), shares - 1)
    return SecAggPlan(num_members=num_members, num_shares=shares, threshold=threshold)


def update_clipping_range(  # noqa: PLR0913
    *,
    max_grad_norm: float,
    noise_multiplier: float,
    learning_rate: float,
    local_steps: int,
    batch_size: int,
    momentum: float = 0.0,
    tail_sigmas: float = 6.0,
) -> float:
    """Bound every coordinate of a DP-SGD member's round update; use it as ``clipping_range``.

    DP-SGD (Opacus) clips each per-sample gradient to L2 norm ``C`` and takes the step
    ``(sum_i clip(g_i) + N(0, (sigma C)^2)) / B`` with expected batch size ``B``. One
    coordinate of a clipped gradient is at most ``C`` in size, a Poisson batch holds at most
    ``B + z sqrt(B)`` samples and the noise coordinate at most ``z sigma C`` except with
    probability ~``2e-9`` for ``z = 6``. So one step moves a coordinate by at most
    ``eta C (1 + z/sqrt(B) + z sigma / B)``; ``k`` SGD steps (momentum ``mu`` multiplies by at
    most ``1/(1-mu)``) give the returned bound. It assumes plain SGD (with momentum), not Adam.

    Examples
    --------
    >>> round(update_clipping_range(max_grad_norm=1.0, noise_multiplier=1.0,
    ...     learning_rate=0.05, local_steps=10, batch_size=64), 4)
    0.9219
    """
    checks = {
        "max_grad_norm": max_grad_norm > 0,
        "noise_multiplier": noise_multiplier >= 0,
        "learning_rate": learning_rate > 0,
        "local_steps": local_steps >= 1,
        "batch_size": batch_size >= 1,
        "momentum": 0.0 <= momentum < 1.0,
        "tail_sigmas": tail_sigmas >= 0,
    }
    for name, ok in checks.items():
        if not ok:
            raise ConfigError(name, "out of range")
    per_step = max_grad_norm * (
        1 + tail_sigmas / math.sqrt(batch_size) + tail_sigmas * noise_multiplier / batch_size
    )
    return learning_rate * local_steps * per_step / (1.0 - momentum)


def run_fedavg_round(  # noqa: PLR0913
    grid: Grid,
    context: Context,
    *,
    global_arrays: Sequence[NDArray[np.generic]],
    expected: Mapping[str, ArraySpec],
    server_round: int = 1,
    secagg: SecAggSettings | None = SecAggSettings(),
    node_labels: Mapping[int, str] | None = None,
    fit_config: Mapping[str, Scalar] | None = None,
    min_members: int = MIN_MEMBERS,
) -> RoundOutcome:
    """Run one FedAvg round over every registered member, under SecAgg+ unless ``secagg=None``.

    Parameters
    ----------
    grid : Grid
        Flower's grid (the deployment one or :class:`~consortium.federation.local_grid.LocalGrid`).
    context : Context
        The ServerApp's context (only its ids and run config are used; its state is untouched).
    global_arrays : Sequence[ndarray]
        The current global model, in the order of ``expected``.
    expected : Mapping[str, ArraySpec]
        The model's layout; updates of another layout are rejected, naming the member.
    server_round : int, default 1
        Round number reported in the outcome and errors.
    secagg : SecAggSettings | None
        Quantisation settings; ``None`` runs the plain (non-secure) FedAvg round.
    node_labels : Mapping[int, str] | None
        Node id -> member id, used to name members in failures.
    fit_config : Mapping[str, Scalar] | None
        The config every member receives with the round's instruction (``FitIns.config``).
    min_members : int, default 3
        The consortium's minimum of *contributing* members (never below 3) on the secure
        path: fewer masked vectors are never unmasked, and a sum with fewer members of weight
        above 0 is not used. Members enforce the same minimum on their side
        (:func:`~consortium.federation.mods.check_secagg_stage`).

    Returns
    -------
    RoundOutcome
        The new global model and who is in it.

    Raises
    ------
    RoundFailed
        Too few members, too many dropouts for the threshold, or no usable update; the caller
        keeps its previous global model.
    """
    n = len(list(grid.get_node_ids()))
    minimum = max(MIN_MEMBERS, min_members)
    if secagg is not None and n < minimum:
        raise RoundFailed(
            server_round,
            code="too-few-members",
            reason=f"{n} members, the consortium's minimum is {minimum}",
        )
    if n < 1:
        raise RoundFailed(server_round, code="too-few-members", reason="no members")
    strategy = DeltaFedAvg(
        global_arrays=global_arrays,
        expected=expected,
        min_members=n,
        node_labels=node_labels,
        fit_config=fit_config,
        min_contributors=minimum if secagg is not None else 1,
    )
    scratch = LegacyContext(
        Context(
            context.run_id, context.node_id, context.node_config, RecordDict(), context.run_config
        ),
        config=ServerConfig(num_rounds=1),
        strategy=strategy,
    )
    fit_workflow = None
    plan = None
    if secagg is not None:
        if n * secagg.quantization_range > MODULUS_RANGE:
            raise ConfigError("quantization_range", f"too large for {n} members (overflow)")
        plan = plan_secagg(n)
        fit_workflow = SecAggPlusWorkflow(
            plan.num_shares,
            plan.threshold,
            max_weight=secagg.max_weight,
            clipping_range=secagg.clipping_range,
            quantization_range=secagg.quantization_range,
            modulus_range=MODULUS_RANGE,
            timeout=secagg.timeout,
        )
    # A masked vector is [weight factor of shape (1,)] + one array per model array.
    masked_layout = {"(weight factor)": ArraySpec((1,), "")} | dict(expected)
    bound = KeyBindingGrid(grid)  # forwards members' signatures of their SecAgg+ keys
    screened = ScreeningGrid(bound, masked_layout, strategy.label, min_members=minimum)
    DefaultWorkflow(fit_workflow=fit_workflow)(screened, scratch)
    failures = tuple(dict.fromkeys([*screened.notes, *strategy.rejections]))
    if strategy.aggregated is None and screened.aborted:
        alive = [nid for nid in grid.get_node_ids() if nid not in screened.missed_keys]
        logger.warning(
            "round %s: %d member(s) missed the SecAgg+ key exchange; restarting with the other %d",
            server_round,
            len(screened.missed_keys),
            len(alive),
        )
        if len(alive) < minimum:
            raise RoundFailed(
                server_round,
                code="too-few-members",
                reason=f"{len(alive)} members left after the key exchange, minimum {minimum}",
                failures=failures,
            )
        outcome = run_fedavg_round(
            AdmittedGrid(grid, alive),
            context,
            global_arrays=global_arrays,
            expected=expected,
            server_round=server_round,
            secagg=secagg,
            node_labels=node_labels,
            fit_config=fit_config,
            min_members=minimum,
        )
        return replace(outcome, failures=tuple(dict.fromkeys([*failures, *outcome.failures])))
    sat_out = tuple(sorted(strategy.label(node) for node in screened.sat_out))
    if strategy.aggregated is None and (screened.too_few is not None or strategy.too_few):
        got = screened.too_few if screened.too_few is not None else strategy.too_few
        raise RoundFailed(
            server_round,
            code="too-few-members",
            reason=f"only {got} members contributed, the consortium's minimum is {minimum}: "
            "nothing was aggregated",
            failures=(*failures, *(f"member {m} sat out" for m in sat_out)),
        )
    if strategy.aggregated is None:
        if plan is not None and not strategy.aggregate_called:
            reason = (
                f"secure aggregation halted: too many members dropped for threshold "
                f"{plan.threshold} of {plan.num_shares} shares "
                f"(at most {plan.max_dropouts} of {n} may drop)"
            )
            raise RoundFailed(server_round, code="secagg-halted", reason=reason, failures=failures)
        raise RoundFailed(
            server_round, code="no-results", reason="no usable update", failures=failures
        )
    new_arrays = compat.arrayrecord_to_parameters(
        scratch.state.array_records[MAIN_PARAMS_RECORD], keep_input=True
    )
    members, examples = strategy.aggregated
    logger.info("round %s: %s of %s members aggregated", server_round, members, n)
    return RoundOutcome(
        server_round=server_round,
        arrays=tuple(parameters_to_ndarrays(new_arrays)),
        num_members=members,
        num_examples=examples,
        failures=failures,
        secure=secagg is not None,
        member_metrics=strategy.member_metrics,
        member_nodes=strategy.member_nodes,
        update=tuple(strategy.average_update),
        sat_out=sat_out,
    )
