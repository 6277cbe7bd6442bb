"""Which device a member's node trains on: CUDA when the machine has it, else the CPU.

Examples
--------
>>> training_device_name() in ("cpu",) or training_device_name().startswith("cuda")
True
"""

from __future__ import annotations

import torch

from consortium.federation.member.weights import training_device

__all__ = ["training_device_name"]


def training_device_name() -> str:
    """Return ``"cuda (<GPU name>)"`` when the node trains on a GPU, else ``"cpu"``."""
    device = training_device()
    if device is None:
        return "cpu"
    return f"cuda ({torch.cuda.get_device_name(device)})"
