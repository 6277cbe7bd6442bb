"""Validate JSON messages (queries, proposals, votes, source declarations) against JSON Schema.

Message contracts are ``<kind>.v<N>.schema.json`` (draft 2020-12) in ``Settings.schemas_dir``.
Every message carries ``schema_version``; the matching file is used, the newest when the field is
absent or not an integer (the schema then reports it).  Problems are reported with the JSON
pointer of the offending value as ``column`` (``/params/horizon_days``) and ``row`` ``None``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consortium.config import Settings, load_settings
from consortium.errors import ConfigError, ContractViolation, Problem
from consortium.schemas import codes
from consortium.schemas.contract import UnknownContract

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

logger = logging.getLogger(__name__)

_FILE = re.compile(r"^(?P<kind>[a-z][a-z0-9_-]*)\.v(?P<version>[1-9][0-9]*)\.schema\.json$")


def message_kinds(*, settings: Settings | None = None) -> dict[str, tuple[int, ...]]:
    """Map each message kind in the schemas folder to its versions, ascending."""
    folder = (settings or load_settings()).schemas_dir
    found: dict[str, list[int]] = {}
    for path in folder.glob("*.schema.json"):
        match = _FILE.match(path.name)
        if match:
            found.setdefault(match["kind"], []).append(int(match["version"]))
    return {kind: tuple(sorted(v)) for kind, v in sorted(found.items())}


@lru_cache(maxsize=32)
def _validator(path: Path, mtime_ns: int) -> Draft202012Validator:
    """Compile one schema file (cached per file version).

    jsonschema is imported here, not at module level: with ``rfc3987-syntax`` installed its
    format checkers compile a grammar on import (~2.5 s), which every process that imports the
    kit (each Flower ClientApp and ServerApp process among them) would pay for nothing.
    """
    from jsonschema import Draft202012Validator  # noqa: PLC0415  (slow import)
    from jsonschema.exceptions import SchemaError  # noqa: PLC0415

    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, SchemaError) as exc:
        raise ConfigError("schemas_dir", f"{path}: not a valid JSON Schema ({exc})") from exc
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def message_schema(
    kind: str, *, version: int | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Return the JSON Schema document of a message kind (newest version by default).

    Raises
    ------
    UnknownContract
        No schema for that kind or version.
    """
    return dict(_load(kind, version, settings or load_settings())[0].schema)


def _load(kind: str, version: int | None, settings: Settings) -> tuple[Draft202012Validator, int]:
    known = message_kinds(settings=settings)
    if kind not in known:
        raise UnknownContract(kind, tuple(known))
    chosen = version if version in known[kind] else known[kind][-1]
    path = settings.schemas_dir / f"{kind}.v{chosen}.schema.json"
    return _validator(path, path.stat().st_mtime_ns), chosen


def _pointer(parts: list[str | int]) -> str:
    """RFC 6901 JSON pointer of a path."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts) or "/"


def _problems(error: ValidationError, source: str) -> list[Problem]:
    """Turn one jsonschema error into located problems (one per missing or extra property)."""
    path = list(error.absolute_path)
    keyword = str(error.validator)
    instance = error.instance
    if keyword == "required" and isinstance(instance, Mapping):
        missing = [p for p in error.validator_value if p not in instance]
        return [
            Problem(source, None, _pointer([*path, m]), codes.MISSING_FIELD, f"'{m}' is required")
            for m in missing
        ]
    if keyword in {"additionalProperties", "unevaluatedProperties"} and isinstance(
        instance, Mapping
    ):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in allowed)
        return [
            Problem(source, None, _pointer([*path, e]), codes.EXTRA_FIELD, f"'{e}' is not allowed")
            for e in extra
        ]
    code = codes.TYPE_ERROR if keyword == "type" else codes.CONSTRAINT_ERROR
    return [Problem(source, None, _pointer(path), code, error.message)]


def validate_message(
    kind: str, payload: Mapping[str, Any], *, settings: Settings | None = None
) -> None:
    """Check ``payload`` against the message contract ``kind``; collect every problem.

    Parameters
    ----------
    kind
        ``query``, ``proposal``, ``vote`` or ``sources`` (any ``<kind>.v<N>.schema.json``).
    payload
        The decoded JSON object.
    settings
        Where the schemas live.

    Raises
    ------
    ContractViolation
        One problem per violated keyword; ``column`` is the JSON pointer of the bad value,
        ``code`` is ``type-error``, ``constraint-error``, ``missing-field`` or ``extra-field``.
    UnknownContract
        No schema for ``kind``.

    Examples
    --------
    >>> vote = {"schema_version": 1, "proposal_id": "p-1", "voter_key_id": "ed25519:ab12cd34",
    ...         "support": "maybe", "cast_at": "2025-01-01T00:00:00Z"}
    >>> try:
    ...     validate_message("vote", vote)
    ... except ContractViolation as exc:
    ...     print(exc.column, exc.code)
    /support constraint-error
    """
    settings = settings or load_settings()
    version = payload.get("schema_version") if isinstance(payload, Mapping) else None
    validator, chosen = _load(kind, version if isinstance(version, int) else None, settings)
    source = f"{kind}.v{chosen}"
    errors = sorted(
        validator.iter_errors(payload),
        key=lambda e: (list(map(str, e.absolute_path)), str(e.validator)),
    )
    if errors:
        problems = [p for e in errors for p in _problems(e, source)]
        cap = settings.max_reported_problems
        raise ContractViolation(problems[:cap], total=len(problems))
