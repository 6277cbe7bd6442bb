"""What a federation run reports, and where it records it.

One :class:`RoundReport` per round, progress events, and the :class:`RoundRecorder` interface
through which the coordinator records rounds and reads the board's policy.

These are plain values shared by the coordinator's ServerApp (``consortium.federation``), the
ledger recorder (``consortium.contributions.recording``) and the UIs; it imports no framework.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["FederationEvent", "OnEvent", "RoundRecorder", "RoundReport"]


@dataclass(frozen=True)
class RoundReport:
    """What one round did (all figures are non-secret: counts, ε spent, mean loss)."""

    model: str
    server_round: int
    status: str  # "ok" | "degraded" | "failed"
    members_total: int
    members_aggregated: int
    examples: dict[str, int] = field(default_factory=dict)
    epsilon_spent: dict[str, float] = field(default_factory=dict)
    sat_out: tuple[str, ...] = ()
    loss: float | None = None
    failures: tuple[str, ...] = ()
    code: str | None = None
    seconds: float = 0.0
    model_version: str | None = None
    scoring: str | None = None
    """``None`` (not scored) or the valuation's status: ``ok``, ``inconsistent``, ..."""
    quality: dict[str, int] = field(default_factory=dict)
    """Integer leave-one-out scores (parts per million of the round's positive gains)."""
    gains: dict[str, float] = field(default_factory=dict)
    """First-order leave-one-out gains (validation-loss units)."""
    scoring_seconds: float = 0.0
    run_id: str = ""
    """The federation run the round belongs to: rounds and their points are keyed by it, so a
    second run of the same model is recorded apart and a resumed run records each round once."""


@dataclass(frozen=True)
class FederationEvent:
    """A progress event; ``stage``: ``statistics``, ``round``, ``calibration``, ``evaluation``."""

    stage: str
    server_round: int
    rounds: int
    report: RoundReport | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


class RoundRecorder(Protocol):
    """Where a run writes its rounds (the ledger and points) and reads the board's policy."""

    def max_epsilon_per_round(self) -> float:
        """Return the board's current cap on ε a member may spend in one round."""
        ...

    def max_delta(self) -> float:
        """Return the board's current largest δ a member may train at."""
        ...

    def admitted(self, members: Iterable[str]) -> set[str]:
        """Return the subset of ``members`` that are active members (others are refused)."""
        ...

    def record_round(self, report: RoundReport) -> None:
        """Record a completed or failed round (and mint contribution points).

        Idempotent per run and round: a round of ``report.run_id`` already recorded is not
        recorded (nor minted) again, so a resumed run may hand over every checkpointed round.
        """
        ...

    def contribution_rule(self) -> str:
        """Return the board's current contribution rule (``examples``, ``leave-one-out``)."""
        ...


OnEvent = Callable[[FederationEvent], None]
"""Receives a :class:`FederationEvent` after every stage of a run."""
