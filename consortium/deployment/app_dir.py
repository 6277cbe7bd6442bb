"""The files Flower's command line reads: flat TOML tables and the kit's Flower App manifest.

:func:`toml_table` renders ``--node-config``/``--run-config`` files and the coordinator's
``config.toml``; :func:`write_kit_app` writes the kit's Flower App (a manifest only) for
``flwr run``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path

from consortium.errors import ConfigError

__all__ = ["ConfigValue", "toml_table", "write_kit_app"]

ConfigValue = str | int | float | bool
_TOML_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_table(values: Mapping[str, ConfigValue]) -> str:
    """Render a flat config mapping as TOML (what ``--node-config``/``--run-config`` read).

    Raises
    ------
    ConfigError
        If a key holds other characters than letters, digits, ``-`` and ``_``, or a value is
        not a finite number, a string or a bool.

    Examples
    --------
    >>> print(toml_table({"member-id": "m1", "rounds": 2, "secure": True}), end="")
    member-id = "m1"
    rounds = 2
    secure = true
    """
    lines = []
    for key, value in values.items():
        if not _TOML_KEY.match(key):
            raise ConfigError(key, "config keys may hold only letters, digits, '-' and '_'")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int | float):
            if not math.isfinite(value):
                raise ConfigError(key, "must be a finite number")
            text = repr(value)
        elif isinstance(value, str):
            text = json.dumps(value)
        else:
            raise ConfigError(key, f"unsupported type {type(value).__name__}")
        lines.append(f"{key} = {text}\n")
    return "".join(lines)


def _run_config_defaults() -> dict[str, ConfigValue]:
    """Return the ServerApp's run-config defaults (:class:`RunConfig`), kebab-case.

    A lazy import: the run config's module loads the model families (torch).
    """
    from consortium.federation.instructions import RunConfig  # noqa: PLC0415  (torch)

    return dict(RunConfig().to_config())


def write_kit_app(dest: Path) -> Path:
    """Write the kit's Flower App manifest to ``dest``; return ``dest`` (give it to ``run``).

    The FAB built from it holds only ``pyproject.toml``: its components name the kit's own
    apps (``consortium.federation.server_app:app``, ``...client_app:app``), which every
    machine loads from the kit version it installed, so the coordinator cannot push code to
    members. Its ``[tool.flwr.app.config]`` holds the ServerApp's run-config defaults (keys
    without a finite default are left out), which a run may then override.
    """
    from consortium import __version__  # noqa: PLC0415

    defaults = _run_config_defaults()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "pyproject.toml").write_text(
        "# Written by consortium.deployment.write_kit_app: the kit's Flower App.\n"
        '[build-system]\nrequires = ["setuptools>=69"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "logistics-consortium"\n'
        f'version = "{__version__}"\n'
        f'dependencies = ["flwr>=1.42,<1.43", "logistics-consortium-kit=={__version__}"]\n\n'
        '[tool.flwr.app]\npublisher = "consortium"\n\n'
        "[tool.flwr.app.components]\n"
        'serverapp = "consortium.federation.server_app:app"\n'
        'clientapp = "consortium.federation.client_app:app"\n\n'
        "[tool.flwr.app.config]\n" + toml_table(defaults)
    )
    return dest
