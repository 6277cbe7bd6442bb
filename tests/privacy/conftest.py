"""One intra-op thread: the test machines are shared, and oversubscribed threads are 20x slower."""

from __future__ import annotations

import torch

torch.set_num_threads(1)
