"""Loading the global weights a message carries into a member's network, checked."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from consortium.federation.records import ndarrays_to_state_dict, specs_of

__all__ = ["load_weights", "training_device"]


def load_weights(network: torch.nn.Module, arrays: Sequence[NDArray[np.generic]]) -> None:
    """Load ``arrays`` (the coordinator's global model) into ``network``, checking the layout."""
    state = ndarrays_to_state_dict(
        list(arrays), expected=specs_of(network.state_dict()), member="coordinator"
    )
    network.load_state_dict(state)


def training_device() -> torch.device | None:
    """Return CUDA when the member's machine has it, else ``None`` (the CPU)."""
    return torch.device("cuda") if torch.cuda.is_available() else None
