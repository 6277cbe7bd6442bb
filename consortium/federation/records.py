"""torch ``state_dict`` <-> Flower ``ArrayRecord`` and flat NumPy lists, validated.

Anything that arrives from another party (a global model at a member, an update at the
coordinator) is checked against an expected layout, a mapping ``key -> ArraySpec``, before it
is used. A mismatch raises :class:`~consortium.federation.exceptions.UpdateRejected` naming
the member and the offending key, so a malformed or wrong-shaped update can be rejected.

Examples
--------
>>> import torch
>>> sd = {"w": torch.ones(2, 3), "b": torch.zeros(2)}
>>> record = state_dict_to_record(sd)
>>> back = record_to_state_dict(record, expected=specs_of(sd), member="m1")
>>> [tuple(t.shape) for t in back.values()]
[(2, 3), (2,)]
>>> check_ndarrays([np.zeros((2, 2))], expected=specs_of(sd), member="m1")
Traceback (most recent call last):
...
consortium.federation.exceptions.UpdateRejected: member m1: expected 2 arrays, got 1 ...
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from flwr.app import ArrayRecord
from numpy.typing import NDArray

from consortium.errors import UpdateRejected

__all__ = [
    "ArraySpec",
    "check_arrays",
    "check_ndarrays",
    "ndarrays_to_state_dict",
    "record_to_state_dict",
    "specs_of",
    "specs_of_ndarrays",
    "state_dict_to_ndarrays",
    "state_dict_to_record",
]


@dataclass(frozen=True)
class ArraySpec:
    """The expected shape and NumPy dtype name of one array."""

    shape: tuple[int, ...]
    dtype: str


def specs_of(state_dict: Mapping[str, torch.Tensor]) -> OrderedDict[str, ArraySpec]:
    """Return the layout (key order, shapes, dtypes) of a torch ``state_dict``."""
    return OrderedDict(
        (key, ArraySpec(tuple(t.shape), str(_to_numpy(t).dtype))) for key, t in state_dict.items()
    )


def specs_of_ndarrays(
    arrays: Sequence[NDArray[np.generic]], *, keys: Sequence[str] | None = None
) -> OrderedDict[str, ArraySpec]:
    """Return the layout of a list of arrays, keyed by ``keys`` or by position."""
    names = list(keys) if keys is not None else [str(i) for i in range(len(arrays))]
    if len(names) != len(arrays):
        raise ValueError(f"{len(names)} keys for {len(arrays)} arrays")
    return OrderedDict(
        (name, ArraySpec(tuple(a.shape), str(a.dtype)))
        for name, a in zip(names, arrays, strict=True)
    )


def state_dict_to_record(state_dict: Mapping[str, torch.Tensor]) -> ArrayRecord:
    """Pack a torch ``state_dict`` (any device) into an ``ArrayRecord``, keys preserved."""
    return ArrayRecord(
        OrderedDict((key, t.detach().cpu().contiguous()) for key, t in state_dict.items())
    )


def record_to_state_dict(
    record: ArrayRecord, *, expected: Mapping[str, ArraySpec], member: str
) -> OrderedDict[str, torch.Tensor]:
    """Unpack an ``ArrayRecord`` into a ``state_dict`` after checking it against ``expected``.

    Parameters
    ----------
    record : ArrayRecord
        The received record (keys are ``state_dict`` keys).
    expected : Mapping[str, ArraySpec]
        The layout it must have, e.g. ``specs_of(model.state_dict())``.
    member : str
        Who sent it; named in the error.

    Returns
    -------
    OrderedDict[str, torch.Tensor]
        Tensors in the order of ``expected``.

    Raises
    ------
    UpdateRejected
        On a missing or unexpected key, a wrong shape or dtype, or a non-finite value.
    """
    missing = [k for k in expected if k not in record]
    if missing:
        raise UpdateRejected(member, missing[0], code="missing-key", reason="key is missing")
    extra = [k for k in record if k not in expected]
    if extra:
        raise UpdateRejected(member, extra[0], code="unexpected-key", reason="unexpected key")
    for key, spec in expected.items():
        _check_layout(member, key, tuple(record[key].shape), record[key].dtype, spec)
    arrays = {key: record[key].numpy() for key in expected}
    check_arrays(arrays, expected=expected, member=member)
    return OrderedDict((key, torch.from_numpy(arrays[key].copy())) for key in expected)


def state_dict_to_ndarrays(state_dict: Mapping[str, torch.Tensor]) -> list[NDArray[np.generic]]:
    """Flatten a ``state_dict`` into a list of NumPy arrays, in key order (copies)."""
    return [_to_numpy(t).copy() for t in state_dict.values()]


def ndarrays_to_state_dict(
    arrays: Sequence[NDArray[np.generic]], *, expected: Mapping[str, ArraySpec], member: str
) -> OrderedDict[str, torch.Tensor]:
    """Rebuild a ``state_dict`` from a positional list, checked against ``expected``.

    Raises
    ------
    UpdateRejected
        On a wrong number of arrays, a wrong shape or dtype, or a non-finite value.
    """
    check_ndarrays(arrays, expected=expected, member=member)
    return OrderedDict(
        (key, torch.from_numpy(np.array(a, copy=True)))
        for key, a in zip(expected, arrays, strict=True)
    )


def check_ndarrays(
    arrays: Sequence[NDArray[np.generic]], *, expected: Mapping[str, ArraySpec], member: str,
    check_dtype: bool = True,
) -> None:  # fmt: skip
    """Check a positional list of arrays against ``expected`` (keys give the order).

    Raises
    ------
    UpdateRejected
        ``count-mismatch``, ``shape-mismatch``, ``dtype-mismatch`` or ``non-finite``, naming
        ``member`` and the ``state_dict`` key of the first offending array.
    """
    if len(arrays) != len(expected):
        raise UpdateRejected(
            member,
            None,
            code="count-mismatch",
            reason=f"expected {len(expected)} arrays, got {len(arrays)}",
        )
    check_arrays(
        dict(zip(expected, arrays, strict=True)),
        expected=expected,
        member=member,
        check_dtype=check_dtype,
    )


def check_arrays(
    arrays: Mapping[str, NDArray[np.generic]],
    *,
    expected: Mapping[str, ArraySpec],
    member: str,
    check_dtype: bool = True,
) -> None:
    """Check named arrays against ``expected``: same keys, shapes, dtypes, finite values.

    Raises
    ------
    UpdateRejected
        Naming ``member`` and the first offending key.
    """
    for key in expected:
        if key not in arrays:
            raise UpdateRejected(member, key, code="missing-key", reason="key is missing")
    for key in arrays:
        if key not in expected:
            raise UpdateRejected(member, key, code="unexpected-key", reason="unexpected key")
    for key, spec in expected.items():
        arr = np.asarray(arrays[key])
        _check_layout(member, key, tuple(arr.shape), str(arr.dtype), spec, check_dtype)
        if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
            raise UpdateRejected(
                member, key, code="non-finite", reason="contains NaN or infinite values"
            )


def _check_layout(
    member: str,
    key: str,
    shape: tuple[int, ...],
    dtype: str,
    spec: ArraySpec,
    check_dtype: bool = True,
) -> None:
    if shape != spec.shape:
        raise UpdateRejected(
            member,
            key,
            code="shape-mismatch",
            reason=f"shape {shape} does not match the expected {spec.shape}",
        )
    if check_dtype and dtype != spec.dtype:
        raise UpdateRejected(
            member,
            key,
            code="dtype-mismatch",
            reason=f"dtype {dtype} does not match the expected {spec.dtype}",
        )


def _to_numpy(t: torch.Tensor) -> NDArray[np.generic]:
    arr: NDArray[np.generic] = t.detach().cpu().numpy()
    return arr
