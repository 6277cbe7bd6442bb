"""Round checkpoints: the global model after each completed round, so a crashed run resumes.

A checkpoint folder holds ``round-0003.npz`` (the global arrays, in model order) and
``round-0003.json`` (round number, consortium statistics, round reports so far, model version).
Both are written to a temporary name and renamed, so a crash never leaves a half-written
checkpoint; :meth:`Checkpoints.latest` returns the last complete one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from consortium.errors import ModelError
from consortium.models.store import WEIGHTS

__all__ = ["Checkpoint", "Checkpoints", "model_version", "weights_version"]


def model_version(arrays: Sequence[NDArray[Any]]) -> str:
    """Return the SHA-256 over the arrays' float32 bytes (order, shape and values)."""
    digest = hashlib.sha256()
    for a in arrays:
        arr = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
        digest.update(str(arr.shape).encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def weights_version(network: torch.nn.Module, arrays: Sequence[NDArray[Any]]) -> str:
    """Return the SHA-256 of the ``weights.pt`` bytes a model directory of these weights holds.

    This is the *model version* of the ledger and of paid queries
    (:func:`consortium.forecasts.pooled.model_version` hashes the saved file), so a round entry
    names exactly the weights that later answer a query. ``network`` (a template of the model's
    architecture) is loaded with ``arrays`` and saved as :func:`~consortium.models.store.save_model`
    saves it, ``state_dict`` metadata included.
    """
    keys = list(network.state_dict())
    network.load_state_dict(
        OrderedDict(
            (k, torch.from_numpy(np.array(a, copy=True))) for k, a in zip(keys, arrays, strict=True)
        )
    )
    # torch names the archive's top folder after the file, so hash a real ``weights.pt``.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / WEIGHTS
        torch.save(network.state_dict(), path)
        return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """One completed round."""

    server_round: int
    arrays: tuple[NDArray[Any], ...]
    meta: dict[str, Any]


class Checkpoints:
    """The checkpoint folder of one federation run."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def save(self, server_round: int, arrays: Sequence[NDArray[Any]], meta: dict[str, Any]) -> Path:
        """Write round ``server_round`` atomically and return the ``.json`` path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = self.folder / f"round-{server_round:04d}"
        tmp_npz = stem.with_suffix(".npz.tmp")
        with open(tmp_npz, "wb") as handle:
            np.savez(handle, *[np.asarray(a) for a in arrays])
        os.replace(tmp_npz, stem.with_suffix(".npz"))
        body = {"round": server_round, "model_version": model_version(arrays), **meta}
        tmp_json = stem.with_suffix(".json.tmp")
        tmp_json.write_text(json.dumps(body, indent=1), encoding="utf-8")
        os.replace(tmp_json, stem.with_suffix(".json"))  # the .json marks the round complete
        return stem.with_suffix(".json")

    def rounds(self) -> list[int]:
        """Return the completed rounds, in order."""
        done = []
        for meta in self.folder.glob("round-*.json"):
            if meta.with_suffix(".npz").exists():
                done.append(int(meta.stem.split("-")[1]))
        return sorted(done)

    def load(self, server_round: int) -> Checkpoint:
        """Load round ``server_round``.

        Raises
        ------
        ModelError
            The checkpoint is missing or its arrays do not match its recorded version.
        """
        stem = self.folder / f"round-{server_round:04d}"
        try:
            meta = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
            with np.load(stem.with_suffix(".npz")) as data:
                arrays = tuple(data[f"arr_{i}"] for i in range(len(data.files)))
        except Exception as exc:  # noqa: BLE001 - damaged bytes can fail anywhere in zipfile/numpy
            raise ModelError(str(stem), f"unreadable checkpoint: {exc!r}") from exc
        if model_version(arrays) != meta.get("model_version"):
            raise ModelError(str(stem), "checkpoint arrays do not match their recorded version")
        return Checkpoint(server_round, arrays, meta)

    def latest(self) -> Checkpoint | None:
        """Return the last completed round, or ``None`` when there is none."""
        done = self.rounds()
        return self.load(done[-1]) if done else None
