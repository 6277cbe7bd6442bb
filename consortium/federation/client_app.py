"""The member's Flower ``ClientApp``: local DP training, secure-sum contributions, evaluation.

One app serves every member; what differs is the node config each SuperNode (or the
one-machine runner) gives it:

``member-id``
    The member's id (a token, e.g. ``meridian-line``).
``data-path``
    Its data: a contract file (``legs.csv``, ``stock.parquet``, ...) or a folder holding one
    file per contract, with its ``sources.json`` declaring the purposes.
``home``
    Member-local state: the privacy accountant (ε spent, kept across rounds and runs) and the
    last global model it received.
``epsilon`` / ``delta`` (optional)
    The member's own total budget per model (default: the run config's ``epsilon``).

Every train instruction carries a ``task`` in its config:

``stats``
    Return this member's scaling statistics (and, for ETA, its lane sums) as fixed-point digits
    for the SecAgg+ secure sum; the rows are loaded for ``federated-analytics``.
``train``
    Train the global model on its own rows under Opacus (``privacy.training.train_local``) with
    the round's cumulative ε cap (see :func:`round_epsilon_cap`) and return ``local - global``.
    A member whose budget is spent returns a zero update with weight 0 and says so.
``calibrate``
    Return the calibration contributions of the global model on its validation rows.

When the leave-one-out contribution rule is on, a train instruction also carries
``score-noise-multiplier`` (and ``score-clip``, ``score-scale``, ``score-max-rows``) and one
extra zero slot per weight array: the member first releases its DP validation gradient sum at
the global model (:mod:`consortium.privacy.gradient_release`, recorded in its accountant before
it trains) and returns it, scaled, in those slots, so it is summed under the same SecAgg+ mask
as the update; it reports how many validation rows it used (``score_rows``, a count).
An evaluate instruction with ``task = score`` then carries the summed gradient ``g`` and the
member answers with one number, ``g · u`` for its own last update ``u``
(:mod:`consortium.points.valuation`).

Evaluate instructions score the calibrated global model on the member's own test rows and
return metrics only. The only plaintext figures a member sends are the counts and metrics in
``FitRes.metrics``/``EvaluateRes.metrics``: rows used, ε spent (not secret) and aggregate scores.
Updates and statistics travel masked (``secaggplus_mod``, through
:func:`~consortium.federation.secagg.masked_updates_mod`, which refuses a plain train instruction
unless the node config sets ``allow-plain-updates``); the guard mod checks each update
against the global model's layout and clips it into the quantisation range (clipping a DP
output is post-processing, so the privacy guarantee is unchanged).
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from flwr.app import ArrayRecord, ConfigRecord, Context
from flwr.client import Client, NumPyClient
from flwr.clientapp import ClientApp
from flwr.common import NDArrays, Scalar
from numpy.typing import NDArray

from consortium.data import load_table
from consortium.data.targets import Split, time_split
from consortium.errors import BudgetExceeded, ConfigError
from consortium.evaluation import evaluate_eta, evaluate_stock
from consortium.federation.model_io import (
    CONTRACT,
    ModelKind,
    build_global_model,
    calibration_from_json,
    stats_from_json,
)
from consortium.federation.records import ndarrays_to_state_dict, specs_of, state_dict_to_ndarrays
from consortium.federation.secagg import make_update_guard_mod, masked_updates_mod
from consortium.federation.secure_sum import encode_arrays
from consortium.forecasts.catalog import LANE_BUCKETS, lane_sums
from consortium.models.eta import EtaModel
from consortium.models.federated import (
    calibration_shapes,
    member_calibration,
    member_statistics,
    statistics_shapes,
)
from consortium.models.store import save_model
from consortium.models.training import TrainConfig
from consortium.privacy.gradient_release import (
    GradientRelease,
    record_release,
    release_gradient,
)
from consortium.privacy.ledger import PrivacyLedger
from consortium.privacy.training import DEFAULT_TRAIN, TIME_COLUMN, requested_budget, train_local

__all__ = ["app", "lane_shapes", "round_epsilon_cap"]

logger = logging.getLogger(__name__)

LAST_UPDATE_KEY = "consortium.last-update"
"""Where a member keeps its own last plaintext update (its state; never sent)."""
LAST_ROUND_KEY = "consortium.last-update-round"
"""Which model and round that update belongs to (answers ``score`` instructions)."""


def round_epsilon_cap(
    *, budget: float, spent: float, server_round: int, rounds: int, max_per_round: float
) -> float:
    """Return the cumulative ε a member may have spent after ``server_round``.

    The member spreads its total ``budget`` evenly over the run (``budget * r / R``) and never
    spends more than the board's ``max_per_round`` in one round, nor more than its budget.

    Examples
    --------
    >>> round_epsilon_cap(budget=8.0, spent=0.0, server_round=1, rounds=4, max_per_round=5.0)
    2.0
    >>> round_epsilon_cap(budget=8.0, spent=2.0, server_round=4, rounds=4, max_per_round=1.5)
    3.5
    """
    if rounds < 1 or not 1 <= server_round:
        raise ConfigError("rounds", "server_round and rounds must be >= 1")
    schedule = budget * min(server_round, rounds) / rounds
    return min(budget, schedule, spent + max_per_round)


def lane_shapes() -> dict[str, tuple[int, ...]]:
    """Shape of the lane sums an ETA member adds to the statistics secure sum."""
    return {"lanes": (4, LANE_BUCKETS)}


@dataclass(frozen=True)
class _Member:
    member: str
    data_path: Path
    home: Path
    epsilon: float
    delta: float | None

    @classmethod
    def of(cls, context: Context) -> _Member:
        cfg = context.node_config
        member = str(cfg.get("member-id", f"node-{context.node_id}"))
        if "data-path" not in cfg:
            raise ConfigError("data-path", f"node config of {member} has no data-path")
        home = Path(str(cfg.get("home", Path.home() / ".consortium" / member)))
        epsilon = float(cfg.get("epsilon", context.run_config.get("epsilon", 8.0)))  # type: ignore[arg-type]
        delta = float(cfg["delta"]) if "delta" in cfg else None  # type: ignore[arg-type]
        return cls(member, Path(str(cfg["data-path"])), home, epsilon, delta)


def data_file(path: Path, kind: ModelKind) -> Path:
    """Return the member's file for ``kind``: ``path`` itself or the contract's file inside it."""
    if path.is_file():
        return path
    contract = CONTRACT[kind]
    for suffix in (".csv", ".csv.gz", ".parquet", ".pq"):
        candidate = path / f"{contract}{suffix}"
        if candidate.is_file():
            return candidate
    raise ConfigError("data-path", f"{path} holds no {contract} file for the {kind} model")


@functools.lru_cache(maxsize=16)
def _load_split(path: str, kind: ModelKind, purpose: str, mtime_ns: int) -> Split:
    del mtime_ns  # part of the cache key only: a changed file is read again
    frame = load_table(Path(path), contract=CONTRACT[kind], purpose=purpose).frame
    return time_split(frame, time_column=TIME_COLUMN[kind])


def load_split(member: _Member, kind: ModelKind, purpose: str) -> Split:
    """Load the member's rows for ``purpose`` (checked against its declaration) and split them."""
    file = data_file(member.data_path, kind)
    return _load_split(str(file), kind, purpose, file.stat().st_mtime_ns)


def _settings(config: dict[str, Scalar]) -> dict[str, Any]:
    return {
        "interval_level": float(config.get("interval-level", 0.8)),
        "tolerance_minutes": int(config.get("tolerance-minutes", 15)),
        "horizon_days": int(config.get("horizon-days", 7)),
    }


class MemberClient(NumPyClient):
    """The legacy client ``secaggplus_mod`` wraps; one instance per message."""

    def __init__(self, context: Context) -> None:
        self._ctx = context
        self._me = _Member.of(context)

    # ------------------------------------------------------------------ fit
    def fit(
        self, parameters: NDArrays, config: dict[str, Scalar]
    ) -> tuple[NDArrays, int, dict[str, Scalar]]:
        """Dispatch on ``config["task"]``: ``stats``, ``train`` or ``calibrate``."""
        task = str(config.get("task", "train"))
        kind = _kind(config)
        if task == "stats":
            return self._stats(kind, config)
        if task == "calibrate":
            return self._calibrate(kind, parameters, config)
        if task == "train":
            return self._train(kind, parameters, config)
        raise ConfigError("task", f"unknown task {task!r}")

    def _stats(
        self, kind: ModelKind, config: dict[str, Scalar]
    ) -> tuple[NDArrays, int, dict[str, Scalar]]:
        split = load_split(self._me, kind, "federated-analytics")
        arrays = member_statistics(kind, split.train)
        shapes = statistics_shapes(kind)
        if kind == "eta":
            arrays["lanes"] = lane_sums(split.train)
            shapes = shapes | lane_shapes()
        return encode_arrays(arrays, shapes), 1, {}

    def _calibrate(
        self, kind: ModelKind, parameters: NDArrays, config: dict[str, Scalar]
    ) -> tuple[NDArrays, int, dict[str, Scalar]]:
        split = load_split(self._me, kind, "eta-training" if kind == "eta" else "stock-training")
        model = build_global_model(
            kind, stats=stats_from_json(kind, str(config["stats"])), **_settings(config)
        )
        n_weights = len(model.network.state_dict())
        _load_weights(model.network, parameters[:n_weights])
        arrays = member_calibration(model, split.valid)
        carried = [np.zeros_like(p) for p in parameters[:n_weights]]
        return carried + encode_arrays(arrays, calibration_shapes(kind)), 1, {}

    def _train(
        self, kind: ModelKind, parameters: NDArrays, config: dict[str, Scalar]
    ) -> tuple[NDArrays, int, dict[str, Scalar]]:
        server_round = int(config.get("round", 1))
        split = load_split(self._me, kind, "eta-training" if kind == "eta" else "stock-training")
        frame = pd.concat([split.train, split.valid, split.test])
        spent = _spent(self._me, kind)
        cap = round_epsilon_cap(
            budget=self._me.epsilon,
            spent=spent,
            server_round=server_round,
            rounds=int(config.get("rounds", 1)),
            max_per_round=float(config.get("max-epsilon-per-round", math.inf)),
        )
        stats = stats_from_json(kind, str(config["stats"]))
        model = build_global_model(kind, stats=stats, **_settings(config))
        n_weights = len(model.network.state_dict())
        scoring = "score-noise-multiplier" in config
        if scoring and len(parameters) != 2 * n_weights:
            raise ConfigError("score-noise-multiplier", "a scored round sends 2 slots per array")
        parameters = parameters[:n_weights]
        _load_weights(model.network, parameters)
        released = self._release(kind, model, split, cap=cap, config=config) if scoring else None
        base = DEFAULT_TRAIN[kind]
        train_cfg = TrainConfig(
            epochs=int(config.get("local-epochs", 1)),
            batch_size=int(config.get("batch-size", base.batch_size)),
            learning_rate=float(config.get("learning-rate", base.learning_rate)),
            max_grad_norm=base.max_grad_norm,
            weight_decay=base.weight_decay,
        )
        zero = [np.zeros_like(p) for p in parameters] * (2 if scoring else 1)
        if cap <= spent:
            logger.warning(
                "%s: ε budget spent (%.3f of %.3f), sitting out",
                self._me.member,
                spent,
                self._me.epsilon,
            )
            return zero, 0, _round_metrics(spent, self._me.epsilon, sat_out=True)
        try:
            trained = train_local(
                frame,
                kind=kind,
                epsilon=cap,
                delta=self._me.delta,
                home=self._me.home,
                member=self._me.member,
                config=train_cfg,
                seed=server_round,
                network=model.network,
                stats=stats,
                device=_device(),
                **_settings(config),
            )
        except BudgetExceeded as exc:
            logger.warning("%s: %s; sitting out this round", self._me.member, exc)
            return zero, 0, _round_metrics(_spent(self._me, kind), self._me.epsilon, sat_out=True)
        local = state_dict_to_ndarrays(trained.model.network.state_dict())
        bound = float(config.get("update-clipping-range", math.inf))
        update = [
            np.clip(np.asarray(new, dtype=np.float64) - np.asarray(old, dtype=np.float64),
                    -bound, bound)  # what the guard mod would clip: keep what is really sent
            for new, old in zip(local, parameters, strict=True)
        ]  # fmt: skip
        self._ctx.state[LAST_UPDATE_KEY] = ArrayRecord(update)
        self._ctx.state[LAST_ROUND_KEY] = ConfigRecord({"model": kind, "round": server_round})
        privacy = trained.card["privacy"]
        weight = min(len(trained.split.train), int(config.get("max-weight", 10**6)))
        metrics = _round_metrics(float(privacy["epsilon_spent"]), self._me.epsilon, sat_out=False)
        metrics["loss"] = float(trained.fit.final_loss)
        if scoring:
            update = update + _gradient_slots(released, parameters, weight, config, bound)
            metrics["score_gradient"] = int(released is not None)
            metrics["score_rows"] = released.rows if released is not None else 0
        return update, weight, metrics

    def _release(
        self, kind: ModelKind, model: Any, split: Split, *, cap: float, config: dict[str, Scalar]
    ) -> GradientRelease | None:
        """Release the DP validation gradient at the global model, or decline (``None``).

        The release is recorded in the accountant first; a member declines when it would use
        up the round's ε cap (training comes first). A member with more than ``score-max-rows``
        validation rows clips each row to ``C * max_rows / rows`` (and scales the noise alike),
        so that its sum stays within ``max_rows * C`` at the same σ.
        """
        sigma = float(config["score-noise-multiplier"])
        with PrivacyLedger.locked(self._me.home, kind) as ledger:
            budget = requested_budget(
                self._me.epsilon, self._me.delta, ledger=ledger, n_rows=len(split.train)
            )
            if not record_release(ledger, noise_multiplier=sigma, delta=budget.delta, cap=cap):
                logger.warning("%s: no ε left for the validation gradient", self._me.member)
                return None
        data, criterion = model.labelled(split.valid)
        max_rows = int(config.get("score-max-rows", 1_000_000))
        clip = float(config.get("score-clip", 1.0)) * min(1.0, max_rows / max(1, len(data)))
        return release_gradient(model.network, data, criterion, clip=clip, noise_multiplier=sigma)

    # ------------------------------------------------------------------ queries
    def get_properties(self, config: dict[str, Scalar]) -> dict[str, Scalar]:
        """Answer a coordinator query about warehouses.

        ``warehouses``: the ids this member answers for; ``warehouse-risk``: a stock-risk
        answer from the pooled model, or a decline.
        """
        from consortium.federation.warehouse_queries import answer_on_member  # noqa: PLC0415

        return answer_on_member(
            config,
            member=self._me.member,
            data_path=self._me.data_path,
            home=self._me.home,
            answers_queries=bool(self._ctx.node_config.get("answer-queries", True)),
        )

    # ------------------------------------------------------------------ score
    def _project(
        self, kind: ModelKind, gradient: NDArrays, config: dict[str, Scalar]
    ) -> tuple[float, int, dict[str, Scalar]]:
        state = self._ctx.state
        marker = state.config_records.get(LAST_ROUND_KEY)
        current = marker is not None and (marker.get("model"), marker.get("round")) == (
            kind,
            int(config.get("round", -1)),
        )
        if not current or LAST_UPDATE_KEY not in state.array_records:
            return 0.0, 0, {"declined": 1}
        update = state.array_records[LAST_UPDATE_KEY].to_numpy_ndarrays()
        if [np.shape(g) for g in gradient] != [np.shape(u) for u in update]:
            raise ConfigError("score", "the gradient does not match this member's update")
        projection = sum(
            float(np.dot(np.asarray(g, dtype=np.float64).ravel(), np.asarray(u).ravel()))
            for g, u in zip(gradient, update, strict=True)
        )
        return 0.0, 1, {"projection": projection}

    # ------------------------------------------------------------------ evaluate
    def evaluate(
        self, parameters: NDArrays, config: dict[str, Scalar]
    ) -> tuple[float, int, dict[str, Scalar]]:
        """Score the calibrated global model on this member's test rows; keep a copy of it.

        With ``task = score`` instead: return ``g · u`` (``g`` = ``parameters``, ``u`` = this
        member's update of that round) as the metric ``projection``, or ``declined``.
        """
        kind = _kind(config)
        if str(config.get("task", "")) == "score":
            return self._project(kind, parameters, config)
        split = load_split(self._me, kind, "evaluation")
        settings = _settings(config)
        model = build_global_model(
            kind, stats=stats_from_json(kind, str(config["stats"])), **settings
        )
        _load_weights(model.network, parameters)
        calibration_from_json(model, str(config["calibration"]))
        if isinstance(model, EtaModel):
            table = evaluate_eta(
                {model.name: model}, split.test, tolerance_minutes=settings["tolerance_minutes"]
            )
        else:
            table = evaluate_stock(
                {model.name: model}, split.test, horizon_days=settings["horizon_days"]
            )
        row = table.iloc[0].to_dict()
        metrics: dict[str, Scalar] = {
            k: float(v) for k, v in row.items() if isinstance(v, int | float) and math.isfinite(v)
        }
        metrics["epsilon_spent"] = _spent(self._me, kind)
        save_model(
            model, self._me.home / "models" / kind, card={"kind": kind, "source": "federation"}
        )
        loss = float(metrics.get("mae_minutes", metrics.get("brier_stockout", 0.0)))
        return loss, len(split.test), metrics


def _gradient_slots(
    released: GradientRelease | None,
    parameters: NDArrays,
    weight: int,
    config: dict[str, Scalar],
    bound: float,
) -> list[NDArray[np.float64]]:
    """Scale a release into the extra SecAgg+ slots so that the weighted sum is ``Σ G_j``.

    SecAgg+ multiplies a member's vector by ``weight / max_weight``; dividing by it here makes
    the slots add up to ``score-scale * Σ G_j`` whatever the members' weights (the coordinator
    multiplies back, see :func:`consortium.federation.scoring.score_round`).
    """
    if released is None or weight <= 0:
        return [np.zeros_like(p, dtype=np.float64) for p in parameters]
    ratio = weight / float(config.get("max-weight", 10**6))
    scale = float(config.get("score-scale", 1.0)) / ratio
    return [np.clip(s * scale, -bound, bound) for s in released.sums]


def _kind(config: dict[str, Scalar]) -> ModelKind:
    kind = str(config.get("model", "eta"))
    if kind not in CONTRACT:
        raise ConfigError("model", f"must be 'eta' or 'stock', got {kind!r}")
    return kind  # type: ignore[return-value]


def _spent(member: _Member, kind: ModelKind) -> float:
    return PrivacyLedger.load(member.home, kind).spent(member.delta)


def _round_metrics(spent: float, budget: float, *, sat_out: bool) -> dict[str, Scalar]:
    return {
        "epsilon_spent": spent if math.isfinite(spent) else 1e308,
        "epsilon_budget": budget if math.isfinite(budget) else 1e308,
        "sat_out": int(sat_out),
    }


def _load_weights(network: torch.nn.Module, parameters: NDArrays) -> None:
    state = ndarrays_to_state_dict(
        parameters, expected=specs_of(network.state_dict()), member="coordinator"
    )
    network.load_state_dict(state)


def _device() -> torch.device | None:
    return torch.device("cuda") if torch.cuda.is_available() else None


def _client_fn(context: Context) -> Client:
    return MemberClient(context).to_client()


app = ClientApp(
    client_fn=_client_fn, mods=[masked_updates_mod, make_update_guard_mod(on_out_of_range="clip")]
)
"""The members' app (``[tool.flwr.app.components] clientapp``)."""
