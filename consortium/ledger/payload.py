"""The payload policy: ledger payloads hold ids, numbers, hashes and enums, never personal data.

Three rules, each raising :class:`PayloadRejected` naming the offending key path:

* keys are snake_case tokens and never the name of a personal field: the built-in list below
  plus every field that a data contract (``data_schemas/*.json``) marks ``"x-personal": true``;
* strings are short tokens (``[A-Za-z0-9._:+/=-]``, at most 128 characters): ids, enums, hex
  hashes, canonical times. Free text (spaces, ``@``, non-ASCII) cannot pass, so names, e-mail
  addresses and postal addresses are refused whatever key they hide under;
* a kind may be given an allowlist of top-level keys (:meth:`PayloadPolicy.with_kind`).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from consortium.errors import LedgerError

logger = logging.getLogger(__name__)

BUILTIN_PERSONAL_FIELDS = frozenset(
    {
        "name", "first_name", "last_name", "full_name", "surname", "email", "e_mail", "phone",
        "phone_number", "mobile", "address", "street", "postcode", "zip_code", "contact",
        "contact_name", "contact_email", "contact_phone", "company_name", "legal_name",
        "person", "person_name", "birth_date", "date_of_birth", "iban", "passport",
        "driver_name", "manager_name",
    }
)  # fmt: skip
_PERSONAL_TOKENS = frozenset({"email", "phone", "contact", "address", "surname", "iban"})
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+/=-]{0,127}$")
MAX_DEPTH = 6
MAX_ITEMS = 1024


class PayloadRejected(LedgerError, ValueError):
    """A payload breaks the policy; ``kind`` and ``path`` (``a.b[2]``) say where."""

    def __init__(self, kind: str, path: str, reason: str) -> None:
        self.kind = kind
        self.path = path
        self.reason = reason
        super().__init__(f"{kind} payload, {path or '<root>'}: {reason}")


def _walk_contract(node: object) -> Iterator[str]:
    if isinstance(node, Mapping):
        if node.get("x-personal") is True and isinstance(node.get("name"), str):
            yield node["name"]
        for value in node.values():
            yield from _walk_contract(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_contract(value)


def load_personal_fields(schemas_dir: Path) -> frozenset[str]:
    """Return the names of every field marked ``"x-personal": true`` in the contracts.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "t.v1.json").write_text('{"fields": [{"name": "nick", "x-personal": true}]}')
    >>> sorted(load_personal_fields(d))
    ['nick']
    """
    names: set[str] = set()
    for path in sorted(schemas_dir.glob("*.json")):
        try:
            names.update(_walk_contract(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, json.JSONDecodeError) as exc:
            raise PayloadRejected("*", str(path), f"cannot read data contract: {exc}") from exc
    logger.debug("%d personal field names loaded from %s", len(names), schemas_dir)
    return frozenset(names)


@dataclass(frozen=True)
class PayloadPolicy:
    """What a ledger payload may contain.

    Examples
    --------
    >>> policy = PayloadPolicy().with_kind("round-closed", {"round", "model_hash"})
    >>> policy.check("round-closed", {"round": 3, "model_hash": "ab" * 32})
    >>> try:
    ...     policy.check("member-joined", {"email": "x"})
    ... except PayloadRejected as exc:
    ...     print(exc.path, "-", exc.reason)
    email - key names a personal field
    """

    personal_fields: frozenset[str] = BUILTIN_PERSONAL_FIELDS
    kind_keys: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_contracts(cls, schemas_dir: Path) -> PayloadPolicy:
        """Built-in personal names plus the contracts' ``x-personal`` fields."""
        return cls(personal_fields=BUILTIN_PERSONAL_FIELDS | load_personal_fields(schemas_dir))

    def with_kind(self, kind: str, keys: set[str] | frozenset[str]) -> PayloadPolicy:
        """Return a copy that allows only ``keys`` at the top level of ``kind`` payloads."""
        return replace(self, kind_keys={**self.kind_keys, kind: frozenset(keys)})

    def check(self, kind: str, payload: Mapping[str, object]) -> None:
        """Raise :class:`PayloadRejected` unless ``payload`` obeys the policy."""
        if not isinstance(payload, Mapping):
            raise PayloadRejected(kind, "", "payload must be a mapping")
        allowed = self.kind_keys.get(kind)
        if allowed is not None:
            extra = sorted(set(payload) - allowed)
            if extra:
                raise PayloadRejected(kind, str(extra[0]), f"key not allowed for kind {kind}")
        self._check_value(kind, "", payload, 0)

    def _check_key(self, kind: str, path: str, key: object) -> None:
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise PayloadRejected(kind, path, f"key {key!r} is not a snake_case token")
        if key in self.personal_fields or not _PERSONAL_TOKENS.isdisjoint(key.split("_")):
            raise PayloadRejected(kind, path, "key names a personal field")

    def _check_value(self, kind: str, path: str, value: object, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise PayloadRejected(kind, path, f"nested deeper than {MAX_DEPTH}")
        if value is None or isinstance(value, bool | int):
            return
        if isinstance(value, float):
            if not math.isfinite(value):
                raise PayloadRejected(kind, path, "numbers must be finite")
            return
        if isinstance(value, str):
            if not _TOKEN_RE.match(value):
                raise PayloadRejected(
                    kind, path, "strings must be ids, hashes or enums (no free text)"
                )
            return
        if isinstance(value, Mapping):
            if len(value) > MAX_ITEMS:
                raise PayloadRejected(kind, path, f"more than {MAX_ITEMS} keys")
            for key, item in value.items():
                sub = f"{path}.{key}" if path else str(key)
                self._check_key(kind, sub, key)
                self._check_value(kind, sub, item, depth + 1)
            return
        if isinstance(value, list | tuple):
            if len(value) > MAX_ITEMS:
                raise PayloadRejected(kind, path, f"more than {MAX_ITEMS} items")
            for i, item in enumerate(value):
                self._check_value(kind, f"{path}[{i}]", item, depth + 1)
            return
        raise PayloadRejected(kind, path, f"unsupported type {type(value).__name__}")
