"""Purpose limitation: a member declares, per data source, the purposes it may serve.

The declaration is a ``sources.json`` manifest next to the data, checked against
``data_schemas/sources.v1.schema.json``::

    {"schema_version": 1, "member_id": "rotterdam-lines",
     "sources": [{"path": "legs.csv", "contract": "legs", "purposes": ["eta-training"]}]}

``path`` is relative to the manifest's folder and may be a glob (``legs/*.parquet``).  The purpose
vocabulary is the ``purpose`` enum of that schema, so it is written in one place.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from consortium.config import Settings, load_settings
from consortium.errors import ContractViolation, Problem, PurposeNotDeclared
from consortium.schemas import codes, message_schema, validate_message

logger = logging.getLogger(__name__)

MANIFEST_NAME = "sources.json"


def purposes(*, settings: Settings | None = None) -> tuple[str, ...]:
    """Return the purpose vocabulary, read from the ``sources`` message schema."""
    schema = message_schema("sources", settings=settings)
    return tuple(schema["$defs"]["purpose"]["enum"])


class PurposeRefused(PurposeNotDeclared):
    """A load was refused under purpose limitation; ``hint`` says how to declare the source."""

    def __init__(self, source: str, purpose: str, declared: Sequence[str], *, hint: str) -> None:
        super().__init__(source, purpose, declared)
        self.hint = hint

    def diagnostics(self) -> str:
        """Return the refusal, then how to declare the purpose."""
        return f"{self}\n{self.hint}"


@dataclass(frozen=True)
class DeclaredSource:
    """One entry of a manifest."""

    path: str
    contract: str
    purposes: tuple[str, ...]


@dataclass(frozen=True)
class SourceDeclaration:
    """A member's ``sources.json``: who it is and which purposes each file may serve."""

    member_id: str
    manifest: Path
    sources: tuple[DeclaredSource, ...]

    def source_for(self, path: Path) -> DeclaredSource | None:
        """Return the entry that covers ``path`` (exact relative path first, then globs)."""
        try:
            relative = path.resolve().relative_to(self.manifest.parent.resolve()).as_posix()
        except ValueError:
            return None
        for entry in self.sources:
            if entry.path == relative:
                return entry
        for entry in self.sources:
            if fnmatch.fnmatchcase(relative, entry.path):
                return entry
        return None


def read_declaration(path: Path, *, settings: Settings | None = None) -> SourceDeclaration | None:
    """Read the ``sources.json`` covering ``path`` (a data file, its folder, or the manifest).

    Returns
    -------
    SourceDeclaration | None
        ``None`` when there is no manifest in that folder.

    Raises
    ------
    ContractViolation
        The manifest is not valid JSON or breaks ``sources.v1.schema.json`` (the problem's path
        is the manifest; its column is the JSON pointer of the bad value).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_declaration(folder, member_id="m1", path="legs.csv", contract="legs",
    ...                       purposes=["eta-training"])
    >>> read_declaration(folder / "legs.csv").source_for(folder / "legs.csv").purposes
    ('eta-training',)
    """
    path = Path(path)
    if path.name == MANIFEST_NAME:
        manifest = path
    elif path.is_dir():
        manifest = path / MANIFEST_NAME
    else:
        manifest = path.parent / MANIFEST_NAME
    if not manifest.is_file():
        return None
    try:
        payload = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problem = Problem(str(manifest), None, None, codes.TYPE_ERROR, f"not valid JSON ({exc})")
        raise ContractViolation([problem]) from exc
    try:
        validate_message("sources", payload, settings=settings)
    except ContractViolation as exc:
        located = [Problem(str(manifest), p.row, p.column, p.code, p.reason) for p in exc.problems]
        raise ContractViolation(located, total=exc.total) from exc
    return SourceDeclaration(
        member_id=payload["member_id"],
        manifest=manifest,
        sources=tuple(
            DeclaredSource(s["path"], s["contract"], tuple(s["purposes"]))
            for s in payload["sources"]
        ),
    )


def write_declaration(
    folder: Path,
    *,
    member_id: str,
    path: str,
    contract: str,
    purposes: Sequence[str],
    settings: Settings | None = None,
) -> Path:
    """Add or replace the entry for ``path`` in ``folder/sources.json``; return the manifest path.

    Raises
    ------
    ContractViolation
        The resulting manifest would break ``sources.v1.schema.json`` (e.g. an unknown purpose).
    """
    manifest = Path(folder) / MANIFEST_NAME
    current = read_declaration(manifest, settings=settings)
    entries = [
        {"path": s.path, "contract": s.contract, "purposes": list(s.purposes)}
        for s in (current.sources if current else ())
        if s.path != path
    ]
    entries.append({"path": path, "contract": contract, "purposes": list(purposes)})
    payload = {"schema_version": 1, "member_id": member_id, "sources": entries}
    validate_message("sources", payload, settings=settings or load_settings())
    manifest.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    logger.info("declared %s (%s) for %s in %s", path, contract, ", ".join(purposes), manifest)
    return manifest


def how_to_declare(path: Path, *, contract: str, purpose: str) -> str:
    """Return a hint naming the manifest and the entry that would allow this use."""
    entry = {"path": path.name, "contract": contract, "purposes": [purpose]}
    return (
        f"to allow it, list the file in {path.parent / MANIFEST_NAME} (schema: "
        f"data_schemas/sources.v1.schema.json), e.g. {json.dumps(entry)}, or run "
        f"`consortium declare {path} --contract {contract} --purpose {purpose} --member-id ID`"
    )
