"""What a run leaves behind: a checkpoint per completed round, and the model directory.

Checkpoints are atomic and hash-checked (:mod:`consortium.federation.checkpoints`); a run started
with ``resume`` continues after the last one. The model directory (``<out-dir>/model``) is what
``consortium predict`` and ``consortium evaluate`` accept; its card holds per-member metrics, ε
spent and every round's report.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from consortium import __version__
from consortium.federation.checkpoints import Checkpoint, Checkpoints, weights_version
from consortium.federation.instructions import RunConfig
from consortium.federation.secagg import MIN_MEMBERS, plan_secagg
from consortium.forecasts.catalog import LaneCatalog
from consortium.models.families import family
from consortium.models.family import AnyModel
from consortium.models.store import save_model
from consortium.rounds import RoundReport

__all__ = ["Resumed", "optimizer_state", "save_checkpoint", "resume_from", "write_model"]

logger = logging.getLogger(__name__)

NOT_COVERED_BY_EPSILON = (
    "Scaling statistics, lane sums and calibration histograms are exact secure sums over all "
    "members (SecAgg+): the coordinator sees consortium-wide sums only, but they are not noised. "
    "Each member's test metrics of the pooled model (MAE, coverage, AUC or Brier, its test-row "
    "count) are sent in plaintext, exact and outside ε: aggregates over its held-out rows, kept "
    "because the card reports each member's quality; a coordinator that sends crafted models to "
    "evaluate could learn more from them. Each round's ε spent and ε budget are exact (the "
    "ledger and the board's cap need them; they describe the mechanism, not the rows). Example "
    "counts (the SecAgg+ weight) and released validation rows are coarsened to two significant "
    "figures (at least 10), not noised. No training loss is sent. Scored rounds: each member's "
    "validation gradient release is in its ε; the one number g·u it reports per round is "
    "post-processing of its DP update and of that release"
)
"""The card's ``privacy.not_covered_by_epsilon``: what ε does not cover, and why."""

PLAINTEXT_PER_MEMBER: dict[str, str] = {
    "training_loss": "not sent",
    "example_count": "coarsened: two significant figures, at least 10 (also the SecAgg+ weight)",
    "score_rows": "coarsened: two significant figures, at least 10",
    "test_metrics": "exact, outside ε (aggregates over the member's own test rows)",
    "epsilon_spent": "exact (the ledger and the board's cap need it)",
}
"""What each member sends in plaintext beside its masked vector, item by item."""

Resumed = tuple[Any, np.ndarray | None, list[RoundReport], list[np.ndarray], int]
"""Statistics, catalog sums, reports so far, global model, and the next round."""


def save_checkpoint(  # noqa: PLR0913
    checkpoints: Checkpoints,
    run: RunConfig,
    rnd: int,
    arrays: Sequence[np.ndarray],
    *,
    stats: Any,
    catalog: np.ndarray | None,
    reports: Sequence[RoundReport],
) -> None:
    """Write round ``rnd``'s checkpoint: the model, the statistics and every report so far."""
    checkpoints.save(
        rnd,
        list(arrays),
        {
            "model": run.model,
            "run_id": run.run_id,
            "stats": family(run.model).stats_to_dict(stats),
            "lanes": np.asarray(catalog).tolist() if catalog is not None else None,
            "reports": [asdict(r) for r in reports],
        },
    )


def optimizer_state(checkpoints: Checkpoints, rnd: int) -> Path:
    """Where the server optimiser's state after round ``rnd`` is kept, beside its checkpoint."""
    return checkpoints.folder / f"round-{rnd:04d}.server.npz"


def resume_from(run: RunConfig, checkpoint: Checkpoint) -> Resumed:
    """Return what a resumed run continues with (see :data:`Resumed`)."""
    meta = checkpoint.meta
    stats = family(run.model).stats_from_dict(meta["stats"])
    catalog = np.asarray(meta["lanes"]) if meta.get("lanes") else None
    reports = [RoundReport(**_report_args(r)) for r in meta["reports"]]
    return stats, catalog, reports, list(checkpoint.arrays), checkpoint.server_round + 1


def _report_args(data: Mapping[str, Any]) -> dict[str, Any]:
    args = dict(data)
    for key in ("sat_out", "failures"):
        args[key] = tuple(args.get(key) or ())
    return args


def write_model(  # noqa: PLR0913
    run: RunConfig,
    model: AnyModel,
    arrays: Sequence[np.ndarray],
    *,
    catalog: np.ndarray | None,
    metrics: dict[str, dict[str, float]],
    reports: Sequence[RoundReport],
    n_members: int,
) -> None:
    """Write the model directory ``<out-dir>/model`` with its card (and lane catalog)."""
    out = run.out_dir / "model"
    plan = plan_secagg(n_members) if run.secure and n_members >= MIN_MEMBERS else None
    last_spent: dict[str, float] = {}
    for r in reports:
        last_spent.update(r.epsilon_spent)
    scored = [r for r in reports if r.scoring is not None]
    card = {
        "kind": run.model,
        "name": f"federated-dp-{run.model}",
        "kit_version": __version__,
        "created_at": datetime.now(UTC).isoformat(),
        "model_version": weights_version(model.network, list(arrays)),
        "federation": {
            "members": n_members,
            "rounds": run.rounds,
            "local_epochs": run.local_epochs,
            "secure_aggregation": "SecAgg+ (Flower)" if run.secure else "none",
            "secagg_shares": plan.num_shares if plan else None,
            "secagg_threshold": plan.threshold if plan else None,
            "update_clipping_range": run.update_clipping_range,
            "server_optimizer": asdict(run.server),
            "round_reports": [asdict(r) for r in reports],
            "contribution_scoring": (
                {
                    "rule": "leave-one-out, first order, over SecAgg+ (points.valuation)",
                    "gradient_noise_multiplier": run.score_noise_multiplier,
                    "gradient_clip": run.score_clip,
                    "gradient_max_rows": run.score_max_rows,
                    "rounds_scored": len(scored),
                }
                if scored
                else None
            ),
        },
        "privacy": {
            "mechanism": "DP-SGD (Opacus) on every member, RDP accountant, per-member budget",
            "epsilon_spent": last_spent,
            "max_epsilon_per_round": run.max_epsilon_per_round,
            "not_covered_by_epsilon": NOT_COVERED_BY_EPSILON,
            "plaintext_per_member": PLAINTEXT_PER_MEMBER,
        },
        "metrics_per_member": metrics,
        "metrics_pooled": pooled_metrics(metrics),
        "evaluated_on": "each member's own test rows (the last 25% of its period)",
    }
    save_model(model, out, card=card)
    if catalog is not None:
        LaneCatalog(np.asarray(catalog)).save(out)
    logger.info("federated model written to %s", out)


def pooled_metrics(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Test-row-weighted mean of each metric over the members that reported it."""
    skip = ("test_rows", "epsilon_spent", "n")
    keys = {k for m in metrics.values() for k in m if k not in skip}
    pooled: dict[str, float] = {}
    for key in sorted(keys):
        pairs = [(m[key], m.get("test_rows", 0.0)) for m in metrics.values() if key in m]
        weight = sum(w for _, w in pairs)
        if weight > 0:
            pooled[key] = sum(v * w for v, w in pairs) / weight
    pooled["test_rows"] = sum(m.get("test_rows", 0.0) for m in metrics.values())
    return pooled
