"""The pooled models and lane catalog a query is answered from, loaded once and kept in memory.

A model directory is identified by its version, the SHA-256 of ``weights.pt``: that is what the
ledger records for every answer, so anyone can tell which model version answered and whose
contributions it holds. Hashing the weights on every query would cost milliseconds, so the
version is cached per file identity (path, inode, size, modification time) and recomputed as
soon as the file is replaced. Models are cached by directory and version, so a new global model
written into the same directory is picked up by the next query.

A query scores a few dozen representative legs: far too little work to share among torch's
intra-op threads. With several threads each operator wakes a worker that then spins waiting
for the next one, taking a core from the request threads (on a small coordinator, the very
core the query needs), so :func:`use_inference_threads` sets one intra-op thread where queries
are answered; concurrent requests still run in parallel on the service's thread pool.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from pathlib import Path

import torch

from consortium.errors import ModelError
from consortium.forecasts.catalog import CATALOG_FILE, LaneCatalog
from consortium.models.eta import EtaModel
from consortium.models.stock import StockModel
from consortium.models.store import WEIGHTS, load_model

logger = logging.getLogger(__name__)

_CACHE_SIZE = 8
_lock = threading.Lock()

INFERENCE_THREADS = 1
"""Intra-op threads torch uses to answer a query (a few dozen legs: one is fastest)."""


def use_inference_threads(threads: int | None = INFERENCE_THREADS) -> None:
    """Let torch score with ``threads`` intra-op threads from now on (``None``: leave as is).

    Torch keeps the setting per process and applies it in each thread as that thread starts
    its first operator, so the call is made in the answering thread itself, before scoring;
    it costs nothing when the setting is already in force.
    """
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _identity(path: Path) -> tuple[str, int, int, int]:
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelError(str(path), f"cannot read: {exc.strerror}") from exc
    return str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=64)
def _sha256_of(identity: tuple[str, int, int, int]) -> str:
    digest = hashlib.sha256()
    with open(identity[0], "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_version(model_dir: Path) -> str:
    """Return the version of the model in ``model_dir``: hex SHA-256 of its ``weights.pt``.

    Raises
    ------
    ModelError
        If ``weights.pt`` is missing or unreadable.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "weights.pt").write_bytes(b"")
    >>> model_version(d)[:16]
    'e3b0c44298fc1c14'
    """
    weights = Path(model_dir) / WEIGHTS
    if not weights.exists():
        raise ModelError(str(weights), "missing (is this a model directory?)")
    return _sha256_of(_identity(weights))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _load(model_dir: str, version: str) -> EtaModel | StockModel:
    model = load_model(Path(model_dir))
    logger.info("loaded model %s (version %s)", model_dir, version[:12])
    return model


def pooled_eta_model(model_dir: Path) -> tuple[EtaModel, str]:
    """Return the ETA model of ``model_dir`` and its version (loaded once per version).

    Raises
    ------
    ModelError
        If the directory holds no model, or a stock-risk model.
    """
    version = model_version(model_dir)
    with _lock:
        model = _load(str(Path(model_dir).resolve()), version)
    if not isinstance(model, EtaModel):
        raise ModelError(
            str(model_dir), "holds a stock-risk model; lane queries need the ETA model"
        )
    return model, version


def pooled_stock_model(model_dir: Path) -> tuple[StockModel, str]:
    """Return the stock-risk model of ``model_dir`` and its version (loaded once per version).

    Raises
    ------
    ModelError
        If the directory holds no model, or an ETA model.
    """
    version = model_version(model_dir)
    with _lock:
        model = _load(str(Path(model_dir).resolve()), version)
    if not isinstance(model, StockModel):
        raise ModelError(str(model_dir), "holds an ETA model; warehouse queries need stock-risk")
    return model, version


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _catalog(identity: tuple[str, int, int, int]) -> LaneCatalog:
    return LaneCatalog.load(Path(identity[0]).parent)


def lane_catalog(model_dir: Path) -> LaneCatalog:
    """Return the lane catalog saved in ``model_dir`` (read once per file version).

    Raises
    ------
    ModelError
        If the catalog is missing or malformed.
    """
    path = Path(model_dir) / CATALOG_FILE
    if not path.exists():
        return LaneCatalog.load(Path(model_dir))  # raises the precise ModelError
    with _lock:
        return _catalog(_identity(path))
