"""Model cards under a folder: what each model is, how private, how good, per member.

A model directory holds ``model_card.json`` (:mod:`consortium.models.store`). Federated cards (from
:mod:`consortium.federation.server_app`) add ``federation`` (members, rounds, round reports with
ε per member), ``metrics_per_member`` (the global model on each member's own test rows) and
``metrics_pooled``; locally trained cards have ``metrics_test`` instead.

Examples
--------
>>> import pathlib, tempfile
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / "fed" / "model").mkdir(parents=True)
>>> _ = (root / "fed" / "model" / "model_card.json").write_text(
...     '{"kind": "eta", "name": "federated-dp-eta", "federation": {"members": 2, "rounds": 1},'
...     ' "metrics_per_member": {"alpha": {"mae": 30.5, "test_rows": 40}}}')
>>> [card.name for card in model_cards(root)]
['federated-dp-eta']
>>> member_metrics_frame(root / "fed" / "model").values.tolist()
[['alpha', 'mae', 30.5]]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from consortium.errors import ModelError
from consortium.forecasts.catalog import CATALOG_FILE
from consortium.models.families import family
from consortium.models.store import CARD, read_card

logger = logging.getLogger(__name__)

MAX_DEPTH = 5
"""How deep below the root folder :func:`find_model_dirs` looks."""

NOT_METRICS = frozenset({"test_rows", "n", "epsilon_spent"})
"""Keys of a member's metrics that are counts or privacy figures, not model quality."""


@dataclass(frozen=True)
class ModelCardView:
    """The headline facts of one model card.

    Attributes
    ----------
    path : Path
        The model directory.
    kind, name : str
        ``eta`` or ``stock``, and the model's name.
    created_at, model_version : str or None
        As written in the card.
    federated : bool
        Whether the card comes from a federation (it has ``federation``).
    members, rounds : int or None
        Members and rounds of the federation.
    secure_aggregation : str or None
        How updates were aggregated.
    lane_catalog : bool
        Whether the directory holds the lane catalog that lane queries need.
    epsilon_spent : Mapping[str, float]
        ε spent per member (federated) or ``{"local": ε}`` (local training).
    metrics : Mapping[str, float]
        Pooled test metrics (``metrics_pooled`` or ``metrics_test``), numbers only.
    """

    path: Path
    kind: str
    name: str
    created_at: str | None
    model_version: str | None
    federated: bool
    members: int | None
    rounds: int | None
    secure_aggregation: str | None
    lane_catalog: bool
    epsilon_spent: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    metrics: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @classmethod
    def of(cls, model_dir: Path, card: Mapping[str, Any]) -> ModelCardView:
        """Project a card read from ``model_dir``."""
        federation = _mapping(card.get("federation"))
        privacy = _mapping(card.get("privacy"))
        spent = privacy.get("epsilon_spent")
        if isinstance(spent, Mapping):
            epsilon = _numbers(spent)
        elif isinstance(spent, int | float) and not isinstance(spent, bool):
            epsilon = {"local": float(spent)}
        else:
            epsilon = {}
        metrics = card.get("metrics_pooled") or card.get("metrics_test") or {}
        return cls(
            path=Path(model_dir),
            kind=str(card.get("kind", "?")),
            name=str(card.get("name", Path(model_dir).name)),
            created_at=_text(card.get("created_at")),
            model_version=_text(card.get("model_version")),
            federated=bool(federation),
            members=_int(federation.get("members")),
            rounds=_int(federation.get("rounds")),
            secure_aggregation=_text(federation.get("secure_aggregation")),
            lane_catalog=(Path(model_dir) / CATALOG_FILE).exists(),
            epsilon_spent=MappingProxyType(epsilon),
            metrics=MappingProxyType(_numbers(_mapping(metrics))),
        )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(values: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in values.items() if _is_number(v)}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def find_model_dirs(root: Path, *, max_depth: int = MAX_DEPTH) -> list[Path]:
    """Every directory at most ``max_depth`` levels below ``root`` holding a model card, sorted.

    Checkpoint and member-state folders are skipped (they hold no card of their own).
    """
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for card in root.rglob(CARD):
        depth = len(card.relative_to(root).parts) - 1
        if depth <= max_depth and not {"checkpoints", "member-state"} & set(card.parts):
            found.append(card.parent)
    return sorted(found)


def model_cards(root: Path) -> list[ModelCardView]:
    """Return the cards of every model directory under ``root``, newest first.

    A card that cannot be read is left out with a warning in the log.
    """
    views = []
    for model_dir in find_model_dirs(root):
        try:
            views.append(ModelCardView.of(model_dir, read_card(model_dir)))
        except ModelError as exc:
            logger.warning("skipping model directory %s: %s", model_dir, exc)
    return sorted(views, key=lambda v: (v.created_at or "", str(v.path)), reverse=True)


def pooled_model_dir(root: Path, *, kind: str) -> Path | None:
    """Return the newest federated model directory of ``kind`` under ``root``, or ``None``.

    For a family that sums a lane catalog (ETA) only a model with its catalog counts (lane
    queries need it).
    """
    needs_catalog = family(kind).catalog_sums is not None
    for view in model_cards(root):
        if view.kind == kind and view.federated and (view.lane_catalog or not needs_catalog):
            return view.path
    return None


def member_metrics_frame(model_dir: Path) -> pd.DataFrame:
    """Return the global model's test metrics on each member's own rows (long form).

    Columns: ``member``, ``metric`` and ``value`` (float), from the card's
    ``metrics_per_member``; counts (``test_rows``) and ε are left out. Empty for a card
    without per-member metrics.

    Raises
    ------
    ModelError
        If the card is missing or malformed.
    """
    return member_metrics_of(read_card(Path(model_dir)))


def member_metrics_of(card: Mapping[str, Any]) -> pd.DataFrame:
    """Return :func:`member_metrics_frame` of a card already read (a service sent it, say)."""
    records = [
        (str(member), str(metric), float(value))
        for member, metrics in sorted(_mapping(card.get("metrics_per_member")).items())
        for metric, value in sorted(_mapping(metrics).items())
        if metric not in NOT_METRICS and _is_number(value) and math.isfinite(float(value))
    ]
    return pd.DataFrame(records, columns=["member", "metric", "value"]).astype({"value": "float64"})


def card_epsilon_frame(model_dir: Path) -> pd.DataFrame:
    """ε spent per member after each round, from the card's round reports (long form).

    Columns: ``round``, ``member`` and ``epsilon_spent``; empty for a card without rounds.

    Raises
    ------
    ModelError
        If the card is missing or malformed.
    """
    return card_epsilon_of(read_card(Path(model_dir)))


def card_epsilon_of(card: Mapping[str, Any]) -> pd.DataFrame:
    """Return :func:`card_epsilon_frame` of a card already read (a service sent it, say)."""
    reports = _mapping(card.get("federation")).get("round_reports") or []
    records = [
        (int(report.get("server_round", 0)), str(member), float(eps))
        for report in reports
        if isinstance(report, Mapping)
        for member, eps in sorted(_mapping(report.get("epsilon_spent")).items())
        if _is_number(eps) and math.isfinite(float(eps))
    ]
    frame = pd.DataFrame(records, columns=["round", "member", "epsilon_spent"])
    return frame.astype({"round": "int64", "epsilon_spent": "float64"})
