"""Opacus wrapping for local training: plan the noise, clip per sample, add noise, keep the ledger.

:class:`DPEngine` implements :class:`consortium.models.training.Privatizer`. It loads the
member's accountant history into Opacus's own accountant, so ``get_epsilon`` reports the ε spent
over every earlier run and round, plans the noise multiplier for this run's steps against what is
left of the budget, stops before a step that would exceed it, and records the steps it took in
the :class:`~consortium.privacy.ledger.PrivacyLedger` even when training fails half-way.

Clipping is Opacus's ghost clipping (``grad_sample_mode="ghost"``): the criterion returned by
``make_private`` runs the two backward passes, so per-sample gradients are never materialised.
It supports ``nn.Linear`` and ``nn.Embedding``, the only parametrised layers of our networks.

Randomness. The noise and the Poisson sampling draw from
:func:`~consortium.privacy.randomness.noise_generator`: OS entropy, never a run's seed or round
number, unless a test fixes ``seed``.

Examples
--------
>>> import tempfile, pathlib, torch
>>> from consortium.models.training import TensorBatches, TrainConfig, fit_module
>>> from consortium.privacy.budget import PrivacyBudget
>>> from consortium.privacy.ledger import PrivacyLedger
>>> x, y = torch.randn(256, 3), torch.randn(256, 1)
>>> ledger = PrivacyLedger.load(pathlib.Path(tempfile.mkdtemp()), "demo")
>>> engine = DPEngine(ledger=ledger, budget=PrivacyBudget(epsilon=2.0, delta=1e-4), seed=0)
>>> result = fit_module(torch.nn.Linear(3, 1), TensorBatches(x, y), criterion=torch.nn.MSELoss(),
...                     config=TrainConfig(epochs=1, batch_size=64), device=torch.device("cpu"),
...                     privatizer=engine)
>>> 0 < ledger.spent() <= 2.0
True
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import torch
from opacus import PrivacyEngine
from opacus.validators import ModuleValidator
from torch import nn
from torch.utils.data import DataLoader

from consortium.errors import BudgetExceeded, ConfigError
from consortium.models.training import Wrapped
from consortium.privacy.budget import (
    ACCOUNTANT,
    PrivacyBudget,
    epsilon_from_rdp,
    max_steps,
    plan_noise_multiplier,
    rdp_curve,
)
from consortium.privacy.ledger import PrivacyLedger
from consortium.privacy.randomness import noise_generator
from consortium.privacy.samplers import field_embedding_norm_sample

logger = logging.getLogger(__name__)

_REGISTERED = (field_embedding_norm_sample,)  # importing samplers registers them with Opacus


class DPEngine:
    """DP-SGD for one local training run of one member, within its persistent budget.

    Parameters
    ----------
    ledger
        The member's accountant state for this model (see :class:`PrivacyLedger.locked`).
    budget
        The member's total (ε, δ) for this model; ε = ∞ trains without privacy (recorded).
    max_grad_norm
        Per-sample clipping norm C.
    seed
        ``None`` (default): noise and sampling from OS entropy. An int seeds both, for
        reproducible tests and benchmarks only: whoever knows it can regenerate the noise.
    member
        Named in :class:`~consortium.errors.BudgetExceeded`.
    """

    def __init__(
        self,
        *,
        ledger: PrivacyLedger,
        budget: PrivacyBudget,
        max_grad_norm: float = 1.0,
        seed: int | None = None,
        member: str | None = None,
    ) -> None:
        if not max_grad_norm > 0:
            raise ConfigError("max_grad_norm", f"must be > 0, got {max_grad_norm}")
        self.ledger = ledger
        self.budget = budget
        self.max_grad_norm = max_grad_norm
        self.seed = seed
        self.member = member
        self.noise_multiplier: float | None = None
        self.sample_rate: float | None = None
        self.planned_steps = 0
        self.allowed_steps = 0
        self.taken_steps = 0
        self._engine: PrivacyEngine | None = None
        self._dp_module: nn.Module | None = None
        self._past_rdp: np.ndarray | None = None
        self._step_rdp: np.ndarray | None = None
        self._closed = False

    @property
    def private(self) -> bool:
        """Whether this engine adds noise (ε < ∞)."""
        return not self.budget.unlimited

    def wrap(
        self,
        *,
        module: nn.Module,
        optimizer: torch.optim.Optimizer,
        criterion: nn.Module,
        loader: DataLoader[Any],
        epochs: int,
    ) -> Wrapped:
        """Plan the noise for ``epochs`` against the remaining budget and make the setup private.

        Raises
        ------
        BudgetExceeded
            When what is left of the budget cannot pay for even a noise-dominated run.
        """
        n_rows = len(loader.dataset)  # type: ignore[arg-type]
        self.budget.check_rows(n_rows)
        if not self.private:
            self.ledger.record_non_private()
            logger.warning("ε = inf: training WITHOUT differential privacy")
            return Wrapped(module, optimizer, criterion, loader)
        spent = self.ledger.spent(self.budget.delta)
        if spent >= self.budget.epsilon:
            raise BudgetExceeded(spent, self.budget.epsilon, member=self.member)
        errors = ModuleValidator.validate(module, strict=False)
        if errors:
            raise ConfigError("model", f"not compatible with DP-SGD: {errors[0]}")
        # Opacus's Poisson loader samples each row with q = 1 / len(loader) and takes
        # len(loader) steps per epoch; plan and record with exactly those numbers.
        self.sample_rate = 1.0 / len(loader)
        self.planned_steps = epochs * len(loader)
        try:
            self.noise_multiplier = plan_noise_multiplier(
                history=self.ledger.history,
                budget=self.budget,
                sample_rate=self.sample_rate,
                steps=self.planned_steps,
            )
        except BudgetExceeded as exc:
            raise BudgetExceeded(exc.spent, exc.limit, member=self.member) from exc
        self.allowed_steps = max_steps(
            history=self.ledger.history,
            budget=self.budget,
            noise_multiplier=self.noise_multiplier,
            sample_rate=self.sample_rate,
            upper=self.planned_steps,
        )
        self._past_rdp = rdp_curve(self.ledger.history)
        self._step_rdp = rdp_curve([(self.noise_multiplier, self.sample_rate, 1)])
        logger.info(
            "DP plan: σ=%.3f q=%.5f steps=%d (allowed %d), ε spent %.3f of %.3f, accountant %s",
            self.noise_multiplier,
            self.sample_rate,
            self.planned_steps,
            self.allowed_steps,
            spent,
            self.budget.epsilon,
            ACCOUNTANT,
        )
        with warnings.catch_warnings():
            # Opacus warns on every run that secure_mode is off; its fix (torchcsprng) has no build
            # for the kit's torch; the noise is seeded from OS entropy instead (privacy.randomness).
            warnings.filterwarnings("ignore", message="Secure RNG turned off")
            engine = PrivacyEngine(accountant=ACCOUNTANT, secure_mode=False)
        engine.accountant.load_state_dict(
            {"history": list(self.ledger.history), "mechanism": engine.accountant.mechanism()}
        )
        noise = noise_generator(self.seed, _device_of(module))
        # Opacus's Poisson sampler draws from the loader's generator: give it a fresh one.
        sampled: DataLoader[Any] = DataLoader(
            loader.dataset,
            batch_size=loader.batch_size,
            drop_last=loader.drop_last,
            collate_fn=loader.collate_fn,
            generator=noise_generator(self.seed),
        )
        dp_module, dp_optimizer, dp_criterion, dp_loader = engine.make_private(
            module=module,
            optimizer=optimizer,
            criterion=criterion,
            data_loader=sampled,
            noise_multiplier=self.noise_multiplier,
            max_grad_norm=self.max_grad_norm,
            poisson_sampling=True,
            grad_sample_mode="ghost",
            noise_generator=noise,
        )
        self._engine = engine
        self._dp_module = dp_module
        _quiet_ghost_clipping_hooks()
        return Wrapped(dp_module, dp_optimizer, dp_criterion, dp_loader)

    def may_step(self) -> bool:
        """Return whether one more step stays within the budget (counts the step if so)."""
        if not self.private:
            return True
        if self.taken_steps >= self.allowed_steps:
            return False
        self.taken_steps += 1
        return True

    def epsilon(self) -> float | None:
        """Return the cumulative ε spent, this run's steps included; ``None`` without DP."""
        if not self.private:
            return None
        if self._past_rdp is None or self._step_rdp is None:
            return self.ledger.spent(self.budget.delta)
        # Same analysis as Opacus's RDP accountant (whose history holds the same steps),
        # without recomputing the whole history at every refresh.
        curve = self._past_rdp + self.taken_steps * self._step_rdp
        return epsilon_from_rdp(curve, self.budget.delta)

    def close(self, *, completed: bool) -> None:
        """Record the steps taken in the ledger; raise if the budget cut the run short.

        Raises
        ------
        BudgetExceeded
            When training stopped because the next step would have exceeded the budget.
        """
        if self._closed or not self.private or self.noise_multiplier is None:
            return
        self._closed = True
        remove_hooks = getattr(self._dp_module, "remove_hooks", None)
        if callable(remove_hooks):
            remove_hooks()  # the trained module is used for plain inference from now on
        assert self.sample_rate is not None
        self.ledger.record(
            noise_multiplier=self.noise_multiplier,
            sample_rate=self.sample_rate,
            steps=self.taken_steps,
            delta=self.budget.delta,
        )
        if not completed and self.taken_steps >= self.allowed_steps:
            raise BudgetExceeded(
                self.ledger.spent(self.budget.delta), self.budget.epsilon, member=self.member
            )


def _quiet_ghost_clipping_hooks() -> None:
    """Silence torch's "Full backward hook is firing" when Opacus's ghost clipping raises it.

    Ghost clipping's first backward pass runs on a loss whose inputs need no gradient (it only
    collects per-sample norms), so torch warns at every step; the warning is expected there and
    harmless, and would bury a notebook's output. The filter matches that one message, as a
    ``UserWarning``, raised from Opacus's ghost-clipping module only: every other warning (Opacus's
    own included) still shows.
    """
    warnings.filterwarnings(
        "ignore",
        message="Full backward hook is firing",
        category=UserWarning,
        module=r"opacus\.utils\.fast_gradient_clipping_utils",
    )


def _device_of(module: nn.Module) -> torch.device:
    for param in module.parameters():
        return param.device
    return torch.device("cpu")
