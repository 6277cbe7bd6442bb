"""state_dict <-> ArrayRecord / NumPy conversions and their validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from flwr.app import ArrayRecord
from torch import nn

from consortium.errors import UpdateRejected
from consortium.federation.records import (
    ArraySpec,
    check_ndarrays,
    ndarrays_to_state_dict,
    record_to_state_dict,
    specs_of,
    state_dict_to_ndarrays,
    state_dict_to_record,
)


@pytest.fixture
def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


def test_state_dict_round_trips_through_array_record(model: nn.Module) -> None:
    # Prepare
    sd = model.state_dict()
    # Execute
    back = record_to_state_dict(state_dict_to_record(sd), expected=specs_of(sd), member="m1")
    # Assert
    assert list(back) == list(sd)
    for key in sd:
        assert back[key].dtype == sd[key].dtype
        assert torch.equal(back[key], sd[key])


def test_state_dict_round_trips_through_ndarrays(model: nn.Module) -> None:
    sd = model.state_dict()
    arrays = state_dict_to_ndarrays(sd)
    back = ndarrays_to_state_dict(arrays, expected=specs_of(sd), member="m1")
    assert list(back) == list(sd)
    assert all(torch.equal(back[k], sd[k]) for k in sd)
    # The arrays are copies: changing them leaves the model alone.
    arrays[0] += 1.0
    assert torch.equal(model.state_dict()["0.weight"], sd["0.weight"])


def test_wrong_shape_is_rejected_naming_member_and_key(model: nn.Module) -> None:
    sd = model.state_dict()
    bad = dict(sd) | {"0.weight": torch.zeros(3, 3)}
    with pytest.raises(UpdateRejected) as exc:
        record_to_state_dict(state_dict_to_record(bad), expected=specs_of(sd), member="m7")
    assert (exc.value.member, exc.value.key, exc.value.code) == ("m7", "0.weight", "shape-mismatch")
    assert isinstance(exc.value, ValueError)


@pytest.mark.parametrize(
    ("change", "key", "code"),
    [
        (lambda sd: {k: v for k, v in sd.items() if k != "0.bias"}, "0.bias", "missing-key"),
        (lambda sd: sd | {"extra": torch.zeros(1)}, "extra", "unexpected-key"),
        (lambda sd: sd | {"0.bias": sd["0.bias"].double()}, "0.bias", "dtype-mismatch"),
        (lambda sd: sd | {"0.bias": torch.tensor([float("nan"), 0.0])}, "0.bias", "non-finite"),
    ],
)
def test_malformed_record_is_rejected(model: nn.Module, change, key: str, code: str) -> None:  # noqa: ANN001
    sd = dict(model.state_dict())
    with pytest.raises(UpdateRejected) as exc:
        record_to_state_dict(state_dict_to_record(change(sd)), expected=specs_of(sd), member="m1")
    assert (exc.value.key, exc.value.code) == (key, code)


def test_wrong_number_of_arrays_is_rejected() -> None:
    expected = {"w": ArraySpec((2,), "float32"), "b": ArraySpec((), "float32")}
    with pytest.raises(UpdateRejected) as exc:
        check_ndarrays([np.zeros(2, np.float32)], expected=expected, member="m3")
    assert (exc.value.member, exc.value.key, exc.value.code) == ("m3", None, "count-mismatch")


def test_dtype_check_can_be_relaxed_for_aggregates() -> None:
    expected = {"w": ArraySpec((2,), "float32")}
    check_ndarrays([np.zeros(2)], expected=expected, member="m1", check_dtype=False)
    with pytest.raises(UpdateRejected):
        check_ndarrays([np.zeros(2)], expected=expected, member="m1")


def test_array_record_keys_are_state_dict_keys(model: nn.Module) -> None:
    record = state_dict_to_record(model.state_dict())
    assert isinstance(record, ArrayRecord)
    assert list(record) == list(model.state_dict())
