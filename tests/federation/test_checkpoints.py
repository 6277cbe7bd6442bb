"""Round checkpoints: atomic writes, the last complete round, and tamper detection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consortium.errors import ModelError
from consortium.federation.checkpoints import (
    Checkpoints,
    model_version,
    weights_version,
)
from consortium.federation.records import state_dict_to_ndarrays
from consortium.federation.toy import toy_model
from consortium.forecasts.pooled import model_version as weights_file_version


def _arrays(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)]


def _meta(rnd: int) -> dict[str, object]:
    return {"model": "eta", "stats": "{}", "lanes": None, "reports": [{"server_round": rnd}]}


@pytest.fixture
def three_rounds(tmp_path: Path) -> Checkpoints:
    checkpoints = Checkpoints(tmp_path / "checkpoints")
    for rnd in range(3):
        checkpoints.save(rnd, _arrays(rnd), _meta(rnd))
    return checkpoints


def test_saved_round_loads_back_with_its_version(three_rounds: Checkpoints) -> None:
    # Execute
    loaded = three_rounds.load(1)
    # Assert
    assert loaded.server_round == 1
    for got, want in zip(loaded.arrays, _arrays(1), strict=True):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    assert loaded.meta["model_version"] == model_version(_arrays(1))
    assert loaded.meta["reports"] == [{"server_round": 1}]


def test_latest_is_the_last_complete_round(tmp_path: Path, three_rounds: Checkpoints) -> None:
    assert three_rounds.rounds() == [0, 1, 2]
    latest = three_rounds.latest()
    assert latest is not None
    assert latest.server_round == 2
    assert Checkpoints(tmp_path / "nothing-yet").latest() is None


def test_writes_leave_no_temporary_files(three_rounds: Checkpoints) -> None:
    names = sorted(p.name for p in three_rounds.folder.iterdir())
    assert names == [f"round-000{r}.{ext}" for r in range(3) for ext in ("json", "npz")]


def test_interrupted_write_leaves_the_previous_round_as_latest(three_rounds: Checkpoints) -> None:
    # Prepare: a crash half-way through round 3's arrays (only the temporary file exists) ...
    (three_rounds.folder / "round-0003.npz.tmp").write_bytes(b"PK\x03\x04 half written")
    # ... and round 4 failing after its arrays were renamed, before its .json was written.
    with pytest.raises(TypeError):
        three_rounds.save(4, _arrays(4), {"unserialisable": object()})
    # Execute
    latest = three_rounds.latest()
    # Assert: neither counts; round 2 is the one to resume from.
    assert three_rounds.rounds() == [0, 1, 2]
    assert latest is not None
    assert latest.server_round == 2
    assert not (three_rounds.folder / "round-0004.json").exists()


def test_rewritten_arrays_are_detected(three_rounds: Checkpoints) -> None:
    # Prepare: someone replaces round 2's arrays with a valid file of other weights.
    tampered = _arrays(2)
    tampered[0][0, 0] += 1e-3
    with open(three_rounds.folder / "round-0002.npz", "wb") as handle:
        np.savez(handle, *tampered)
    # Execute / Assert
    with pytest.raises(ModelError) as exc:
        three_rounds.latest()
    assert exc.value.path.endswith("round-0002")
    assert "do not match" in exc.value.reason


def test_edited_version_is_detected(three_rounds: Checkpoints) -> None:
    path = three_rounds.folder / "round-0001.json"
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["model_version"] = model_version(_arrays(7))
    path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelError):
        three_rounds.load(1)


def test_missing_round_is_a_model_error(three_rounds: Checkpoints) -> None:
    with pytest.raises(ModelError) as exc:
        three_rounds.load(9)
    assert "unreadable checkpoint" in exc.value.reason


@pytest.mark.parametrize("keep", [0, 10, 200])
def test_truncated_arrays_file_is_a_model_error(three_rounds: Checkpoints, keep: int) -> None:
    path = three_rounds.folder / "round-0002.npz"
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(ModelError) as exc:
        three_rounds.load(2)
    assert "unreadable checkpoint" in exc.value.reason


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.floats(0.0, 1.0, exclude_max=True), flip=st.integers(1, 255))
def test_any_one_byte_change_is_detected_or_harmless(
    three_rounds: Checkpoints, position: float, flip: int
) -> None:
    # Prepare: change one byte of round 2's arrays file.
    path = three_rounds.folder / "round-0002.npz"
    original = path.read_bytes()
    data = bytearray(original)
    index = int(position * len(data))
    data[index] ^= flip
    path.write_bytes(bytes(data))
    # Execute / Assert: either refused as a ModelError, or the very same weights load.
    try:
        loaded = three_rounds.load(2)
    except ModelError:
        pass
    else:
        for got, want in zip(loaded.arrays, _arrays(2), strict=True):
            np.testing.assert_array_equal(got, want)
    finally:
        path.write_bytes(original)


def test_model_version_tracks_values_shapes_and_order() -> None:
    a, b = _arrays(0)
    assert model_version([a, b]) == model_version([a.copy(), b.copy()])
    assert model_version([a, b]) == model_version([a.astype(np.float64), b])  # float32 bytes
    assert model_version([a, b]) != model_version([b, a])
    assert model_version([a, b]) != model_version([a.reshape(4, 3), b])
    changed = a.copy()
    changed[2, 3] = np.nextafter(changed[2, 3], np.float32(10))
    assert model_version([a, b]) != model_version([changed, b])


def test_weights_version_is_the_hash_of_the_saved_weights_file(tmp_path: Path) -> None:
    # Prepare: trained weights, and the weights file a model directory of them holds
    # (models.store.save_model writes network.state_dict() to weights.pt).
    trained = toy_model()
    with torch.no_grad():
        trained.weight.add_(0.25)
    torch.save(trained.state_dict(), tmp_path / "weights.pt")
    arrays = state_dict_to_ndarrays(trained.state_dict())
    # Execute: the coordinator only has the arrays and a fresh network of the architecture.
    version = weights_version(toy_model(), arrays)
    # Assert: the version paid queries and the ledger compare (forecasts.pooled.model_version).
    assert version == weights_file_version(tmp_path)
    assert version != weights_version(toy_model(), state_dict_to_ndarrays(toy_model().state_dict()))
