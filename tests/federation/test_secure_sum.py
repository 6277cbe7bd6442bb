"""Exact secure sums: fixed-point limbs, and a real SecAgg+ sum over members on the local grid."""

from __future__ import annotations

import math
import zlib
from fractions import Fraction

import numpy as np
import pytest
from flwr.app import Context
from flwr.client import Client, NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.common import NDArrays, Scalar
from flwr.serverapp import Grid, ServerApp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from consortium.errors import ConfigError, UpdateRejected
from consortium.federation.local_grid import LocalGrid, serve
from consortium.federation.secure_sum import (
    FRACTION_BITS,
    LIMBS,
    SecureSum,
    decode_fixed,
    encode_arrays,
    encode_fixed,
    run_secure_sum,
)
from tests.federation.conftest import member_nodes

RESOLUTION = 2.0**-FRACTION_BITS
SHAPES = {"counts": (3, 4), "total": (2,)}

values = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def _exact_sum(column: list[float]) -> Fraction:
    return sum((Fraction(v) for v in column), Fraction(0))


# --- fixed point --------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    shape=array_shapes(min_dims=1, max_dims=2, max_side=4),
    n=st.integers(1, 5),
    data=st.data(),
)
def test_summed_encodings_decode_to_the_sum_within_the_resolution(
    shape: tuple[int, ...], n: int, data: st.DataObject
) -> None:
    # Prepare: n members' arrays of random floats.
    parts = [data.draw(arrays(np.float64, shape, elements=values)) for _ in range(n)]
    # Execute: each member encodes; the (secure) sum adds digits; the coordinator decodes.
    summed = sum(encode_fixed(p) for p in parts)
    decoded = decode_fixed(summed)
    # Assert: the digits add up exactly (integer arithmetic, no carry lost) ...
    scaled = [np.rint(p * 2.0**FRACTION_BITS).astype(np.int64) for p in parts]
    exact_ints = sum(s.astype(object) for s in scaled)
    for got, want in zip(decoded.ravel(), np.asarray(exact_ints).ravel(), strict=True):
        assert got == want / 2**FRACTION_BITS
    # ... so the result is the true sum to n half-steps of 2**-24 (plus float64 rounding).
    stacked = np.stack(parts).reshape(n, -1)
    for i, got in enumerate(decoded.ravel()):
        true = _exact_sum([float(x) for x in stacked[:, i]])
        assert abs(Fraction(float(got)) - true) <= n * RESOLUTION / 2 + abs(float(got)) * 2**-52


@settings(max_examples=50, deadline=None)
@given(v=arrays(np.float64, st.integers(0, 6), elements=values))
def test_one_encoding_round_trips_to_half_the_resolution(v: np.ndarray) -> None:
    decoded = decode_fixed(encode_fixed(v))
    assert decoded.shape == v.shape
    assert np.all(np.abs(decoded - v) <= RESOLUTION / 2)


def test_encoding_has_one_signed_limb_per_digit() -> None:
    digits = encode_fixed(np.array([-1.5, 1e9]))
    assert digits.shape == (LIMBS, 2)
    assert np.all(digits[:, 0] <= 0)
    assert np.all(digits[:, 1] >= 0)
    assert decode_fixed(encode_fixed(2.5)).item() == 2.5  # a scalar works too


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 2.0**56])
def test_encoding_refuses_values_it_cannot_carry(bad: float) -> None:
    with pytest.raises(ConfigError) as exc:
        encode_fixed(np.array([0.0, bad]))
    assert exc.value.name == "secure_sum"


def test_encode_arrays_names_a_missing_or_misshapen_array() -> None:
    with pytest.raises(UpdateRejected) as missing:
        encode_arrays({"counts": np.zeros((3, 4))}, SHAPES)
    with pytest.raises(UpdateRejected) as shaped:
        encode_arrays({"counts": np.zeros((4, 3)), "total": np.zeros(2)}, SHAPES)
    assert (missing.value.key, missing.value.code) == ("total", "missing-key")
    assert (shaped.value.key, shaped.value.code) == ("counts", "shape-mismatch")


# --- a real secure sum over members ------------------------------------------------------------


def _member_arrays(member: str) -> dict[str, np.ndarray]:
    """Each member's private numbers: multiples of 2**-24, so the plain float sum is exact."""
    rng = np.random.default_rng(zlib.crc32(member.encode()))
    return {
        name: rng.integers(-(2**47), 2**47, size=shape) / 2.0**FRACTION_BITS
        for name, shape in SHAPES.items()
    }


class _SummingClient(NumPyClient):
    def __init__(self, context: Context) -> None:
        self._member = str(context.node_config["member-id"])

    def fit(
        self, parameters: NDArrays, config: dict[str, Scalar]
    ) -> tuple[NDArrays, int, dict[str, Scalar]]:
        assert config["task"] == "sum"
        return encode_arrays(_member_arrays(self._member), SHAPES), 1, {"rows": 7}


def _summing_client(context: Context) -> Client:
    return _SummingClient(context).to_client()


def _secure_sum_app(results: list[SecureSum]) -> ServerApp:
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        labels = grid.node_labels() if isinstance(grid, LocalGrid) else None
        results.append(
            run_secure_sum(
                grid, context, shapes=SHAPES, fit_config={"task": "sum"}, node_labels=labels
            )
        )

    return app


@pytest.mark.parametrize(("members", "dropped"), [(3, 0), (4, 0), (5, 0), (5, 1)])
def test_secure_sum_over_members_equals_the_plain_sum_exactly(members: int, dropped: int) -> None:
    # Prepare: SecAgg+ members; with a dropout, m1 vanishes after setup and share keys.
    nodes = member_nodes(members)
    grid = LocalGrid(ClientApp(client_fn=_summing_client, mods=[secaggplus_mod]), nodes=nodes)
    if dropped:
        grid.drop("m1", after=2)
    results: list[SecureSum] = []
    # Execute
    serve(_secure_sum_app(results), grid, run_config={})
    # Assert: exactly the sum of the members still in, and nothing else.
    (result,) = results
    inside = [m for m in nodes if not (dropped and m == "m1")]
    assert result.members == len(inside)
    assert set(result.member_metrics) == set(inside)
    for name in SHAPES:
        plain = sum(_member_arrays(m)[name] for m in inside)
        np.testing.assert_array_equal(result.sums[name], plain)
    assert bool(result.failures) is bool(dropped)
