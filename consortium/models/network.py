"""The wide-and-deep network behind both models: hashed embeddings plus standardised numbers.

Only ``nn.Embedding``, ``nn.Linear`` and activations carry parameters, the layers Opacus's ghost
clipping computes per-sample norms for. The *wide* part (one learned vector per hashed bucket,
summed over fields) memorises lane, carrier × lane and lane × hour effects the way a GLM on
crosses does; the *deep* part learns their interactions with the numeric context.
"""

from __future__ import annotations

import torch
from torch import nn


class FieldEmbedding(nn.Embedding):
    """An embedding table cut into one block of ``buckets`` rows per categorical field.

    Column ``f`` of the input must address rows of block ``f`` only (the encoder's per-field
    offsets guarantee it, and ``forward`` checks it). Within one row every index is therefore
    distinct, which lets the privacy engine compute per-sample gradient norms in ``O(F d)``
    instead of de-duplicating indices (see :mod:`consortium.privacy.samplers`).
    """

    def __init__(self, n_fields: int, buckets: int, dim: int) -> None:
        super().__init__(n_fields * buckets, dim)
        self.n_fields = n_fields
        self.buckets = buckets

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Return ``(batch, n_fields, dim)`` embeddings; raise if a column leaves its block."""
        if ids.dim() != 2 or ids.shape[1] != self.n_fields:
            raise ValueError(f"expected (batch, {self.n_fields}) indices, got {tuple(ids.shape)}")
        field = torch.arange(self.n_fields, device=ids.device)
        if bool(torch.any(torch.div(ids, self.buckets, rounding_mode="floor") != field)):
            raise ValueError("an index of field f lies outside block f of the embedding table")
        return super().forward(ids)


class WideDeepNet(nn.Module):
    """Map ``(categorical rows, numeric values)`` to ``n_outputs`` raw outputs.

    Parameters
    ----------
    n_fields
        Number of hashed categorical fields; input ``cat`` is ``(batch, n_fields)`` int64.
    buckets
        Buckets per field (the embedding tables have ``n_fields * buckets`` rows).
    n_numeric
        Width of the numeric input ``num`` (values and missing flags).
    n_outputs
        Width of the output.
    emb_dim
        Embedding width per field in the deep part.
    hidden
        Widths of the deep part's hidden layers.

    Examples
    --------
    >>> net = WideDeepNet(n_fields=2, buckets=8, n_numeric=3, n_outputs=4)
    >>> net(torch.tensor([[0, 8]] * 5), torch.zeros(5, 3)).shape  # field 1 owns rows 8..15
    torch.Size([5, 4])
    """

    def __init__(
        self,
        *,
        n_fields: int,
        buckets: int,
        n_numeric: int,
        n_outputs: int,
        emb_dim: int = 8,
        hidden: tuple[int, ...] = (128, 64),
    ) -> None:
        super().__init__()
        self.embedding = FieldEmbedding(n_fields, buckets, emb_dim)
        nn.init.normal_(self.embedding.weight, std=0.05)
        self.wide = FieldEmbedding(n_fields, buckets, n_outputs)
        nn.init.zeros_(self.wide.weight)
        self.linear = nn.Linear(n_numeric, n_outputs)
        layers: list[nn.Module] = []
        width = n_fields * emb_dim + n_numeric
        for h in hidden:
            layers += [nn.Linear(width, h), nn.SiLU()]
            width = h
        out = nn.Linear(width, n_outputs)
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
        layers.append(out)
        self.deep = nn.Sequential(*layers)

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        """Return ``(batch, n_outputs)`` raw outputs."""
        emb = self.embedding(cat).flatten(1)
        deep = self.deep(torch.cat([emb, num], dim=1))
        return deep + self.wide(cat).sum(dim=1) + self.linear(num)
