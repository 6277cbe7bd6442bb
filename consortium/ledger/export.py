"""A self-contained ledger export (JSON Lines): header, public keys, entries, signed heads.

The file verifies on another machine with the kit alone: :func:`read_export` then
:func:`~consortium.ledger.verify.verify_log`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from consortium.errors import VerificationError
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import Entry

FORMAT = "consortium-ledger-export/1"


@dataclass(frozen=True)
class LedgerExport:
    """The contents of an export file."""

    entries: list[Entry]
    keys: dict[str, bytes]
    heads: list[Checkpoint]


def write_export(
    path: Path,
    *,
    entries: Iterable[Entry],
    keys: Mapping[str, bytes],
    heads: Iterable[Checkpoint],
) -> int:
    """Write an export file atomically; return the number of entries written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ledger.jsonl"
    >>> write_export(p, entries=[], keys={}, heads=[])
    0
    >>> read_export(p).entries
    []
    """
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps({"type": "header", "format": FORMAT}) + "\n")
        for key_id, public_key in sorted(keys.items()):
            fh.write(json.dumps({"type": "key", "key_id": key_id, "public_key": public_key.hex()}))
            fh.write("\n")
        for entry in entries:
            fh.write(json.dumps({"type": "entry", **entry.to_json()}, separators=(",", ":")))
            fh.write("\n")
            count += 1
        for head in heads:
            fh.write(json.dumps({"type": "head", "checkpoint": head.to_text()}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return count


def read_export(path: Path) -> LedgerExport:
    """Read an export file.

    Raises
    ------
    VerificationError
        If the file is not an export or a line is malformed (``index`` names an entry's seq).
    """
    entries: list[Entry] = []
    keys: dict[str, bytes] = {}
    heads: list[Checkpoint] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                record = json.loads(line)
                kind = record["type"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise VerificationError(f"{path}:{number}: malformed line: {exc}") from exc
            if number == 1 and (kind != "header" or record.get("format") != FORMAT):
                raise VerificationError(f"{path}: not a {FORMAT} file")
            if kind == "entry":
                entries.append(Entry.from_json(record))
            elif kind == "key":
                keys[record["key_id"]] = bytes.fromhex(record["public_key"])
            elif kind == "head":
                heads.append(Checkpoint.from_text(record["checkpoint"]))
    return LedgerExport(entries, keys, heads)
