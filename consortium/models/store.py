"""Model directories: model card, weights, encoder configuration and calibration.

A model directory holds::

    model_card.json    what the model is, how private, how good (never raw values)
    weights.pt         torch.save of the network's state_dict (loaded with weights_only=True)
    encoder.json       model kind, hyper-parameters, hashing config, additive scaling statistics
    calibration.json   CQR offset and Platt coefficients fitted on validation rows

A boosted model (a member's LightGBM or a LightGBM stacked on the pooled network, see
:mod:`consortium.models.eta_boosted`) holds ``model_card.json``, ``encoder.json`` (its kind and
``"form": "boosted"``), ``boosters.json`` (the trees in LightGBM's own text format) and, when
stacked, its base model as a model directory in ``base/``. A member's timetable (see
:mod:`consortium.models.timetable`) holds ``model_card.json``, ``encoder.json`` (``"form":
"timetable"``) and ``timetable.json`` (its interval ends and on-time rate).

Examples
--------
>>> import tempfile, pathlib
>>> from consortium.models.eta import EtaModel, EtaSpec, build_eta_network
>>> from consortium.models.encoding import ScalingStats
>>> from consortium.models.eta_features import NUMERIC_FEATURES
>>> import numpy as np
>>> stats = ScalingStats.from_columns({f: np.zeros(2) for f in NUMERIC_FEATURES})
>>> target = ScalingStats.from_columns({"delay_z": np.zeros(2)})
>>> model = EtaModel(spec=EtaSpec(), stats=stats, target_stats=target,
...                  network=build_eta_network(EtaSpec()))
>>> out = pathlib.Path(tempfile.mkdtemp()) / "m"
>>> card_path = save_model(model, out, card={"kind": "eta"})
>>> type(load_model(out)).__name__
'EtaModel'
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from consortium.errors import ModelError
from consortium.models.eta_boosted import BoostedEta
from consortium.models.families import MODEL_KINDS, family, family_of
from consortium.models.family import AnyModel, StoredModel
from consortium.models.stock_boosted import BoostedStock
from consortium.models.timetable import TimetableEta

logger = logging.getLogger(__name__)

CARD = "model_card.json"
WEIGHTS = "weights.pt"
ENCODER = "encoder.json"
CALIBRATION = "calibration.json"
BOOSTERS = "boosters.json"
BASE = "base"
BOOSTED_FORM = "boosted"
TIMETABLE = "timetable.json"
TIMETABLE_FORM = "timetable"
FORMAT = "consortium-model/1"

__all__ = ["AnyModel", "StoredModel", "load_model", "load_stored_model", "read_card", "save_model"]


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else None)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(_json_safe(data), indent=2, allow_nan=False), encoding="utf-8")


def save_model(model: StoredModel, out_dir: Path, *, card: Mapping[str, Any]) -> Path:
    """Write ``model`` and its ``card`` to ``out_dir`` (created if needed); return the card path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kind = family_of(model)
    if isinstance(model, BoostedEta | BoostedStock):
        if model.base is not None:
            if not isinstance(model.base, AnyModel):
                raise ModelError(str(out_dir / BASE), "a stacked model's base must be a network")
            save_model(model.base, out_dir / BASE, card={"kind": kind.kind, "role": "base"})
        _write_json(out_dir / ENCODER, {"format": FORMAT, "kind": kind.kind, "form": BOOSTED_FORM})
        _write_json(out_dir / BOOSTERS, model.to_dict())
    elif isinstance(model, TimetableEta):
        _write_json(
            out_dir / ENCODER, {"format": FORMAT, "kind": kind.kind, "form": TIMETABLE_FORM}
        )
        _write_json(out_dir / TIMETABLE, model.to_dict())
    else:
        torch.save(model.network.state_dict(), out_dir / WEIGHTS)
        encoder: dict[str, Any] = {"format": FORMAT, **kind.encoder_dict(model)}
        _write_json(out_dir / ENCODER, encoder)
        _write_json(out_dir / CALIBRATION, kind.calibration_dict(model))
    _write_json(out_dir / CARD, {"format": FORMAT, **card})
    logger.info("model saved to %s", out_dir)
    return out_dir / CARD


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ModelError(str(path), "missing (is this a model directory?)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelError(str(path), f"not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(str(path), "not a JSON object")
    return data


def read_card(model_dir: Path) -> dict[str, Any]:
    """Return the model card of ``model_dir``."""
    return _read_json(Path(model_dir) / CARD)


def load_model(model_dir: Path) -> AnyModel:
    """Load the network model of ``model_dir`` onto the CPU (see :func:`load_stored_model`).

    Raises
    ------
    ModelError
        A file is missing or malformed, the weights do not fit, or it holds no network.
    """
    model = load_stored_model(model_dir)
    if not isinstance(model, AnyModel):
        raise ModelError(
            str(Path(model_dir) / ENCODER), "a boosted model or timetable, not a network"
        )
    return model


def load_stored_model(model_dir: Path) -> StoredModel:
    """Load the model of ``model_dir`` (a network, a boosted model or a timetable) onto the CPU.

    Raises
    ------
    ModelError
        A file is missing or malformed, or the weights do not fit the stored configuration.
    """
    model_dir = Path(model_dir)
    encoder = _read_json(model_dir / ENCODER)
    path = str(model_dir / ENCODER)
    if encoder.get("format") != FORMAT:
        raise ModelError(path, f"format is {encoder.get('format')!r}, expected {FORMAT!r}")
    if encoder.get("kind") not in MODEL_KINDS:
        raise ModelError(path, f"unknown model kind {encoder.get('kind')!r}")
    if encoder.get("form") == BOOSTED_FORM:
        return _load_boosted(model_dir, kind=str(encoder["kind"]))
    if encoder.get("form") == TIMETABLE_FORM:
        return _load_timetable(model_dir, kind=str(encoder["kind"]))
    calibration = _read_json(model_dir / CALIBRATION)
    try:
        model = family(encoder["kind"]).restore(encoder, calibration)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(path, f"malformed model configuration: {exc!r}") from exc
    weights = model_dir / WEIGHTS
    if not weights.exists():
        raise ModelError(str(weights), "missing")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model.network.load_state_dict(state)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(str(weights), f"weights do not load: {exc}") from exc
    model.network.eval()
    return model


def _load_timetable(model_dir: Path, *, kind: str) -> TimetableEta:
    path = str(model_dir / TIMETABLE)
    if kind != TimetableEta.kind:
        raise ModelError(path, f"a timetable is an {TimetableEta.kind!r} model, not {kind!r}")
    data = _read_json(model_dir / TIMETABLE)
    try:
        return TimetableEta.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(path, f"malformed timetable: {exc!r}") from exc


def _load_boosted(model_dir: Path, *, kind: str) -> StoredModel:
    base = load_stored_model(model_dir / BASE) if (model_dir / BASE).is_dir() else None
    path = str(model_dir / BOOSTERS)
    data = _read_json(model_dir / BOOSTERS)
    from lightgbm.basic import LightGBMError  # noqa: PLC0415  (slow: off the ClientApp import path)

    try:
        return family(kind).restore_boosted(data, base)
    except (KeyError, TypeError, ValueError, LightGBMError) as exc:
        if isinstance(exc, ModelError):
            raise
        raise ModelError(path, f"malformed boosted model: {exc!r}") from exc
