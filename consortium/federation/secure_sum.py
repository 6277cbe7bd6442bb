"""Exact secure sums over SecAgg+ (federated analytics): scaling statistics, catalogs, histograms.

SecAgg+ sums integer vectors modulo ``2**32``; Flower wraps that in a quantiser built for model
weights (stochastic rounding into ``[0, Q)``). With ``clipping_range = R``, ``Q = 2R``, weight 1
(``num_examples = 1`` and ``max_weight = 1``), the quantiser maps an integer ``x`` in ``[-R, R]``
to ``x + R`` *exactly* (no rounding happens), so the coordinator recovers the exact integer sum
of the members' vectors -- and nothing else: it sees only the sum, never one member's vector.

Real numbers travel as fixed point: ``round(v * 2**FRACTION_BITS)`` split into :data:`LIMBS`
signed base-``2**LIMB_BITS`` digits, each summed exactly and recombined after the sum. That
carries any ``|v| < 2**(LIMBS*LIMB_BITS - FRACTION_BITS)`` (``~7e16``) with a resolution of
``2**-FRACTION_BITS``, for up to :data:`MAX_MEMBERS` members.

Examples
--------
>>> a, b = np.array([1.5, -2.25, 1e9]), np.array([0.25, 4.0, 3.0])
>>> decode_fixed(encode_fixed(a) + encode_fixed(b)).tolist()
[1.75, 1.75, 1000000003.0]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from flwr.app import Context
from flwr.common import Scalar
from flwr.serverapp import Grid
from numpy.typing import NDArray

from consortium.errors import ConfigError, UpdateRejected
from consortium.federation.records import ArraySpec
from consortium.federation.secagg import SecAggSettings, run_fedavg_round

__all__ = [
    "FRACTION_BITS",
    "LIMBS",
    "LIMB_BITS",
    "SUM_SETTINGS",
    "SecureSum",
    "decode_fixed",
    "encode_fixed",
    "layout_of",
    "run_secure_sum",
]

logger = logging.getLogger(__name__)

LIMB_BITS = 20
LIMBS = 4
FRACTION_BITS = 24
_LIMB = 1 << LIMB_BITS
MAX_MEMBERS = 2**32 // (2 * _LIMB) - 1
SUM_SETTINGS = SecAggSettings(
    clipping_range=float(_LIMB), quantization_range=2 * _LIMB, max_weight=1.0
)
"""SecAgg+ settings under which the quantiser is the identity on integers in ``[-R, R]``."""


def encode_fixed(values: NDArray[np.floating] | Sequence[float]) -> NDArray[np.float64]:
    """Return the ``(LIMBS, *shape)`` signed fixed-point digits of ``values`` (as floats).

    Raises
    ------
    ConfigError
        A value is not finite or too large to represent.
    """
    v = np.asarray(values, dtype=np.float64)
    if not np.isfinite(v).all():
        raise ConfigError("secure_sum", "values must be finite")
    limit = 2.0 ** (LIMBS * LIMB_BITS - FRACTION_BITS - 1)
    if v.size and float(np.max(np.abs(v))) >= limit:
        raise ConfigError("secure_sum", f"|value| must be below {limit:.3g}")
    scaled = np.rint(v * 2.0**FRACTION_BITS).astype(object)  # exact Python ints
    sign = np.where(v < 0, -1, 1).astype(object)
    magnitude = np.abs(scaled)
    digits = []
    for _ in range(LIMBS):
        digits.append(np.asarray(sign * (magnitude % _LIMB), dtype=np.float64))
        magnitude = magnitude // _LIMB
    return np.stack(digits) if v.shape else np.asarray(digits, dtype=np.float64)


def decode_fixed(digits: NDArray[np.floating]) -> NDArray[np.float64]:
    """Invert :func:`encode_fixed` on a (summed) digit array."""
    d = np.rint(np.asarray(digits, dtype=np.float64)).astype(np.int64).astype(object)
    total = sum(d[k] * (_LIMB**k) for k in range(LIMBS))
    return np.asarray(total / 2**FRACTION_BITS, dtype=np.float64)


def layout_of(shapes: Mapping[str, tuple[int, ...]]) -> dict[str, ArraySpec]:
    """Return the encoded layout (``(LIMBS, *shape)`` per named array) of a secure sum."""
    return {name: ArraySpec((LIMBS, *shape), "float64") for name, shape in shapes.items()}


def encode_arrays(
    arrays: Mapping[str, NDArray[np.floating]], shapes: Mapping[str, tuple[int, ...]]
) -> list[NDArray[np.float64]]:
    """Encode a member's named arrays in the order of ``shapes`` (checking every shape)."""
    out = []
    for name, shape in shapes.items():
        if name not in arrays:
            raise UpdateRejected("self", name, code="missing-key", reason="not computed")
        value = np.asarray(arrays[name], dtype=np.float64)
        if value.shape != tuple(shape):
            raise UpdateRejected(
                "self", name, code="shape-mismatch", reason=f"{value.shape} != {tuple(shape)}"
            )
        out.append(encode_fixed(value))
    return out


@dataclass(frozen=True)
class SecureSum:
    """The result of :func:`run_secure_sum`: exact sums and who is in them."""

    sums: Mapping[str, NDArray[np.float64]]
    members: int
    failures: tuple[str, ...]
    member_metrics: Mapping[str, Mapping[str, Scalar]]


def run_secure_sum(  # noqa: PLR0913
    grid: Grid,
    context: Context,
    *,
    shapes: Mapping[str, tuple[int, ...]],
    fit_config: Mapping[str, Scalar],
    server_round: int = 0,
    node_labels: Mapping[int, str] | None = None,
    carry: Sequence[NDArray[np.generic]] = (),
    min_members: int = 3,
) -> SecureSum:
    """Ask every member for its arrays of ``shapes`` and return their exact sum under SecAgg+.

    Members answer the train instruction carrying ``fit_config`` with the fixed-point digits of
    their arrays (:func:`encode_arrays`) as the update and ``num_examples = 1``.

    ``carry`` (e.g. the global model a member needs to compute its arrays) is sent ahead of the
    sum's zero arrays; members return zeros in its place, so it comes back unchanged.

    ``min_members`` (never below 3): a sum of fewer members is refused on both sides, as for
    the model updates (:func:`~consortium.federation.secagg.run_fedavg_round`).

    Raises
    ------
    RoundFailed
        Too few members or too many dropped (the caller decides what to do without the sums).
    """
    layout = layout_of(shapes)
    n = len(list(grid.get_node_ids()))
    if n > MAX_MEMBERS:
        raise ConfigError("members", f"secure sums support at most {MAX_MEMBERS} members")
    carried = [np.asarray(a) for a in carry]
    carry_layout = {
        f"(carried {i})": ArraySpec(tuple(a.shape), str(a.dtype)) for i, a in enumerate(carried)
    }
    zeros = [np.zeros(spec.shape, dtype=np.float64) for spec in layout.values()]
    outcome = run_fedavg_round(
        grid,
        context,
        global_arrays=[*carried, *zeros],
        expected=carry_layout | layout,
        server_round=server_round,
        secagg=SUM_SETTINGS,
        node_labels=node_labels,
        fit_config=fit_config,
        min_members=min_members,
    )
    # The secure path returns the average of the members' vectors (weights are all 1).
    sums = {
        name: decode_fixed(np.asarray(avg) * outcome.num_members)
        for name, avg in zip(layout, outcome.arrays[len(carried) :], strict=True)
    }
    logger.info("secure sum over %d members: %s", outcome.num_members, ", ".join(layout))
    return SecureSum(sums, outcome.num_members, outcome.failures, outcome.member_metrics)
