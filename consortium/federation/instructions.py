"""The typed boundary between coordinator and member: one run config, one instruction per message.

:class:`RunConfig` is the coordinator's settings for one run, read once from Flower's run config
(``[tool.flwr.app.config]``, kebab-case keys) with every default written here and nowhere else.
:class:`Instruction` is what a member is asked to do in one message; the coordinator builds it
and :meth:`Instruction.to_config` turns it into the ``ConfigRecord`` that travels, and the member
rebuilds and validates it once with :meth:`Instruction.from_config`. Nothing else reads
``config["..."]``.

ε is named for what it is at each step: a member's **budget** is its own total for a model (node
config, never sent); the board's **max_epsilon_per_round** caps what one round may add; the
member turns both into the round's cumulative **cap**
(:func:`consortium.privacy.budget.round_epsilon_cap`) and reports the ε it has **spent**.

Examples
--------
>>> run = RunConfig.from_config({"model": "stock", "rounds": 2, "interval-level": 0.9})
>>> run.model, run.rounds, run.local_epochs, run.settings.interval_level
('stock', 2, 2, 0.9)
>>> ins = Instruction(task=Task.TRAIN, model="stock", settings=run.settings, server_round=1,
...                   rounds=2, local_epochs=run.local_epochs, max_weight=1000)
>>> Instruction.from_config(ins.to_config()) == ins
True
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from consortium.config import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INTERVAL_LEVEL,
    DEFAULT_TOLERANCE_MINUTES,
)
from consortium.errors import ConfigError
from consortium.federation.coordinator.server_optimizer import ServerOptimizerSettings
from consortium.federation.run_config import read_run_config
from consortium.models.families import MODEL_KINDS, family
from consortium.models.family import ModelKind, ModelSettings

__all__ = [
    "MEMBER_ONLY_KEYS",
    "MIN_MEMBERS",
    "RUN_ID",
    "Instruction",
    "RunConfig",
    "ScoreSettings",
    "Task",
    "min_members_of",
]

Scalar = bool | int | float | str
ConfigValues = dict[str, Scalar]

MEMBER_ONLY_KEYS: tuple[str, ...] = ("epsilon", "delta")
"""Keys only a member's own node config sets (its budget); a run config naming one is refused."""

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A run id: letters, digits, ``.``, ``_``, ``-``; at most 64 characters."""

MIN_MEMBERS = 3
"""Floor of ``min-members``: with two contributors the sum and one's own reveal the other's."""


NO_PRIVACY_EPSILON = 1e308
"""How ε = ∞ (training without DP) travels in a reply metric, which must be finite."""


class Task(StrEnum):
    """What one message asks of a member."""

    STATS = "stats"
    """Secure-sum this member's scaling statistics (and catalog sums)."""
    TRAIN = "train"
    """Train the global model locally under DP; return ``local - global`` through SecAgg+."""
    CALIBRATE = "calibrate"
    """Secure-sum the calibration contributions of the global model."""
    EVALUATE = "evaluate"
    """Score the calibrated global model on the member's own test rows (metrics only)."""
    SCORE = "score"
    """Answer ``g · u`` for the member's own update of the round (leave-one-out scoring)."""


@dataclass(frozen=True)
class ScoreSettings:
    """How members release their validation gradient in a scored round (``score-*`` keys)."""

    noise_multiplier: float = 20.0
    clip: float = 1.0
    max_rows: int = 1_000_000

    def __post_init__(self) -> None:
        for key, ok in (("noise-multiplier", self.noise_multiplier > 0),
                        ("clip", self.clip > 0), ("max-rows", self.max_rows >= 1)):  # fmt: skip
            if not ok:
                raise ConfigError(f"score-{key}", "out of range")

    def scale(self, clipping_range: float | None) -> float:
        """Factor that maps a gradient sum (norm at most ``max_rows * clip``) into ``±R``.

        Under SecAgg+ one quantum is then ``2 max_rows clip / Q`` of a sum (0.48 clip at the
        defaults), far below the release noise ``σ clip``. ``None``: the plain path (``R = 1``).
        """
        reach = clipping_range if clipping_range is not None else 1.0
        return reach / (self.max_rows * self.clip)


@dataclass(frozen=True)
class RunConfig:
    """The coordinator's settings for one federation run, validated once.

    It sets no member's ε budget: a budget is the member's own node config's ``epsilon``, and a
    run config that names one is refused (:data:`MEMBER_ONLY_KEYS`).
    """

    model: ModelKind = "eta"
    rounds: int = 3
    local_epochs: int = 2
    secure: bool = True
    out_dir: Path = Path("federation_output")
    max_epsilon_per_round: float = math.inf
    update_clipping_range: float = 0.5
    max_weight: float = 1000.0
    resume: bool = False
    interval_level: float = DEFAULT_INTERVAL_LEVEL
    tolerance_minutes: int = DEFAULT_TOLERANCE_MINUTES
    horizon_days: int = DEFAULT_HORIZON_DAYS
    round_timeout: float | None = None
    seed: int = 0
    score_contributions: bool = False
    score_noise_multiplier: float = 20.0
    score_clip: float = 1.0
    score_max_rows: int = 1_000_000
    min_members: int = MIN_MEMBERS
    """The consortium's minimum of contributing members per aggregate (never below 3)."""
    run_id: str = ""
    """Rounds and mints are keyed by it. ``""``: a fresh id for a new run; a resumed run takes
    the id its checkpoints hold (a different one given here is refused)."""
    ledger_db: str = ""
    """The coordinator's database (SQLAlchemy URL; ``""``: record nothing) for rounds, mints, the
    board's policy and roster (:mod:`consortium.contributions.opening`). The run config reaches
    every member, so a URL with a password is refused (PostgreSQL reads the environment's)."""
    coordinator_key: str = ""
    """The coordinator's private key file (with ``ledger-db``), on the coordinator's machine."""
    server_optimizer: str = "fedavgm"
    """``fedavg``, ``fedavgm``, ``fedadam`` (:mod:`.coordinator.server_optimizer`, RESULTS.md)."""
    server_learning_rate: float = 1.0
    server_momentum: float = 0.7
    server_tau: float = 1e-3

    def __post_init__(self) -> None:
        if self.model not in MODEL_KINDS:
            raise ConfigError("model", f"must be one of {', '.join(MODEL_KINDS)}: {self.model!r}")
        checks = {
            "rounds": self.rounds >= 1,
            "local-epochs": self.local_epochs >= 1,
            "max-epsilon-per-round": self.max_epsilon_per_round > 0,
            "update-clipping-range": 0 < self.update_clipping_range < math.inf,
            "max-weight": self.max_weight > 0,
            "min-members": self.min_members >= MIN_MEMBERS,
            "run-id": self.run_id == "" or RUN_ID.fullmatch(self.run_id) is not None,
        }
        if bool(self.ledger_db) != bool(self.coordinator_key):
            raise ConfigError("ledger-db", "ledger-db and coordinator-key go together")
        if urlsplit(self.ledger_db).password is not None:
            raise ConfigError(
                "ledger-db",
                "the run config reaches every member's SuperNode: give the database password "
                "in the coordinator's environment (PGPASSWORD, ~/.pgpass), not in the URL",
            )
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(name, "out of range")
        self.settings  # noqa: B018  (validates the model settings)
        self.score  # noqa: B018
        self.server  # noqa: B018

    @property
    def settings(self) -> ModelSettings:
        """The model settings every member receives."""
        return ModelSettings(
            interval_level=self.interval_level,
            tolerance_minutes=self.tolerance_minutes,
            horizon_days=self.horizon_days,
        )

    @property
    def server(self) -> ServerOptimizerSettings:
        """The server optimiser's settings (``server-*`` keys)."""
        return ServerOptimizerSettings(self.server_optimizer, self.server_learning_rate,
                                       self.server_momentum, self.server_tau)  # fmt: skip

    @property
    def score(self) -> ScoreSettings:
        """How a scored round releases gradients."""
        return ScoreSettings(self.score_noise_multiplier, self.score_clip, self.score_max_rows)

    @classmethod
    def from_config(cls, run_config: Mapping[str, Any]) -> RunConfig:
        """Build from Flower's kebab-case run config (unknown keys are refused).

        Raises
        ------
        ConfigError
            An unknown key, a malformed value, or a member-only key such as ``epsilon``.
        """
        for key in MEMBER_ONLY_KEYS:
            if key in run_config:
                raise ConfigError(
                    key,
                    "a member's privacy budget comes only from its own node config; "
                    "the coordinator's run config cannot set it",
                )
        return read_run_config(cls, run_config)

    def to_config(self) -> ConfigValues:
        """Return the kebab-case run config that :meth:`from_config` reads back."""
        out: ConfigValues = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, Path) or (isinstance(value, float) and math.isinf(value)):
                value = str(value)  # Flower's config has no infinity; from_config reads "inf"
            out[f.name.replace("_", "-")] = value
        return out


@dataclass(frozen=True)
class Instruction:
    """What one message asks of a member (see :class:`Task`), validated once on arrival.

    ``stats`` and ``calibration`` are the family's own objects (consortium-wide statistics, the
    calibration of the global model); they travel as JSON text.
    """

    task: Task
    model: ModelKind
    settings: ModelSettings = field(default_factory=ModelSettings)
    server_round: int = 0
    rounds: int = 1
    local_epochs: int = 1
    stats: Any = None
    calibration: Mapping[str, Any] | None = None
    max_epsilon_per_round: float = math.inf
    """The board's cap on the ε one round may add (``inf``: none)."""
    max_weight: int = 10**6
    """The largest example count the member may report (SecAgg+ weight)."""
    update_clipping_range: float | None = None
    """``R``: the member clips its update into ``[-R, R]`` (``None``: the plain path, no bound)."""
    score: ScoreSettings | None = None
    """Set in a scored round: release the DP validation gradient in the extra slots."""
    score_scale: float = 1.0
    min_members: int = MIN_MEMBERS
    """The fewest contributing members the member accepts in a secure sum (never below 3)."""
    max_delta: float | None = None
    """The board's largest δ; the member refuses to train at a δ above it (``None``: not sent)."""

    def __post_init__(self) -> None:
        family(self.model)
        if self.max_delta is not None and not 0 < self.max_delta < 1:
            raise ConfigError("max-delta", "must be in (0, 1)")
        if self.server_round < 0 or self.rounds < 1 or self.local_epochs < 1:
            raise ConfigError("round", "round >= 0, rounds >= 1 and local-epochs >= 1 required")
        if not self.max_epsilon_per_round > 0:
            raise ConfigError("max-epsilon-per-round", "must be > 0")
        if self.max_weight < 1:
            raise ConfigError("max-weight", "must be >= 1")
        if self.min_members < MIN_MEMBERS:
            raise ConfigError("min-members", f"must be >= {MIN_MEMBERS}")

    def but(self, **changes: Any) -> Instruction:
        """Return a copy with ``changes`` (e.g. the task)."""
        return replace(self, **changes)

    def to_config(self) -> ConfigValues:
        """Encode for a ``ConfigRecord`` (absent keys mean "not set"; no infinities travel)."""
        fam = family(self.model)
        out: ConfigValues = {
            "task": self.task.value,
            "model": self.model,
            "interval-level": self.settings.interval_level,
            "tolerance-minutes": self.settings.tolerance_minutes,
            "horizon-days": self.settings.horizon_days,
            "round": self.server_round,
            "rounds": self.rounds,
            "local-epochs": self.local_epochs,
            "max-weight": self.max_weight,
            "min-members": self.min_members,
        }
        if self.stats is not None:
            out["stats"] = json.dumps(fam.stats_to_dict(self.stats))
        if self.calibration is not None:
            out["calibration"] = json.dumps(dict(self.calibration))
        if math.isfinite(self.max_epsilon_per_round):
            out["max-epsilon-per-round"] = self.max_epsilon_per_round
        if self.max_delta is not None:
            out["max-delta"] = self.max_delta
        if self.update_clipping_range is not None:
            out["update-clipping-range"] = self.update_clipping_range
        if self.score is not None:
            out |= {
                "score-noise-multiplier": self.score.noise_multiplier,
                "score-clip": self.score.clip,
                "score-max-rows": self.score.max_rows,
                "score-scale": self.score_scale,
            }
        return out

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Instruction:
        """Decode and validate a received ``ConfigRecord``.

        Raises
        ------
        ConfigError
            A missing or malformed key, named.
        """
        try:
            task = Task(str(_required(config, "task")))
            model = str(_required(config, "model"))
            fam = family(model)
            score = (
                ScoreSettings(
                    float(config["score-noise-multiplier"]),
                    float(config["score-clip"]),
                    int(config["score-max-rows"]),
                )
                if "score-noise-multiplier" in config
                else None
            )
            return cls(
                task=task,
                model=fam.kind,
                settings=ModelSettings(
                    interval_level=float(_required(config, "interval-level")),
                    tolerance_minutes=int(_required(config, "tolerance-minutes")),
                    horizon_days=int(_required(config, "horizon-days")),
                ),
                server_round=int(config.get("round", 0)),
                rounds=int(config.get("rounds", 1)),
                local_epochs=int(config.get("local-epochs", 1)),
                stats=fam.stats_from_dict(_json(config, "stats")) if "stats" in config else None,
                calibration=_json(config, "calibration"),
                max_epsilon_per_round=float(config.get("max-epsilon-per-round", math.inf)),
                max_weight=int(config.get("max-weight", 10**6)),
                update_clipping_range=(
                    float(config["update-clipping-range"])
                    if "update-clipping-range" in config
                    else None
                ),
                score=score,
                score_scale=float(config.get("score-scale", 1.0)),
                min_members=int(config.get("min-members", MIN_MEMBERS)),
                max_delta=float(config["max-delta"]) if "max-delta" in config else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError("instruction", f"malformed instruction: {exc!r}") from exc

    def needs_stats(self) -> Any:
        """Return :attr:`stats`, or raise when the coordinator sent none."""
        if self.stats is None:
            raise ConfigError("stats", f"a {self.task} instruction must carry the statistics")
        return self.stats


def min_members_of(config: Mapping[str, Any]) -> int:
    """Return a received config's ``min-members``, never below :data:`MIN_MEMBERS` (member mods).

    Examples
    --------
    >>> min_members_of({}), min_members_of({"min-members": 5}), min_members_of({"min-members": 1})
    (3, 5, 3)
    """
    try:
        asked = int(config.get("min-members", MIN_MEMBERS))
    except (TypeError, ValueError) as exc:
        raise ConfigError("min-members", f"cannot read {config.get('min-members')!r}") from exc
    return max(MIN_MEMBERS, asked)


def _json(config: Mapping[str, Any], key: str) -> Any:
    return json.loads(str(config[key])) if key in config else None


def _required(config: Mapping[str, Any], key: str) -> Any:
    if key not in config:
        raise ConfigError(key, "missing from the instruction")
    return config[key]
