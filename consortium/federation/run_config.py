"""Reading a kebab-case Flower run config into a frozen dataclass whose fields carry the defaults.

Used by :class:`~consortium.federation.instructions.RunConfig` and the toy federation's config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

from consortium.errors import ConfigError

__all__ = ["read_run_config"]

T = TypeVar("T")


def read_run_config(cls: type[T], run_config: Mapping[str, Any], *, strict: bool = True) -> T:
    """Build the frozen dataclass ``cls`` from a kebab-case run config, coercing each value.

    Every field needs a default (the one place it is written). Unknown keys are refused when
    ``strict``, else ignored.

    Raises
    ------
    ConfigError
        An unknown key (``strict``), or a value that does not read as its field's type.
    """
    names = {f.name.replace("_", "-"): f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(run_config) - set(names))
    if unknown and strict:
        raise ConfigError(unknown[0], f"unknown run-config key (known: {', '.join(names)})")
    values: dict[str, Any] = {}
    for key, value in run_config.items():
        if key not in names:
            continue
        name = names[key]
        try:
            values[name] = _coerce(name, getattr(cls, name), value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(key, f"cannot read {value!r}: {exc}") from exc
    return cls(**values)


def _coerce(name: str, default: Any, value: Any) -> Any:
    if name == "out_dir":
        return Path(str(value))
    if name == "round_timeout":
        return float(value) if float(value) > 0 else None
    if isinstance(default, bool):
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, str):
        return str(value)
    return value
