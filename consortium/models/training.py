"""The training loop shared by the ETA and stock models, with an optional privacy wrapper.

Differential privacy is plugged in through the :class:`Privatizer` protocol (implemented by
:class:`consortium.privacy.engine.DPEngine`), so this module imports no Opacus and the layering
``privacy → models`` holds. Without a privatizer the very same module, loss and batches train
non-privately, which is what the DP-vs-no-DP throughput ratio compares.

Non-private training gets the regularisers DP-SGD's noise would otherwise stand in for: the
batch gradient is clipped at the same norm ``max_grad_norm`` that bounds each DP step, and,
given validation rows (later in time than the training rows), training stops once the
validation loss has not improved for ``patience`` epochs, then trains again from the same start
for the best number of epochs, its learning-rate schedule annealing there
(:mod:`consortium.models.early_stopping`). A private run is left exactly as planned: its steps,
noise and accounting do not depend on the validation rows.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from consortium.errors import ConfigError
from consortium.models.early_stopping import BestEpoch
from consortium.models.progress import OnProgress, ProgressEvent

logger = logging.getLogger(__name__)


def pick_device() -> torch.device:
    """Return CUDA when available, else CPU (the choice is logged and written to the card)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    logger.info("training device: %s", device)
    return device


class TensorBatches(Dataset[tuple[torch.Tensor, ...]]):
    """Aligned tensors served a whole batch at a time (``__getitems__``), without collation."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("TensorBatches needs tensors of one common length")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, ...]:
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        return tuple(t.index_select(0, idx) for t in self.tensors)


def effective_batch_size(requested: int, n_rows: int) -> int:
    """Return the (expected) batch size: ``requested``, capped at ``max(32, 4 sqrt(n))``.

    Small members then still take enough steps per epoch to learn, large ones use the full
    batch (which is what keeps DP noise small relative to the averaged gradient).
    """
    return max(1, min(requested, n_rows, max(32, round(4.0 * n_rows**0.5))))


def _pass_through(batch: Any) -> Any:
    """Collate nothing: ``TensorBatches.__getitems__`` already returns the batched tensors."""
    return batch


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; ``batch_size`` is the expected (Poisson) batch size under DP."""

    epochs: int = 6
    batch_size: int = 512
    learning_rate: float = 2e-3
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    patience: int = 3
    """Non-private runs: epochs without a better validation loss before stopping."""

    def __post_init__(self) -> None:
        if self.epochs <= 0:
            raise ConfigError("epochs", f"must be > 0, got {self.epochs}")
        if self.batch_size <= 0:
            raise ConfigError("batch_size", f"must be > 0, got {self.batch_size}")
        if self.patience <= 0:
            raise ConfigError("patience", f"must be > 0, got {self.patience}")


@dataclass(frozen=True)
class Wrapped:
    """What a privatizer hands back: the module, optimizer, criterion and loader to train with."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    criterion: Any
    loader: DataLoader[Any]


class Privatizer(Protocol):
    """Wraps a training setup so that every step is DP-SGD, and keeps the budget."""

    @property
    def private(self) -> bool:
        """Whether steps are DP-SGD (``False``: ε = ∞, the setup is returned unchanged)."""
        ...

    def wrap(
        self,
        *,
        module: nn.Module,
        optimizer: torch.optim.Optimizer,
        criterion: nn.Module,
        loader: DataLoader[Any],
        epochs: int,
    ) -> Wrapped:
        """Return the private versions; plans the noise for ``epochs`` against the budget."""
        ...

    def may_step(self) -> bool:
        """Return whether one more step stays within the budget."""
        ...

    def epsilon(self) -> float | None:
        """Return the cumulative ε spent, including this run's steps so far."""
        ...

    def close(self, *, completed: bool) -> None:
        """Persist the steps taken; raise ``BudgetExceeded`` if the budget stopped training."""
        ...


@dataclass(frozen=True)
class FitResult:
    """What one call of :func:`fit_module` did."""

    steps: int
    epochs_done: int
    final_loss: float
    seconds: float
    samples: int
    epsilon: float | None
    batch_size: int = 0
    """Expected batch size actually used (see :func:`effective_batch_size`)."""
    best_epoch: int | None = None
    """Non-private runs with validation rows: the epoch whose weights were kept."""


def fit_module(
    module: nn.Module,
    data: TensorBatches,
    *,
    criterion: nn.Module,
    config: TrainConfig,
    device: torch.device,
    privatizer: Privatizer | None = None,
    on_progress: OnProgress | None = None,
    validation: TensorBatches | None = None,
) -> FitResult:
    """Train ``module`` on ``data`` (inputs first, targets last) with Adam.

    Parameters
    ----------
    module
        Takes every tensor of a batch but the last and returns the criterion's input.
    data
        The training tensors; the last one is the target.
    criterion
        A loss module with a ``reduction`` attribute (``"mean"``), per-sample with ``"none"``.
    config
        Epochs, expected batch size, learning rate, clipping norm, seed.
    device
        Where to train.
    privatizer
        ``None`` trains without privacy; else every step is DP-SGD under the member's budget.
    on_progress
        Called after every step with a :class:`ProgressEvent`.
    validation
        Rows later than ``data`` (same layout). Non-private runs choose their number of epochs
        on their loss (early stopping, then a refit); private runs ignore them.

    Returns
    -------
    FitResult
        Steps, epochs, last loss, wall time, samples seen and the ε spent.
    """
    torch.manual_seed(config.seed)
    module.to(device)
    initial = copy.deepcopy(module.state_dict()) if validation is not None else None
    module.train()
    generator = torch.Generator().manual_seed(config.seed)
    batch_size = effective_batch_size(config.batch_size, len(data))
    loader: DataLoader[Any] = DataLoader(
        data,
        batch_size=batch_size,
        shuffle=True,
        drop_last=False,
        collate_fn=_pass_through,
        generator=generator,
    )
    optimizer: torch.optim.Optimizer = torch.optim.Adam(
        module.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    train_module, train_criterion = module, criterion
    if privatizer is not None:
        wrapped = privatizer.wrap(
            module=module,
            optimizer=optimizer,
            criterion=criterion,
            loader=loader,
            epochs=config.epochs,
        )
        train_module, optimizer, train_criterion, loader = (
            wrapped.module,
            wrapped.optimizer,
            wrapped.criterion,
            wrapped.loader,
        )
    steps_per_epoch = len(loader)
    private = privatizer is not None and privatizer.private
    keeper = (
        BestEpoch(module, validation, criterion=criterion, patience=config.patience)
        if not private and validation is not None and len(validation)
        else None
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=config.learning_rate,
        total_steps=max(1, config.epochs * steps_per_epoch),
        pct_start=0.15,
    )
    steps = samples = 0
    loss_value = float("nan")
    epsilon = privatizer.epsilon() if privatizer is not None else None
    started = time.perf_counter()
    completed = False
    epoch = 0
    try:
        for epoch in range(1, config.epochs + 1):
            for step, batch in enumerate(loader, start=1):
                if privatizer is not None and not privatizer.may_step():
                    return _result(
                        steps, epoch - 1, loss_value, started, samples, epsilon, batch_size
                    )
                batch = tuple(t.to(device, non_blocking=True) for t in batch)
                *inputs, target = batch
                optimizer.zero_grad(set_to_none=True)
                if len(target):
                    loss = train_criterion(train_module(*inputs), target)
                    loss.backward()
                    loss_value = float(loss.item())
                if not private:  # the bound every DP step has, on the batch gradient
                    nn.utils.clip_grad_norm_(module.parameters(), config.max_grad_norm)
                optimizer.step()  # an empty Poisson batch still takes a (noise-only) DP step
                scheduler.step()
                steps += 1
                samples += len(target)
                last = step == steps_per_epoch
                if last and privatizer is not None:
                    epsilon = privatizer.epsilon()
                if on_progress is not None:
                    on_progress(
                        ProgressEvent(
                            epoch, config.epochs, step, steps_per_epoch, loss_value, epsilon, last
                        )
                    )
            logger.info("epoch %d/%d loss %.4f ε %s", epoch, config.epochs, loss_value, epsilon)
            if keeper is not None and not keeper.update(epoch=epoch):
                logger.info("validation loss stalled: keeping epoch %d", keeper.best_epoch)
                break
        completed = True
    finally:
        if privatizer is not None:
            privatizer.close(completed=completed)
    if keeper is not None and initial is not None and 0 < keeper.best_epoch < config.epochs:
        # Train again from the same start for the chosen number of epochs, so that the
        # learning-rate schedule anneals where validation says to stop.
        module.load_state_dict(initial)
        refit = fit_module(
            module, data, criterion=criterion, config=replace(config, epochs=keeper.best_epoch),
            device=device, on_progress=on_progress,
        )  # fmt: skip
        return replace(
            refit,
            steps=steps + refit.steps,
            seconds=time.perf_counter() - started,
            samples=samples + refit.samples,
            best_epoch=keeper.best_epoch,
        )
    module.eval()
    best = keeper.best_epoch if keeper is not None else None
    return _result(steps, epoch, loss_value, started, samples, epsilon, batch_size, best)


def _result(
    steps: int,
    epochs: int,
    loss: float,
    started: float,
    samples: int,
    epsilon: float | None,
    batch_size: int,
    best_epoch: int | None = None,
) -> FitResult:
    seconds = time.perf_counter() - started
    return FitResult(steps, epochs, loss, seconds, samples, epsilon, batch_size, best_epoch)
