"""Per-sample gradient (norm) samplers for the kit's own layers, registered with Opacus.

:class:`~consortium.models.network.FieldEmbedding` guarantees that the indices of one sample
are distinct (each field addresses its own block of rows). The per-sample gradient of the table
is then a set of non-overlapping rows, one per field, holding that field's back-propagated
vector, so its norm is simply the norm of the sample's flattened backprops. Opacus's generic
``nn.Embedding`` norm sampler must de-duplicate (sample, index) pairs with ``unique(dim=0)``,
which dominated a DP-SGD step on CPU. Importing this module registers both samplers.
"""

from __future__ import annotations

from typing import cast

import torch
from opacus.grad_sample import register_grad_sampler, register_norm_sampler
from opacus.grad_sample.embedding import compute_embedding_grad_sample
from torch import nn

from consortium.models.network import FieldEmbedding


@register_norm_sampler(FieldEmbedding)
def field_embedding_norm_sample(
    layer: FieldEmbedding, activations: list[torch.Tensor], backprops: torch.Tensor
) -> dict[nn.Parameter, torch.Tensor]:
    """Return the per-sample gradient norm of ``layer.weight``: ``||backprops[i]||``."""
    weight = cast(nn.Parameter, layer.weight)
    return {weight: backprops.reshape(backprops.shape[0], -1).norm(2, dim=1)}


register_grad_sampler(FieldEmbedding)(compute_embedding_grad_sample)
