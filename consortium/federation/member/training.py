"""``train``: the member trains the global model on its own rows under DP and returns its update.

The member turns its own budget and the board's per-round maximum into the round's cumulative
ε cap (:func:`~consortium.privacy.budget.round_epsilon_cap`), trains under Opacus with it
(:func:`~consortium.privacy.training.train_local`, which holds the accountant's lock), and returns
``local - global`` clipped to the round's range; SecAgg+ masks it on the way out. A member whose
budget is spent returns a zero update with weight 0 and says so; under SecAgg+ its mod then
leaves the secure sum instead of sending it (:mod:`consortium.federation.mods`), so a sum of the
others cannot pass for a sum of more members.

In a scored round (leave-one-out) the member first releases its DP validation gradient at the
global model (:mod:`consortium.privacy.gradient_release`, recorded in its accountant before it
trains) and returns it, scaled, in the extra slots, so it is summed under the same mask.

What travels in plaintext beside the masked vector, and why (:func:`round_metrics`):

* **ε spent and ε budget**, exact: the coordinator records them in the ledger and enforces the
  board's cap with them. They describe the mechanism (budget, schedule), not the rows.
* **the example count** (the SecAgg+ weight, also sent as ``num_examples``) and, in a scored round,
  the validation rows released: **coarsened** to two significant figures, at least 10
  (:func:`coarse_count`), and the member weights its masked update by that same coarse count. An
  exact count would tell the coordinator when one row was added or removed between runs.
* **no training loss**: it is a statistic of the member's rows outside its DP accounting, and the
  coordinator judges the model on the calibrated evaluation instead.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from flwr.app import ArrayRecord, ConfigRecord, RecordDict
from numpy.typing import NDArray

from consortium.errors import BudgetExceeded, ConfigError
from consortium.federation.instructions import NO_PRIVACY_EPSILON, Instruction
from consortium.federation.member.node import MemberNode
from consortium.federation.member.reply import MetricValues, Reply
from consortium.federation.member.weights import load_weights, training_device
from consortium.federation.records import state_dict_to_ndarrays
from consortium.models.families import family
from consortium.models.family import AnyModel, ModelFamily
from consortium.models.training import TrainConfig
from consortium.privacy.budget import round_epsilon_cap
from consortium.privacy.gradient_release import GradientRelease, record_release, release_gradient
from consortium.privacy.ledger import PrivacyLedger
from consortium.privacy.training import requested_budget, train_local

__all__ = [
    "LAST_ROUND_KEY",
    "LAST_UPDATE_KEY",
    "SCORE_PENDING_KEY",
    "coarse_count",
    "train_round",
]

logger = logging.getLogger(__name__)

LAST_UPDATE_KEY = "consortium.last-update"
"""Where a member keeps its own last plaintext update (its state; never sent)."""
LAST_ROUND_KEY = "consortium.last-update-round"
"""Which model and round that update belongs to."""
SCORE_PENDING_KEY = "consortium.score-pending"
"""Set only after a *scored* round's training (model, round): the one ``g · u`` the member owes.

:func:`~consortium.federation.member.evaluation.project_update` answers once and removes it, so
no other round, and no second ask, gets a projection (the projection-oracle attack)."""


def coarse_count(rows: int) -> int:
    """Round a row count to two significant figures, at least 10 (0 stays 0).

    What a member reports of its row counts (its SecAgg+ weight and ``num_examples``, its released
    validation rows), so that no exact count travels.

    Examples
    --------
    >>> [coarse_count(n) for n in (0, 1, 7, 57, 1234, 48_123)]
    [0, 10, 10, 60, 1200, 48000]
    """
    if rows <= 0:
        return 0
    step = 10 ** max(1, len(str(int(rows))) - 2)
    return max(step, int(math.floor(rows / step + 0.5)) * step)


def round_metrics(spent: float, budget: float, *, sat_out: bool) -> MetricValues:
    """Return the plaintext figures of a round: ε spent against the budget, sat out or not."""
    return {
        "epsilon_spent": spent if math.isfinite(spent) else NO_PRIVACY_EPSILON,
        "epsilon_budget": budget if math.isfinite(budget) else NO_PRIVACY_EPSILON,
        "sat_out": int(sat_out),
    }


def train_round(
    node: MemberNode, ins: Instruction, arrays: list[NDArray[np.generic]], state: RecordDict
) -> Reply:
    """Train one round (see the module docstring); keep the update in the member's ``state``."""
    fam = family(ins.model)
    split = node.rows(fam, purpose=fam.training_purpose)
    spent = node.spent(fam)
    cap = round_epsilon_cap(
        budget=node.budget,
        spent=spent,
        server_round=max(1, ins.server_round),
        rounds=ins.rounds,
        max_per_round=ins.max_epsilon_per_round,
    )
    model = fam.build(ins.needs_stats(), ins.settings)
    n_weights = len(model.network.state_dict())
    scoring = ins.score is not None
    if scoring and len(arrays) != 2 * n_weights:
        raise ConfigError("score-noise-multiplier", "a scored round sends 2 slots per array")
    start = arrays[:n_weights]
    load_weights(model.network, start)
    released = _release(node, fam, model, split.train, split.valid, ins=ins, cap=cap)
    state.config_records.pop(SCORE_PENDING_KEY, None)  # a new round: no older projection owed
    zero = [np.zeros_like(p) for p in start] * (2 if scoring else 1)
    if cap <= spent:
        logger.warning(
            "%s: ε budget spent (%.3f of %.3f), sitting out", node.member, spent, node.budget
        )
        return Reply(zero, 0, round_metrics(spent, node.budget, sat_out=True))
    base = fam.train_defaults
    try:
        trained = train_local(
            pd.concat([split.train, split.valid, split.test]),
            kind=fam.kind,
            epsilon=cap,  # the most ε the accountant may hold after this round
            delta=node.delta,
            max_delta=ins.max_delta,  # the board's: a larger δ is refused
            home=node.home,
            member=node.member,
            config=TrainConfig(
                epochs=ins.local_epochs,
                batch_size=base.batch_size,
                learning_rate=base.learning_rate,
                max_grad_norm=base.max_grad_norm,
                weight_decay=base.weight_decay,
            ),
            seed=ins.server_round,
            network=model.network,
            stats=ins.stats,
            device=training_device(),
            interval_level=ins.settings.interval_level,
            tolerance_minutes=ins.settings.tolerance_minutes,
            horizon_days=ins.settings.horizon_days,
        )
    except BudgetExceeded as exc:
        logger.warning("%s: %s; sitting out this round", node.member, exc)
        return Reply(zero, 0, round_metrics(node.spent(fam), node.budget, sat_out=True))
    local = state_dict_to_ndarrays(trained.model.network.state_dict())
    bound = ins.update_clipping_range if ins.update_clipping_range is not None else math.inf
    update = [
        np.clip(np.asarray(new, dtype=np.float64) - np.asarray(old, dtype=np.float64),
                -bound, bound)  # what the guard mod would clip: keep what is really sent
        for new, old in zip(local, start, strict=True)
    ]  # fmt: skip
    state[LAST_UPDATE_KEY] = ArrayRecord(update)
    state[LAST_ROUND_KEY] = ConfigRecord({"model": fam.kind, "round": ins.server_round})
    if scoring:
        state[SCORE_PENDING_KEY] = ConfigRecord({"model": fam.kind, "round": ins.server_round})
    weight = min(coarse_count(len(trained.split.train)), ins.max_weight)  # no exact count leaves
    spent_now = float(trained.card["privacy"]["epsilon_spent"])
    metrics = round_metrics(spent_now, node.budget, sat_out=False)  # no loss (module docstring)
    if scoring:
        update = update + _gradient_slots(released, start, weight, ins=ins, bound=bound)
        metrics["score_gradient"] = int(released is not None)
        metrics["score_rows"] = coarse_count(released.rows) if released is not None else 0
    return Reply(list(update), weight, metrics)


def _release(  # noqa: PLR0913
    node: MemberNode,
    fam: ModelFamily,
    model: AnyModel,
    train: pd.DataFrame,
    valid: pd.DataFrame,
    *,
    ins: Instruction,
    cap: float,
) -> GradientRelease | None:
    """Release the DP validation gradient at the global model, or decline (``None``).

    Only in a scored round. The release is recorded in the accountant first; a member declines
    when it would use up the round's ε cap (training comes first). A member with more than
    ``max_rows`` validation rows clips each row to ``C * max_rows / rows`` (and scales the noise
    alike), so that its sum stays within ``max_rows * C`` at the same σ.
    """
    if ins.score is None:
        return None
    sigma = ins.score.noise_multiplier
    with PrivacyLedger.locked(node.home, fam.kind) as ledger:
        budget = requested_budget(node.budget, node.delta, ledger=ledger, n_rows=len(train),
                                  max_delta=ins.max_delta)  # fmt: skip
        if not record_release(ledger, noise_multiplier=sigma, delta=budget.delta, cap=cap):
            logger.warning("%s: no ε left for the validation gradient", node.member)
            return None
    data, criterion = model.labelled(valid)
    clip = ins.score.clip * min(1.0, ins.score.max_rows / max(1, len(data)))
    return release_gradient(model.network, data, criterion, clip=clip, noise_multiplier=sigma)


def _gradient_slots(
    released: GradientRelease | None,
    start: list[NDArray[np.generic]],
    weight: int,
    *,
    ins: Instruction,
    bound: float,
) -> list[NDArray[np.float64]]:
    """Scale a release into the extra SecAgg+ slots so that the weighted sum is ``Σ G_j``.

    SecAgg+ multiplies a member's vector by ``weight / max_weight``; dividing by it here makes
    the slots add up to ``score_scale * Σ G_j`` whatever the members' weights (the coordinator
    multiplies back, see :mod:`consortium.federation.coordinator.scoring`).
    """
    if released is None or weight <= 0:
        return [np.zeros_like(p, dtype=np.float64) for p in start]
    ratio = weight / float(ins.max_weight)
    scale = ins.score_scale / ratio
    return [np.clip(s * scale, -bound, bound) for s in released.sums]
