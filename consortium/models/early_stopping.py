"""Early stopping on the validation period: keep the weights of the epoch that validated best.

A time split's validation rows come after the training rows, so the validation loss measures
what the network learnt that still holds later; once it stops improving, further epochs only
memorise the training period. Non-private training uses this as its regulariser (DP-SGD's
noise must not be the only thing that keeps a model from over-fitting).

Examples
--------
>>> import torch
>>> from consortium.models.training import TensorBatches
>>> net = torch.nn.Linear(2, 1)
>>> rows = TensorBatches(torch.ones(4, 2), torch.zeros(4, 1))
>>> keeper = BestEpoch(net, rows, criterion=torch.nn.MSELoss(), patience=2)
>>> keeper.update(epoch=1)
True
>>> keeper.best_epoch
1
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from consortium.errors import ConfigError

if TYPE_CHECKING:  # training.py imports this module
    from consortium.models.training import TensorBatches

_EVAL_BATCH = 65536


class BestEpoch:
    """Track the validation loss per epoch and keep a copy of the best weights.

    Parameters
    ----------
    module
        The network being trained (plain, not wrapped by a privacy engine).
    validation
        Validation tensors, inputs first and target last (as the training data).
    criterion
        The training loss, reduced by ``"mean"``.
    patience
        Epochs without improvement after which :meth:`update` says stop.
    """

    def __init__(
        self, module: nn.Module, validation: TensorBatches, *, criterion: nn.Module, patience: int
    ) -> None:
        if patience <= 0:
            raise ConfigError("patience", f"must be > 0, got {patience}")
        self.module = module
        self.validation = validation
        self.criterion = criterion
        self.patience = patience
        self.best_loss = math.inf
        self.best_epoch = 0
        self._best_state: dict[str, Any] | None = None
        self._since_best = 0

    @torch.no_grad()
    def loss(self) -> float:
        """Return the mean criterion over the validation rows."""
        device = next(self.module.parameters()).device
        was_training = self.module.training
        self.module.eval()
        total, n = 0.0, len(self.validation)
        for start in range(0, n, _EVAL_BATCH):
            chunk = [t[start : start + _EVAL_BATCH].to(device) for t in self.validation.tensors]
            *inputs, target = chunk
            total += float(self.criterion(self.module(*inputs), target)) * len(target)
        self.module.train(was_training)
        return total / max(1, n)

    def update(self, *, epoch: int) -> bool:
        """Score the weights after ``epoch``; return whether training should go on."""
        loss = self.loss()
        if loss < self.best_loss:
            self.best_loss, self.best_epoch, self._since_best = loss, epoch, 0
            self._best_state = copy.deepcopy(self.module.state_dict())
            return True
        self._since_best += 1
        return self._since_best < self.patience

    def restore(self) -> None:
        """Load the best weights seen into the module (no-op before any update)."""
        if self._best_state is not None:
            self.module.load_state_dict(self._best_state)
