"""The registry of model families: look a family up by its kind, never branch on the name.

Examples
--------
>>> [f.kind for f in families()]
['eta', 'stock']
>>> family("weather")
Traceback (most recent call last):
...
consortium.errors.ConfigError: invalid model: must be one of eta, stock; got 'weather'
"""

from __future__ import annotations

from consortium.errors import ConfigError
from consortium.models.eta_family import ETA
from consortium.models.family import ModelFamily, ModelKind, StoredModel
from consortium.models.stock_family import STOCK

__all__ = ["MODEL_KINDS", "families", "family", "family_of"]

_REGISTRY: dict[str, ModelFamily] = {f.kind: f for f in (ETA, STOCK)}

MODEL_KINDS: tuple[ModelKind, ...] = (ETA.kind, STOCK.kind)
"""Every registered kind, in order."""


def family(kind: str) -> ModelFamily:
    """Return the family named ``kind``.

    Raises
    ------
    ConfigError
        ``model``: no such family.
    """
    try:
        return _REGISTRY[kind]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise ConfigError("model", f"must be one of {known}; got {kind!r}") from None


def families() -> tuple[ModelFamily, ...]:
    """Return every registered family."""
    return tuple(_REGISTRY.values())


def family_of(model: StoredModel) -> ModelFamily:
    """Return the family of a trained or untrained ``model`` (by its ``kind``)."""
    return family(model.kind)
