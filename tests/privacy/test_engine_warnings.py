"""Opacus's ghost clipping trains without burying the output in torch's backward-hook warnings."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from consortium.models.training import TensorBatches, TrainConfig, fit_module
from consortium.privacy.budget import PrivacyBudget
from consortium.privacy.engine import DPEngine
from consortium.privacy.ledger import PrivacyLedger


def test_private_training_silences_only_the_known_hook_warning(tmp_path: Path) -> None:
    # Prepare
    x, y = torch.randn(128, 3), torch.randn(128, 1)
    engine = DPEngine(ledger=PrivacyLedger.load(tmp_path, "m1"),
                      budget=PrivacyBudget(epsilon=2.0, delta=1e-4), seed=0)  # fmt: skip
    # Execute
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_module(torch.nn.Linear(3, 1), TensorBatches(x, y), criterion=torch.nn.MSELoss(),
                   config=TrainConfig(epochs=1, batch_size=32), device=torch.device("cpu"),
                   privatizer=engine)  # fmt: skip
        warnings.warn("Full backward hook is firing elsewhere", UserWarning, stacklevel=1)
    # Assert: none from Opacus's ghost clipping; the same text from anywhere else still shows
    messages = [(str(w.message), w.filename) for w in caught]
    assert not [m for m, f in messages if "fast_gradient_clipping" in f], messages
    assert ("Full backward hook is firing elsewhere", __file__) in messages
    assert engine.epsilon() is not None
