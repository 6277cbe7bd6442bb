"""Keyed feature hashing and additive scaling statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from consortium.models.encoding import EncoderConfig, ScalingStats, encode_categorical, hash_buckets


def test_hashing_is_stable_across_members_and_depends_on_the_key() -> None:
    # Prepare: two members see the same lane in different row orders
    a = pd.Series(["DEHAM>DEMUC", "FRPAR>BEANR", "DEHAM>DEMUC"])
    b = pd.Series(["FRPAR>BEANR", "DEHAM>DEMUC"])
    # Execute
    ha = hash_buckets(a, key=b"consortium", field="lane", buckets=4096)
    hb = hash_buckets(b, key=b"consortium", field="lane", buckets=4096)
    other_key = hash_buckets(a, key=b"another", field="lane", buckets=4096)
    # Assert
    assert ha[0] == ha[2] == hb[1]
    assert ha[1] == hb[0]
    assert not np.array_equal(ha, other_key)


def test_each_field_owns_its_block_of_embedding_rows() -> None:
    fields = {"origin": pd.Series(["X", None]), "destination": pd.Series(["X", "Y"])}
    rows = encode_categorical(fields, config=EncoderConfig(buckets=16))
    assert rows.shape == (2, 2)
    assert ((rows[:, 0] >= 0) & (rows[:, 0] < 16)).all()
    assert ((rows[:, 1] >= 16) & (rows[:, 1] < 32)).all()


finite = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    a=arrays(np.float64, st.integers(1, 30), elements=finite | st.just(np.nan)),
    b=arrays(np.float64, st.integers(1, 30), elements=finite | st.just(np.nan)),
)
def test_merged_stats_equal_the_stats_of_the_pooled_data(a: np.ndarray, b: np.ndarray) -> None:
    # Execute
    merged = ScalingStats.from_columns({"x": a}) + ScalingStats.from_columns({"x": b})
    pooled = ScalingStats.from_columns({"x": np.concatenate([a, b])})
    # Assert
    assert merged.count == pooled.count
    np.testing.assert_allclose(merged.mean(), pooled.mean(), atol=1e-9)
    np.testing.assert_allclose(merged.std(), pooled.std(), rtol=1e-6, atol=1e-6)
    assert ScalingStats.from_dict(merged.to_dict()) == merged
