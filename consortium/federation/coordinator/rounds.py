"""Stage 2: one DP-FedAvg round under SecAgg+, and the report that goes to the ledger.

Each round every member trains the global model on its own rows under Opacus with its own
budget (the round's cumulative ε cap, the board's per-round maximum enforced by the member) and
returns ``local - global`` through SecAgg+; the coordinator gets only the weighted average. A
round with dropouts completes with the rest when SecAgg+ can (``degraded``); otherwise it fails
cleanly and the previous global model stays.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from consortium.errors import RoundFailed
from consortium.federation.checkpoints import weights_version
from consortium.federation.coordinator.scoring import ScoredRound, score_round
from consortium.federation.coordinator.server_optimizer import ServerOptimizer
from consortium.federation.coordinator.session import Session
from consortium.federation.instructions import NO_PRIVACY_EPSILON, Instruction, Task
from consortium.federation.records import ArraySpec
from consortium.federation.secagg import run_fedavg_round
from consortium.federation.strategy import RoundOutcome
from consortium.models.family import AnyModel
from consortium.policy.model import ConsortiumPolicy
from consortium.rounds import RoundReport

__all__ = ["RoundResult", "train_round"]

logger = logging.getLogger(__name__)

Arrays = list[np.ndarray]


@dataclass(frozen=True)
class RoundResult:
    """The round's report and the global model after it (unchanged when the round failed)."""

    report: RoundReport
    arrays: Arrays


def _board_cap(session: Session) -> float:
    cap = session.run.max_epsilon_per_round
    if session.recorder is not None:
        cap = min(cap, session.recorder.max_epsilon_per_round())
    return cap


def _board_delta(session: Session) -> float:
    """Return the board's max δ: from the policy in force, else the policy's default."""
    if session.recorder is not None:
        return session.recorder.max_delta()
    return ConsortiumPolicy().max_delta


def _scored(session: Session) -> bool:
    return session.run.score_contributions or (
        session.recorder is not None and session.recorder.contribution_rule() == "leave-one-out"
    )


def round_instruction(session: Session, rnd: int, stats: object) -> Instruction:
    """Return the round's train instruction (scored when the board's rule asks for it)."""
    secagg = session.secagg()
    reach = secagg.clipping_range if secagg is not None else None
    score = session.run.score if _scored(session) else None
    return session.instruction(
        Task.TRAIN,
        server_round=rnd,
        stats=stats,
        max_epsilon_per_round=_board_cap(session),
        max_delta=_board_delta(session),
        update_clipping_range=reach,
        score=score,
        score_scale=score.scale(reach) if score is not None else 1.0,
    )


def train_round(  # noqa: PLR0913
    session: Session,
    rnd: int,
    *,
    arrays: Arrays,
    expected: Mapping[str, ArraySpec],
    stats: object,
    template: AnyModel,
    optimizer: ServerOptimizer,
) -> RoundResult:
    """Run round ``rnd`` from the global model ``arrays``; return its report and the new model.

    The secure sum's averaged update moves the model through the server's ``optimizer`` (its
    state advances only when the round succeeds).
    """
    ins = round_instruction(session, rnd, stats)
    secagg = session.secagg()
    send, layout = list(arrays), dict(expected)
    if ins.score is not None:  # one zero slot per array for the members' validation gradient
        send += [np.zeros_like(a) for a in arrays]
        layout |= {f"{name} (gradient)": spec for name, spec in expected.items()}
    started = time.perf_counter()
    n = session.members()
    try:
        outcome = run_fedavg_round(
            session.grid,
            session.context,
            global_arrays=send,
            expected=layout,
            server_round=rnd,
            secagg=secagg,
            node_labels=session.labels,
            fit_config=ins.to_config(),
            min_members=session.run.min_members,
        )
    except RoundFailed as err:
        logger.warning("%s", err.diagnostics())
        report = RoundReport(
            model=session.run.model,
            server_round=rnd,
            status="failed",
            members_total=n,
            members_aggregated=0,
            failures=err.failures,
            code=err.code,
            seconds=time.perf_counter() - started,
        )
        return RoundResult(report, arrays)  # the previous global model stays in force
    new = optimizer.step(arrays, outcome.update[: len(arrays)])
    trained_seconds = time.perf_counter() - started
    scored = (
        score_round(
            session.grid,
            outcome=outcome,
            old_arrays=arrays,
            instruction=ins.but(task=Task.SCORE, stats=None),
            secagg=secagg,
            max_weight=session.run.max_weight,
            nodes=outcome.member_nodes,
            timeout=session.run.round_timeout,
        )
        if ins.score is not None
        else None
    )
    report = _report(session, rnd, outcome, n=n, seconds=trained_seconds, scored=scored)
    version = weights_version(template.network, new)
    return RoundResult(_with_version(report, version), new)


def _spent(value: object) -> float:
    spent = float(value)  # type: ignore[arg-type]
    return math.inf if spent >= NO_PRIVACY_EPSILON else spent


def _report(
    session: Session,
    rnd: int,
    outcome: RoundOutcome,
    *,
    n: int,
    seconds: float,
    scored: ScoredRound | None,
) -> RoundReport:
    metrics = outcome.member_metrics
    said = {m for m, v in metrics.items() if int(v.get("sat_out", 0))}  # type: ignore[call-overload]
    sat_out = tuple(sorted(said | set(outcome.sat_out)))  # under SecAgg+ they leave the round
    trained = {m: v for m, v in metrics.items() if not int(v.get("sat_out", 0))}  # type: ignore[call-overload]
    weights = {m: int(v["num_examples"]) for m, v in trained.items()}  # type: ignore[call-overload]
    reported = {m: w for m, w in weights.items() if "loss" in trained[m]}
    total = sum(reported.values())
    loss = (  # members send no training loss (member.training), so it is normally None
        sum(float(trained[m]["loss"]) * w for m, w in reported.items()) / total  # type: ignore[arg-type]
        if total
        else None
    )
    degraded = outcome.num_members + len(outcome.sat_out) < n or bool(outcome.failures)
    return RoundReport(
        model=session.run.model,
        server_round=rnd,
        status="degraded" if degraded else "ok",
        members_total=n,
        members_aggregated=outcome.num_members,
        examples=weights,
        epsilon_spent={m: _spent(v.get("epsilon_spent", 0.0)) for m, v in metrics.items()},
        sat_out=sat_out,
        loss=loss,
        failures=outcome.failures,
        seconds=seconds,
        scoring=scored.valuation.status if scored else None,
        quality=scored.valuation.quality if scored else {},
        gains=scored.valuation.gains if scored else {},
        scoring_seconds=scored.seconds if scored else 0.0,
    )


def _with_version(report: RoundReport, version: str) -> RoundReport:
    return replace(report, model_version=version)
