"""The field-embedding norm sampler agrees with Opacus's generic embedding sampler."""

from __future__ import annotations

import pytest
import torch
from opacus.grad_sample.embedding_norm_sample import compute_embedding_norm_sample

from consortium.models.network import FieldEmbedding
from consortium.privacy.samplers import field_embedding_norm_sample


def test_field_embedding_norms_equal_opacus_generic_norms() -> None:
    # Prepare: indices that respect the per-field blocks, random backprops
    gen = torch.Generator().manual_seed(0)
    layer = FieldEmbedding(n_fields=5, buckets=7, dim=3)
    ids = torch.randint(0, 7, (64, 5), generator=gen) + torch.arange(5) * 7
    backprops = torch.randn(64, 5, 3, generator=gen)
    # Execute
    ours = field_embedding_norm_sample(layer, [ids], backprops)[layer.weight]
    generic = compute_embedding_norm_sample(layer, [ids], backprops)[layer.weight]
    # Assert
    torch.testing.assert_close(ours, generic, rtol=1e-5, atol=1e-6)


def test_field_embedding_refuses_an_index_outside_its_block() -> None:
    layer = FieldEmbedding(n_fields=2, buckets=4, dim=2)
    bad = torch.tensor([[5, 5]])  # field 0 must stay in rows 0..3
    with pytest.raises(ValueError, match="block"):
        layer(bad)
