"""The coordinator's Flower ``ServerApp``: statistics, DP-FedAvg rounds, calibration, evaluation.

One run trains one model (``eta`` or ``stock``) across every member node:

1. **Statistics** -- a SecAgg+ secure sum of the members' scaling statistics (and, for ETA, their
   lane sums for the paid-query catalog); the coordinator sees only consortium-wide sums.
2. **Rounds** -- each round every member trains the global model on its own rows under Opacus
   with its own budget (cumulative ε cap per round, the board's per-round maximum enforced by
   the member) and returns ``local - global`` through SecAgg+; the coordinator gets only the
   weighted average of the updates. A round with dropouts completes with the rest when SecAgg+
   can (recorded as degraded); otherwise it fails cleanly and the previous global model stays.
   Every completed round is checkpointed; a run started with ``resume`` continues after the
   last one.
3. **Calibration** -- a secure sum of CQR score histograms and Platt coefficients.
4. **Evaluation** -- each member scores the calibrated global model on its own test rows and
   reports metrics only.

The result is a model directory (``<out-dir>/model``) that ``consortium predict`` and
``consortium evaluate`` accept, with per-member metrics and ε spent in its card.

Run-config keys (``[tool.flwr.app.config]``, kebab-case): ``model``, ``rounds``, ``local-epochs``,
``secure``, ``out-dir``, ``epsilon`` (default member budget), ``max-epsilon-per-round``,
``update-clipping-range``, ``max-weight``, ``resume``, ``interval-level``,
``tolerance-minutes``, ``horizon-days``, ``round-timeout``, ``seed``, ``score-contributions``,
``score-noise-multiplier``, ``score-clip``, ``score-max-rows``.

Rounds are *scored* (leave-one-out contribution values, :mod:`consortium.federation.scoring`)
when the board's contribution rule is ``leave-one-out`` (asked of the recorder before every
round) or ``score-contributions`` is true.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from flwr.app import Context
from flwr.common import Scalar
from flwr.serverapp import Grid, ServerApp

from consortium import __version__
from consortium.errors import ConfigError, RoundFailed
from consortium.federation.admission import AdmittedGrid
from consortium.federation.checkpoints import Checkpoints, weights_version
from consortium.federation.client_app import lane_shapes
from consortium.federation.grids import evaluate_on
from consortium.federation.local_grid import LocalGrid
from consortium.federation.model_io import (
    ModelKind,
    build_global_model,
    calibration_to_json,
    stats_from_json,
    stats_to_json,
)
from consortium.federation.records import specs_of, state_dict_to_ndarrays
from consortium.federation.scoring import ScoreSettings, score_round
from consortium.federation.secagg import SecAggSettings, plan_secagg, run_fedavg_round
from consortium.federation.secure_sum import run_secure_sum
from consortium.forecasts.catalog import LaneCatalog
from consortium.models.federated import (
    apply_calibration_sums,
    calibration_shapes,
    statistics_from_sums,
    statistics_shapes,
)
from consortium.models.store import save_model
from consortium.rounds import FederationEvent, OnEvent, RoundRecorder, RoundReport

__all__ = [
    "FederationConfig",
    "FederationEvent",
    "RoundRecorder",
    "RoundReport",
    "app",
    "make_server_app",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FederationConfig:
    """The run config of one federation run, validated once."""

    model: ModelKind = "eta"
    rounds: int = 3
    local_epochs: int = 1
    secure: bool = True
    out_dir: Path = Path("federation_output")
    epsilon: float = 8.0
    max_epsilon_per_round: float = math.inf
    update_clipping_range: float = 0.5
    max_weight: float = 1000.0
    resume: bool = False
    interval_level: float = 0.8
    tolerance_minutes: int = 15
    horizon_days: int = 7
    round_timeout: float | None = None
    seed: int = 0
    score_contributions: bool = False
    score_noise_multiplier: float = 20.0
    score_clip: float = 1.0
    score_max_rows: int = 1_000_000

    def __post_init__(self) -> None:
        if self.model not in ("eta", "stock"):
            raise ConfigError("model", f"must be 'eta' or 'stock', got {self.model!r}")
        if self.rounds < 1:
            raise ConfigError("rounds", "must be >= 1")
        if self.local_epochs < 1:
            raise ConfigError("local-epochs", "must be >= 1")
        if not self.epsilon > 0:
            raise ConfigError("epsilon", "must be > 0")
        if not self.max_epsilon_per_round > 0:
            raise ConfigError("max-epsilon-per-round", "must be > 0")
        ScoreSettings(self.score_noise_multiplier, self.score_clip, self.score_max_rows)

    @classmethod
    def from_run_config(cls, run_config: Mapping[str, Any]) -> FederationConfig:
        """Build from Flower's kebab-case run config (unknown keys are refused)."""
        names = {f.replace("_", "-"): f for f in cls.__dataclass_fields__}
        unknown = sorted(set(run_config) - set(names))
        if unknown:
            raise ConfigError(unknown[0], f"unknown run-config key (known: {', '.join(names)})")
        values: dict[str, Any] = {}
        for key, value in run_config.items():
            name = names[key]
            default = getattr(cls, name, None)
            if name == "out_dir":
                values[name] = Path(str(value))
            elif name == "round_timeout":
                values[name] = float(value) if float(value) > 0 else None
            elif isinstance(default, bool):
                values[name] = value if isinstance(value, bool) else str(value).lower() == "true"
            elif isinstance(default, int) and not isinstance(default, bool):
                values[name] = int(value)
            elif isinstance(default, float):
                values[name] = float(value)
            else:
                values[name] = value
        return cls(**values)

    def settings(self) -> dict[str, Any]:
        """Model settings shared by the coordinator and the members."""
        return {
            "interval_level": self.interval_level,
            "tolerance_minutes": self.tolerance_minutes,
            "horizon_days": self.horizon_days,
        }

    def member_config(self) -> dict[str, Scalar]:
        """Return the part of every instruction's config that describes the model."""
        return {
            "model": self.model,
            "interval-level": self.interval_level,
            "tolerance-minutes": self.tolerance_minutes,
            "horizon-days": self.horizon_days,
        }


def make_server_app(
    *, on_event: OnEvent | None = None, recorder: RoundRecorder | None = None
) -> ServerApp:
    """Return the coordinator's ``ServerApp``.

    Parameters
    ----------
    on_event
        Receives a :class:`FederationEvent` after every stage (progress display).
    recorder
        Records rounds in the ledger and supplies the board's policy; ``None`` keeps the
        results in the output folder only.
    """
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        cfg = FederationConfig.from_run_config(dict(context.run_config))
        Federation(grid, context, cfg, on_event=on_event, recorder=recorder).run()

    return app


class Federation:
    """One run of the ServerApp (split into stages for readability)."""

    def __init__(
        self,
        grid: Grid,
        context: Context,
        cfg: FederationConfig,
        *,
        on_event: OnEvent | None,
        recorder: RoundRecorder | None,
    ) -> None:
        self.cfg = cfg
        self.context = context
        self.recorder = recorder
        self.on_event = on_event or (lambda _event: None)
        self.labels: dict[int, str] = (
            dict(grid.node_labels()) if isinstance(grid, LocalGrid) else {}
        )
        if recorder is not None and self.labels:
            allowed = recorder.admitted(self.labels.values())
            grid = AdmittedGrid(grid, {n for n, m in self.labels.items() if m in allowed})
        self.grid = grid
        self.checkpoints = Checkpoints(cfg.out_dir / "checkpoints")
        self.reports: list[RoundReport] = []

    # ------------------------------------------------------------------ stages
    def run(self) -> None:
        """Run every stage; write the model directory."""
        cfg = self.cfg
        n = len(list(self.grid.get_node_ids()))
        logger.info("federation of %d members: %s, %d rounds", n, cfg.model, cfg.rounds)
        resumed = self.checkpoints.latest() if cfg.resume else None
        if resumed is None:
            stats, lanes = self._statistics()
            torch.manual_seed(cfg.seed)
            model = build_global_model(cfg.model, stats=stats, **cfg.settings())
            arrays = state_dict_to_ndarrays(model.network.state_dict())
            self._checkpoint(0, arrays, stats, lanes)
            first = 1
        else:
            stats = stats_from_json(cfg.model, resumed.meta["stats"])
            lanes = np.asarray(resumed.meta["lanes"]) if resumed.meta.get("lanes") else None
            self.reports = [RoundReport(**_report_args(r)) for r in resumed.meta["reports"]]
            arrays = list(resumed.arrays)
            first = resumed.server_round + 1
            logger.info("resuming after round %d", resumed.server_round)
        model = build_global_model(cfg.model, stats=stats, **cfg.settings())
        self.template = build_global_model(cfg.model, stats=stats, **cfg.settings())
        expected = specs_of(model.network.state_dict())
        for rnd in range(first, cfg.rounds + 1):
            arrays = self._round(rnd, arrays, expected, stats, lanes)
        model.network.load_state_dict(
            {
                k: torch.from_numpy(np.asarray(a).copy())
                for k, a in zip(expected, arrays, strict=True)
            }
        )
        self._calibrate(model, arrays, stats)
        metrics = self._evaluate(model, arrays, stats)
        self._write(model, arrays, lanes, metrics, n)

    def _statistics(self) -> tuple[Any, np.ndarray | None]:
        shapes = statistics_shapes(self.cfg.model)
        if self.cfg.model == "eta":
            shapes = shapes | lane_shapes()
        result = run_secure_sum(
            self.grid,
            self.context,
            shapes=shapes,
            fit_config={"task": "stats", **self.cfg.member_config()},
            server_round=0,
            node_labels=self.labels,
        )
        stats = statistics_from_sums(self.cfg.model, result.sums)
        self.on_event(
            FederationEvent("statistics", 0, self.cfg.rounds, detail={"members": result.members})
        )
        return stats, result.sums.get("lanes")

    def _round(
        self,
        rnd: int,
        arrays: list[np.ndarray],
        expected: Mapping[str, Any],
        stats: Any,
        lanes: np.ndarray | None,
    ) -> list[np.ndarray]:
        cfg = self.cfg
        cap = cfg.max_epsilon_per_round
        if self.recorder is not None:
            cap = min(cap, self.recorder.max_epsilon_per_round())
        fit_config: dict[str, Scalar] = {
            "task": "train",
            **cfg.member_config(),
            "round": rnd,
            "rounds": cfg.rounds,
            "local-epochs": cfg.local_epochs,
            "stats": stats_to_json(stats),
            "max-epsilon-per-round": cap if math.isfinite(cap) else 1e308,
            "max-weight": int(cfg.max_weight),
        }
        secagg = (
            SecAggSettings(
                clipping_range=cfg.update_clipping_range,
                max_weight=cfg.max_weight,
                timeout=cfg.round_timeout,
            )
            if cfg.secure
            else None
        )
        scoring = self._score_settings()
        send, layout = list(arrays), dict(expected)
        if scoring is not None:  # one zero slot per array for the members' validation gradient
            fit_config |= scoring.member_config(secagg)
            send += [np.zeros_like(a) for a in arrays]
            layout |= {f"{name} (gradient)": spec for name, spec in expected.items()}
        started = time.perf_counter()
        n = len(list(self.grid.get_node_ids()))
        try:
            outcome = run_fedavg_round(
                self.grid,
                self.context,
                global_arrays=send,
                expected=layout,
                server_round=rnd,
                secagg=secagg,
                node_labels=self.labels,
                fit_config=fit_config,
            )
        except RoundFailed as err:
            logger.warning("%s", err.diagnostics())
            report = RoundReport(
                model=cfg.model,
                server_round=rnd,
                status="failed",
                members_total=n,
                members_aggregated=0,
                failures=err.failures,
                code=err.code,
                seconds=time.perf_counter() - started,
            )
            self._report(report)
            return arrays  # the previous global model stays in force
        new = [
            np.asarray(a, dtype=np.asarray(o).dtype)
            for a, o in zip(outcome.arrays[: len(arrays)], arrays, strict=True)
        ]
        trained_seconds = time.perf_counter() - started
        scored = (
            score_round(
                self.grid,
                outcome=outcome,
                old_arrays=arrays,
                settings=scoring,
                secagg=secagg,
                max_weight=cfg.max_weight,
                nodes=outcome.member_nodes,
                config={**cfg.member_config(), "round": rnd},
                timeout=cfg.round_timeout,
            )
            if scoring is not None
            else None
        )
        metrics = outcome.member_metrics
        sat_out = tuple(sorted(m for m, v in metrics.items() if int(v.get("sat_out", 0))))
        trained = {m: v for m, v in metrics.items() if not int(v.get("sat_out", 0))}
        weights = {m: int(v["num_examples"]) for m, v in trained.items()}
        total = sum(weights.values())
        loss = (
            sum(float(trained[m].get("loss", 0.0)) * w for m, w in weights.items()) / total
            if total
            else None
        )
        degraded = outcome.num_members < n or bool(outcome.failures)
        report = RoundReport(
            model=cfg.model,
            server_round=rnd,
            status="degraded" if degraded else "ok",
            members_total=n,
            members_aggregated=outcome.num_members,
            examples=weights,
            epsilon_spent={m: float(v.get("epsilon_spent", 0.0)) for m, v in metrics.items()},
            sat_out=sat_out,
            loss=loss,
            failures=outcome.failures,
            seconds=trained_seconds,
            model_version=weights_version(self.template.network, new),
            scoring=scored.valuation.status if scored else None,
            quality=scored.valuation.quality if scored else {},
            gains=scored.valuation.gains if scored else {},
            scoring_seconds=scored.seconds if scored else 0.0,
        )
        self._checkpoint(rnd, new, stats, lanes, report)
        self._report(report)
        return new

    def _score_settings(self) -> ScoreSettings | None:
        """Return how to score this round, or ``None`` when it is not scored."""
        cfg = self.cfg
        wanted = cfg.score_contributions or (
            self.recorder is not None and self.recorder.contribution_rule() == "leave-one-out"
        )
        settings = ScoreSettings(cfg.score_noise_multiplier, cfg.score_clip, cfg.score_max_rows)
        return settings if wanted else None

    def _calibrate(self, model: Any, arrays: list[np.ndarray], stats: Any) -> None:
        result = run_secure_sum(
            self.grid,
            self.context,
            shapes=calibration_shapes(self.cfg.model),
            carry=arrays,
            fit_config={
                "task": "calibrate",
                **self.cfg.member_config(),
                "stats": stats_to_json(stats),
            },
            server_round=self.cfg.rounds + 1,
            node_labels=self.labels,
        )
        apply_calibration_sums(model, result.sums)
        self.on_event(
            FederationEvent(
                "calibration", self.cfg.rounds, self.cfg.rounds, detail={"members": result.members}
            )
        )

    def _evaluate(
        self, model: Any, arrays: list[np.ndarray], stats: Any
    ) -> dict[str, dict[str, float]]:
        config: dict[str, Scalar] = {
            **self.cfg.member_config(),
            "stats": stats_to_json(stats),
            "calibration": calibration_to_json(model),
        }
        replies = evaluate_on(
            self.grid,
            self.grid.get_node_ids(),
            arrays,
            config,
            labels=self.labels,
            timeout=self.cfg.round_timeout,
            purpose="evaluation",
        )
        per_member: dict[str, dict[str, float]] = {
            member: {
                **{k: float(v) for k, v in res.metrics.items()},  # type: ignore[arg-type]
                "test_rows": float(res.num_examples),
            }
            for member, res in replies.items()
        }
        self.on_event(
            FederationEvent(
                "evaluation", self.cfg.rounds, self.cfg.rounds, detail={"metrics": per_member}
            )
        )
        return per_member

    # ------------------------------------------------------------------ outputs
    def _report(self, report: RoundReport) -> None:
        self.reports.append(report)
        if self.recorder is not None:
            self.recorder.record_round(report)
        self.on_event(FederationEvent("round", report.server_round, self.cfg.rounds, report))

    def _checkpoint(
        self,
        rnd: int,
        arrays: list[np.ndarray],
        stats: Any,
        lanes: np.ndarray | None,
        report: RoundReport | None = None,
    ) -> None:
        reports = [*self.reports, *([report] if report is not None else [])]
        self.checkpoints.save(
            rnd,
            arrays,
            {
                "model": self.cfg.model,
                "stats": stats_to_json(stats),
                "lanes": np.asarray(lanes).tolist() if lanes is not None else None,
                "reports": [asdict(r) for r in reports],
            },
        )

    def _write(
        self,
        model: Any,
        arrays: list[np.ndarray],
        lanes: np.ndarray | None,
        metrics: dict[str, dict[str, float]],
        n_members: int,
    ) -> None:
        cfg = self.cfg
        out = cfg.out_dir / "model"
        plan = plan_secagg(n_members) if cfg.secure and n_members >= 3 else None
        last_spent: dict[str, float] = {}
        for r in self.reports:
            last_spent.update(r.epsilon_spent)
        card = {
            "kind": cfg.model,
            "name": f"federated-dp-{cfg.model}",
            "kit_version": __version__,
            "created_at": datetime.now(UTC).isoformat(),
            "model_version": weights_version(self.template.network, arrays),
            "federation": {
                "members": n_members,
                "rounds": cfg.rounds,
                "local_epochs": cfg.local_epochs,
                "secure_aggregation": "SecAgg+ (Flower)" if cfg.secure else "none",
                "secagg_shares": plan.num_shares if plan else None,
                "secagg_threshold": plan.threshold if plan else None,
                "update_clipping_range": cfg.update_clipping_range,
                "round_reports": [asdict(r) for r in self.reports],
                "contribution_scoring": (
                    {
                        "rule": "leave-one-out, first order, over SecAgg+ (points.valuation)",
                        "gradient_noise_multiplier": cfg.score_noise_multiplier,
                        "gradient_clip": cfg.score_clip,
                        "gradient_max_rows": cfg.score_max_rows,
                        "rounds_scored": sum(r.scoring is not None for r in self.reports),
                    }
                    if any(r.scoring is not None for r in self.reports)
                    else None
                ),
            },
            "privacy": {
                "mechanism": "DP-SGD (Opacus) on every member, RDP accountant, per-member budget",
                "epsilon_spent": last_spent,
                "max_epsilon_per_round": cfg.max_epsilon_per_round,
                "not_covered_by_epsilon": (
                    "scaling statistics, lane sums and calibration histograms are exact secure "
                    "sums over all members (SecAgg+): the coordinator sees consortium-wide "
                    "sums only, but they are not noised. Scored rounds: each member's validation "
                    "gradient release is in its ε; the one number g·u it reports per round is "
                    "post-processing of its DP update and of that release"
                ),
            },
            "metrics_per_member": metrics,
            "metrics_pooled": _pooled(metrics),
            "evaluated_on": "each member's own test rows (the last 25% of its period)",
        }
        save_model(model, out, card=card)
        if lanes is not None:
            LaneCatalog(np.asarray(lanes)).save(out)
        logger.info("federated model written to %s", out)


def _pooled(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
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


def _report_args(data: Mapping[str, Any]) -> dict[str, Any]:
    args = dict(data)
    for key in ("sat_out", "failures"):
        args[key] = tuple(args.get(key) or ())
    return args


app = make_server_app()
"""The coordinator's app (``[tool.flwr.app.components] serverapp``)."""
