"""Where DP noise and DP sampling get their randomness: OS entropy unless a test fixes a seed.

A differential-privacy guarantee assumes nobody can predict the noise, nor which rows a Poisson
batch holds. A run's seed and its round number are public, so they must never seed either. By
default :func:`noise_generator` seeds from the operating system's entropy
(``torch.Generator.seed()``). Opacus's ``secure_mode`` would use a cryptographically secure
generator, but it needs ``torchcsprng``, which has no build for the kit's torch. An explicit
``seed`` makes a run reproducible, for tests and benchmarks only: whoever knows it can
regenerate the noise.
"""

from __future__ import annotations

import torch

__all__ = ["noise_generator"]


def noise_generator(seed: int | None = None, device: torch.device | None = None) -> torch.Generator:
    """Return a generator on ``device`` seeded from OS entropy, or with ``seed`` (tests only)."""
    generator = torch.Generator(device=device or torch.device("cpu"))
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator
