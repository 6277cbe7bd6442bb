"""Contribution recording: the coordinator's ``RoundRecorder`` writes rounds and mints points.

After every round the coordinator writes one ledger entry -- ``round-completed`` (model, run
id, round, model version, status ``ok``/``degraded``, the members in the aggregate, per
participant the examples it reported, its ε spent and whether it sat out, the contribution rule
in force and, for scored rounds, each member's integer leave-one-out quality score) or
``round-failed`` (model, run id, round, code) -- and, in the same transaction, mints the
round's contribution points under the board's current rule
(:func:`~consortium.points.awards.contribution_awards`). A
``round-completed`` entry is written with its round-index row
(:func:`~consortium.points.rounds.append_round_completed`), so the round that produced a model
version is found by an index. Under
``examples`` (the default) a member earns the examples it trained, capped; under
``leave-one-out`` the same pot is split by quality score, and a round whose scores are missing
or failed the consistency check mints nothing. Members that sat out, dropped or were rejected
earn nothing. Before each round it reads the board's ε cap per round and contribution rule, and
before the run which members are active: a removed member's node is refused.

Rounds and mints are keyed by the federation's run id, so a second run of the same model on the
same database records and mints its own rounds, and recording is idempotent per run and round:
a resumed run hands over every round its checkpoints hold and only the ones a crash kept from
the ledger are written (:func:`~consortium.points.rounds.recorded_rounds`), each exactly once.

It implements :class:`consortium.rounds.RoundRecorder` with SQLAlchemy sessions and imports no
Flower: the federation's ServerApp is handed one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

from sqlalchemy.orm import Session, sessionmaker

from consortium.ledger.kinds import EntryKind
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry
from consortium.membership.store import active_members
from consortium.points.awards import contribution_awards
from consortium.points.minting import mint_contributions
from consortium.points.rounds import RecordedRounds, append_round_completed, recorded_rounds
from consortium.policy.store import current_policy
from consortium.rounds import RoundReport

__all__ = ["LedgerRecorder"]

logger = logging.getLogger(__name__)


class LedgerRecorder:
    """Record rounds and mint contribution points; read the board's policy and the members.

    Parameters
    ----------
    factory
        Session factory of the coordinator's database (ledger, points, policy, members).
    coordinator
        The coordinator's signing key.
    """

    def __init__(self, factory: sessionmaker[Session], coordinator: Signer) -> None:
        self._factory = factory
        self._coordinator = coordinator
        self.minted: dict[tuple[str, int], dict[str, int]] = {}

    def max_epsilon_per_round(self) -> float:
        """Return the board's current cap on ε per member per round."""
        with self._factory.begin() as session:
            return float(current_policy(session).max_epsilon_per_round)

    def max_delta(self) -> float:
        """Return the board's current largest δ a member may train at."""
        with self._factory.begin() as session:
            return float(current_policy(session).max_delta)

    def contribution_rule(self) -> str:
        """Return the board's current contribution rule."""
        with self._factory.begin() as session:
            return str(current_policy(session).contribution_rule)

    def admitted(self, members: Iterable[str]) -> set[str]:
        """Return the subset of ``members`` that are active members of the consortium."""
        with self._factory.begin() as session:
            active = {m.member for m in active_members(session)}
        wanted = set(members)
        refused = sorted(wanted - active)
        if refused:
            logger.warning("refused (not active members): %s", ", ".join(refused))
        return wanted & active

    def recorded_rounds(self, model: str, run_id: str) -> RecordedRounds:
        """Return which rounds of run ``run_id`` of ``model`` the ledger already records."""
        with self._factory.begin() as session:
            return recorded_rounds(session, model=model, run_id=run_id)

    def record_round(self, report: RoundReport) -> None:
        """Write the round's ledger entry and mint its contribution points, atomically.

        Idempotent per run and round: a completed round of ``report.run_id`` that the ledger
        already holds is not written or minted again, nor a failed round already recorded (a
        resumed run hands over every checkpointed round; only the missing ones are written).
        """
        with self._factory.begin() as session:
            done = recorded_rounds(session, model=report.model, run_id=report.run_id)
            if report.server_round in done.completed or (
                report.status == "failed" and report.server_round in done.failed
            ):
                logger.info(
                    "round %d of run %s already recorded", report.server_round, report.run_id
                )
                return
            if report.status == "failed":
                append_entry(
                    session,
                    kind=EntryKind.ROUND_FAILED,
                    payload={
                        "model": report.model,
                        "round": report.server_round,
                        "code": report.code or "failed",
                        "members_total": report.members_total,
                        **_run_of(report),
                    },
                    signer=self._coordinator,
                )
                return
            version = report.model_version or ""
            policy = current_policy(session)
            rule = policy.contribution_rule
            scored = rule == "leave-one-out" and report.scoring == "ok"
            append_round_completed(
                session,
                payload=_round_payload(report, version, rule=rule),
                signer=self._coordinator,
            )
            scores = {f"member:{m}": int(n) for m, n in report.examples.items()}
            if rule == "leave-one-out" and not scored:
                # unscored or refused scores (a misreport breaks Σ w p = W g·Δ): nothing minted
                logger.warning(
                    "round %d: leave-one-out scores %s; no points minted",
                    report.server_round,
                    report.scoring or "missing",
                )
                scores = {}
            awards = contribution_awards(
                rule=rule,
                scores=scores,
                accepted=list(scores),
                points_per_example=policy.points_per_example,
                cap=policy.contribution_cap_per_round,
                quality={f"member:{m}": q for m, q in report.quality.items()},
            )
            mint_contributions(
                session,
                awards=awards,
                refs={
                    "model": report.model,
                    "round": report.server_round,
                    "model_version": version,
                    **_run_of(report),
                },
                signer=self._coordinator,
            )
        self.minted[(report.model, report.server_round)] = awards
        logger.info("round %d recorded; minted %s", report.server_round, awards)


def _run_of(report: RoundReport) -> dict[str, object]:
    """Return ``{"run": id}`` for a round of a run with an id (entries before run ids have none)."""
    return {"run": report.run_id} if report.run_id else {}


def _round_payload(report: RoundReport, version: str, *, rule: str) -> dict[str, object]:
    """Return the ``round-completed`` payload: all that recomputing the awards needs."""
    participants: list[dict[str, object]] = []
    for m, e in sorted(report.epsilon_spent.items()):
        row: dict[str, object] = {
            "member": m,
            "examples": int(report.examples.get(m, 0)),
            "epsilon_spent": round(e, 6) if math.isfinite(e) else -1.0,
            "sat_out": m in report.sat_out,
        }
        if report.scoring == "ok" and m in report.quality:
            row["quality"] = int(report.quality[m])
            row["loo_gain"] = float(f"{report.gains.get(m, 0.0):.9g}")
        participants.append(row)  # member ids are not snake_case keys (payload policy)
    payload: dict[str, object] = {
        "model": report.model,
        "round": report.server_round,
        "model_version": version,
        "status": report.status,
        "members": sorted(report.examples),
        "participants": participants,
        "failures": len(report.failures),
        "contribution_rule": rule,
        **_run_of(report),
    }
    if report.scoring is not None:
        payload["scoring"] = report.scoring
    return payload
