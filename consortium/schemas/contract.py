"""Load a versioned Table Schema contract from ``Settings.schemas_dir``.

A contract file is ``<name>.v<N>.json`` (``legs.v1.json``); a breaking change adds
``<name>.v<N+1>.json`` beside it.  Custom field properties mark personal fields
(``"x-personal": true``) and labels (``"x-label": true``); frictionless keeps unknown properties
in ``Field.custom`` and the top-level ones (``x-version``, ``x-rules``) in ``Schema.custom``.

``x-rules`` holds the cross-field rules Table Schema cannot express, each
``{"code": ..., "field": later, "after": earlier}``: ``field`` must be strictly later than
``after`` whenever both are present.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from frictionless import FrictionlessException, Schema

from consortium.config import Settings, load_settings
from consortium.errors import ConfigError
from consortium.schemas import codes

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_FILE = re.compile(r"^(?P<name>[a-z][a-z0-9_-]{0,63})\.v(?P<version>[1-9][0-9]*)\.json$")

SUPPORTED_TYPES = frozenset({"string", "integer", "number", "boolean", "datetime", "date"})
"""Field types the fast validator implements; a contract using another type fails to load."""
SUPPORTED_CONSTRAINTS = frozenset(
    {
        "required",
        "unique",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
    }
)


class UnknownContract(ConfigError):
    """No contract of that name (or version) exists in the schemas folder."""

    code = codes.UNKNOWN_CONTRACT

    def __init__(self, contract: str, known: tuple[str, ...]) -> None:
        self.contract = contract
        self.known = known
        super().__init__("contract", f"unknown contract '{contract}' (known: {', '.join(known)})")


@dataclass(frozen=True)
class Rule:
    """A cross-field ordering rule: ``field`` must be strictly later than ``after``."""

    code: str
    field: str
    after: str


@dataclass(frozen=True, eq=False)
class Contract:
    """One versioned tabular data contract.

    Attributes
    ----------
    name, version, path
        ``legs``, ``1`` and the JSON file it was read from.
    field_names
        Every field, in contract order.
    required
        Fields whose cells may not be empty (label fields included).
    personal_fields, label_fields
        Fields marked ``x-personal`` / ``x-label``.
    primary_key
        Fields whose combined values must be unique (may be empty).
    rules
        Cross-field ordering rules from ``x-rules``.
    schema
        The frictionless :class:`~frictionless.Schema`, the single source of types and constraints.
    """

    name: str
    version: int
    path: Path
    field_names: tuple[str, ...]
    required: tuple[str, ...]
    personal_fields: tuple[str, ...]
    label_fields: tuple[str, ...]
    primary_key: tuple[str, ...]
    rules: tuple[Rule, ...]
    schema: Schema


def available_contracts(*, settings: Settings | None = None) -> dict[str, tuple[int, ...]]:
    """Map each tabular contract name in the schemas folder to its versions, ascending."""
    folder = (settings or load_settings()).schemas_dir
    found: dict[str, list[int]] = {}
    for path in sorted(folder.glob("*.v*.json")):
        match = _FILE.match(path.name)
        if match:
            found.setdefault(match["name"], []).append(int(match["version"]))
    return {name: tuple(sorted(versions)) for name, versions in sorted(found.items())}


def load_contract(
    name: str, *, version: int | None = None, settings: Settings | None = None
) -> Contract:
    """Load the contract ``name`` (its newest version unless ``version`` is given).

    Parameters
    ----------
    name
        Contract name, e.g. ``"legs"`` or ``"stock"``.
    version
        A specific version; ``None`` picks the newest file.
    settings
        Where to look (``schemas_dir``); defaults to :func:`~consortium.config.load_settings`.

    Returns
    -------
    Contract
        The parsed contract.

    Raises
    ------
    UnknownContract
        No such contract or version (exit code 2 at the command line).
    ConfigError
        The contract file is malformed or uses a feature the validator does not implement.

    Examples
    --------
    >>> legs = load_contract("legs")
    >>> legs.primary_key, legs.label_fields
    (('leg_id',), ('actual_arrival',))
    """
    settings = settings or load_settings()
    known = available_contracts(settings=settings)
    if not _NAME.match(name) or name not in known:
        raise UnknownContract(name, tuple(known))
    chosen = version if version is not None else known[name][-1]
    if chosen not in known[name]:
        raise UnknownContract(f"{name} v{chosen}", tuple(known))
    path = settings.schemas_dir / f"{name}.v{chosen}.json"
    try:
        schema = Schema.from_descriptor(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, FrictionlessException) as exc:
        raise ConfigError("schemas_dir", f"{path}: not a valid Table Schema ({exc})") from exc
    contract = _build(name, chosen, path, schema)
    logger.debug("loaded contract %s v%d from %s", name, chosen, path)
    return contract


def _build(name: str, version: int, path: Path, schema: Schema) -> Contract:
    """Check the schema uses only what the fast validator implements, then wrap it."""
    for field in schema.fields:
        if field.type not in SUPPORTED_TYPES:
            raise ConfigError("schemas_dir", f"{path}: field {field.name}: type {field.type}")
        if field.format != "default" and field.type != "boolean":
            raise ConfigError("schemas_dir", f"{path}: field {field.name}: format {field.format}")
        unsupported = set(field.constraints) - SUPPORTED_CONSTRAINTS
        if unsupported:
            raise ConfigError("schemas_dir", f"{path}: field {field.name}: {sorted(unsupported)}")
    names = tuple(schema.field_names)
    rules = tuple(
        Rule(code=str(r["code"]), field=str(r["field"]), after=str(r["after"]))
        for r in schema.custom.get("x-rules", [])
    )
    for rule in rules:
        for ref in (rule.field, rule.after):
            if ref not in names or schema.get_field(ref).type not in {"datetime", "date"}:
                raise ConfigError("schemas_dir", f"{path}: x-rules: {ref} is not a date(time)")
    for key in schema.primary_key:
        if key not in names:
            raise ConfigError("schemas_dir", f"{path}: primaryKey: no field {key}")
    return Contract(
        name=name,
        version=version,
        path=path,
        field_names=names,
        required=tuple(f.name for f in schema.fields if f.required),
        personal_fields=tuple(f.name for f in schema.fields if f.custom.get("x-personal") is True),
        label_fields=tuple(f.name for f in schema.fields if f.custom.get("x-label") is True),
        primary_key=tuple(schema.primary_key),
        rules=rules,
        schema=schema,
    )
