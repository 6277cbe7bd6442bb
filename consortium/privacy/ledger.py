"""The member's persistent privacy accountant: ε spent per model, across runs and rounds.

The state lives on the member's disk at ``<home>/privacy/<model>-accountant.json`` and holds an
Opacus RDP accountant's ``state_dict`` (its history of ``(noise_multiplier, sample_rate, steps)``),
the δ it is measured at, and how many runs trained without privacy. Loading validates every key
and raises a :class:`~consortium.errors.ModelError` (a ``ValueError``) that names the bad one.

The federation calls the same small API once per round::

    with PrivacyLedger.locked(home, "eta") as ledger:
        left = ledger.remaining(budget)
        ...  # train with a noise multiplier planned against ledger.history
        ledger.record(noise_multiplier=sigma, sample_rate=q, steps=k)   # saved at once

Examples
--------
>>> import tempfile, pathlib
>>> home = pathlib.Path(tempfile.mkdtemp())
>>> ledger = PrivacyLedger.load(home, "eta")
>>> ledger.record(noise_multiplier=1.0, sample_rate=0.01, steps=100, delta=1e-5)
>>> round(PrivacyLedger.load(home, "eta").spent(), 2) > 0
True
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from opacus.accountants import RDPAccountant

from consortium.errors import ConfigError, ModelError
from consortium.privacy.budget import HistoryEntry, PrivacyBudget, epsilon_spent

logger = logging.getLogger(__name__)

FORMAT = "consortium-privacy-ledger/1"
_MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def ledger_path(home: Path, model: str) -> Path:
    """Return where the accountant state of ``model`` lives under ``home``."""
    if not _MODEL_NAME.match(model):
        raise ConfigError("model", f"must match {_MODEL_NAME.pattern}, got {model!r}")
    return Path(home) / "privacy" / f"{model}-accountant.json"


@dataclass
class PrivacyLedger:
    """ε spent by one member on one model, persisted after every change."""

    path: Path
    model: str
    history: list[HistoryEntry] = field(default_factory=list)
    delta: float | None = None
    non_private_runs: int = 0

    # ----------------------------------------------------------------- loading and saving
    @classmethod
    def load(cls, home: Path, model: str) -> PrivacyLedger:
        """Load the ledger of ``model`` under ``home``; a missing file is an empty ledger.

        Raises
        ------
        ModelError
            When the file exists but is not a valid ledger (naming the key that is wrong).
        """
        path = ledger_path(home, model)
        ledger = cls(path=path, model=model)
        if not path.exists():
            return ledger
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelError(str(path), f"accountant state is not JSON: {exc}") from exc
        try:
            ledger.load_state_dict(state)
        except ValueError as exc:
            raise ModelError(str(path), str(exc)) from exc
        return ledger

    @classmethod
    @contextmanager
    def locked(cls, home: Path, model: str) -> Iterator[PrivacyLedger]:
        """Load the ledger under an exclusive file lock held until the block ends.

        Two trainings of the same member and model cannot then both plan against the same
        remaining budget.
        """
        path = ledger_path(home, model)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield cls.load(home, model)
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def state_dict(self) -> dict[str, object]:
        """Return the JSON-ready state (Opacus accountant ``state_dict`` semantics)."""
        accountant = RDPAccountant()
        accountant.history = list(self.history)
        acc_state = accountant.state_dict()
        return {
            "format": FORMAT,
            "model": self.model,
            "accountant": {
                "mechanism": acc_state["mechanism"],
                "history": [[s, q, k] for s, q, k in acc_state["history"]],
            },
            "delta": self.delta,
            "non_private_runs": self.non_private_runs,
            "epsilon_spent": None if self.delta is None else _json_float(self.spent()),
            "updated_at": datetime.now(UTC).isoformat(),
        }

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        """Validate ``state`` and replace this ledger's contents with it.

        Raises
        ------
        ValueError
            Saying exactly which key is missing or malformed, or which mechanism mismatches.
        """
        if not isinstance(state, Mapping) or not state:
            raise ValueError("accountant state is empty or not an object")
        for key in ("format", "model", "accountant", "delta", "non_private_runs"):
            if key not in state:
                raise ValueError(f"accountant state does not have the key `{key}`")
        if state["format"] != FORMAT:
            raise ValueError(f"`format` is {state['format']!r}, expected {FORMAT!r}")
        if state["model"] != self.model:
            raise ValueError(f"`model` is {state['model']!r}, expected {self.model!r}")
        acc = state["accountant"]
        if not isinstance(acc, Mapping):
            raise ValueError("`accountant` is not an object")
        accountant = RDPAccountant()
        accountant.load_state_dict(dict(acc))  # Opacus checks `history` and `mechanism`
        history: list[HistoryEntry] = []
        for i, entry in enumerate(accountant.history):
            if not isinstance(entry, list | tuple) or len(entry) != 3:
                raise ValueError(f"`accountant.history[{i}]` is not [noise, rate, steps]")
            sigma, rate, steps = entry
            if not isinstance(sigma, int | float) or not sigma > 0:
                raise ValueError(f"`accountant.history[{i}]` noise multiplier must be > 0")
            if not isinstance(rate, int | float) or not 0 < rate <= 1:
                raise ValueError(f"`accountant.history[{i}]` sample rate must be in (0, 1]")
            if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
                raise ValueError(f"`accountant.history[{i}]` steps must be an integer >= 0")
            history.append((float(sigma), float(rate), steps))
        delta = state["delta"]
        if delta is not None and (not isinstance(delta, int | float) or not 0 < delta < 1):
            raise ValueError(f"`delta` must be null or in (0, 1), got {delta!r}")
        runs = state["non_private_runs"]
        if not isinstance(runs, int) or isinstance(runs, bool) or runs < 0:
            raise ValueError(f"`non_private_runs` must be an integer >= 0, got {runs!r}")
        self.history = history
        self.delta = None if delta is None else float(delta)
        self.non_private_runs = runs

    def save(self) -> None:
        """Write the state atomically (temporary file, fsync, rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.state_dict(), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    # ----------------------------------------------------------------- bookkeeping
    @property
    def steps(self) -> int:
        """DP-SGD steps recorded so far, over every run."""
        return sum(k for _, _, k in self.history)

    def spent(self, delta: float | None = None) -> float:
        """Return ε spent at ``delta`` (default: the ledger's δ); ∞ after a non-private run."""
        if self.non_private_runs:
            return math.inf
        d = self.delta if delta is None else delta
        if d is None:
            return 0.0
        return epsilon_spent(self.history, delta=d)

    def remaining(self, budget: PrivacyBudget) -> float:
        """Return ε left under ``budget`` (never negative; ∞ for an unlimited budget)."""
        if budget.unlimited:
            return math.inf
        return max(0.0, budget.epsilon - self.spent(budget.delta))

    def resolve_delta(self, requested: float | None, *, fallback: float) -> float:
        """Return the δ to measure this run at: the request, else the ledger's, else ``fallback``.

        Raises
        ------
        ConfigError
            ``delta`` when a request differs from the δ already recorded (ε at different δ
            values do not add up).
        """
        if requested is not None and self.delta is not None and requested != self.delta:
            raise ConfigError(
                "delta", f"this member's ledger is measured at δ={self.delta:g}, got {requested:g}"
            )
        if requested is not None:
            return requested
        return self.delta if self.delta is not None else fallback

    def record(
        self, *, noise_multiplier: float, sample_rate: float, steps: int, delta: float
    ) -> None:
        """Append DP-SGD steps to the history and save at once."""
        if steps < 0:
            raise ValueError("steps must be >= 0")
        if self.delta is None:
            self.delta = delta
        if steps:
            last = self.history[-1] if self.history else None
            if last is not None and last[0] == noise_multiplier and last[1] == sample_rate:
                self.history[-1] = (last[0], last[1], last[2] + steps)
            else:
                self.history.append((float(noise_multiplier), float(sample_rate), int(steps)))
        self.save()
        logger.info("%s: recorded %d steps, ε spent %.4f", self.path, steps, self.spent())

    def record_non_private(self) -> None:
        """Record a run without differential privacy: ε spent becomes ∞ for good."""
        self.non_private_runs += 1
        self.save()
        logger.warning("%s: non-private run recorded; ε spent is now infinite", self.path)


def _json_float(value: float) -> float | str:
    return "inf" if math.isinf(value) else value
