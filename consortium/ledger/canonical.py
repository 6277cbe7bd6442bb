"""The one canonical encoding of ledger data: RFC 8785 JSON and UTC ISO 8601 timestamps.

Every byte that is hashed or signed comes from this module; nothing else builds hash input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

import rfc8785

from consortium.errors import LedgerError

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
KIND_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
KEY_ID_RE = re.compile(r"^[0-9a-f]{64}$")


class EncodingError(LedgerError, ValueError):
    """A value cannot be encoded canonically; ``field`` names it."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def canonical_json(value: object) -> bytes:
    """Encode ``value`` as RFC 8785 (JCS) JSON bytes.

    Examples
    --------
    >>> canonical_json({"b": 1, "a": [True, None]})
    b'{"a":[true,null],"b":1}'
    """
    try:
        return rfc8785.dumps(value)  # type: ignore[arg-type]  # checked at run time
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise EncodingError("payload", f"not canonicalisable: {exc}") from exc


def format_time(moment: datetime) -> str:
    """Return the canonical UTC form ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` of a tz-aware datetime.

    Raises
    ------
    EncodingError
        If ``moment`` is naive.

    Examples
    --------
    >>> from datetime import timezone, timedelta
    >>> format_time(datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1))))
    '2026-01-01T00:00:00.000000Z'
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EncodingError("time", "naive datetime; ledger times must be timezone-aware")
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """Parse a canonical ledger time back into a tz-aware UTC datetime.

    Raises
    ------
    EncodingError
        If ``text`` is not in the canonical form written by :func:`format_time`.
    """
    if not _TIME_RE.match(text):
        raise EncodingError("time", f"not a canonical UTC timestamp: {text!r}")
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise EncodingError("time", f"not a valid date and time: {text!r}") from exc


def check_header(*, seq: int, time: str, kind: str, actor: str) -> None:
    """Check the header fields of an entry; raise :class:`EncodingError` naming the bad one."""
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise EncodingError("seq", f"must be a non-negative integer, got {seq!r}")
    if not isinstance(time, str) or not _TIME_RE.match(time):
        raise EncodingError("time", f"not a canonical UTC timestamp: {time!r}")
    if not isinstance(kind, str) or not KIND_RE.match(kind):
        raise EncodingError("kind", f"must match {KIND_RE.pattern}, got {kind!r}")
    if not isinstance(actor, str) or not KEY_ID_RE.match(actor):
        raise EncodingError("actor", f"must be a 64-hex key id, got {actor!r}")


def signing_bytes(*, seq: int, time: str, kind: str, payload: bytes, actor: str) -> bytes:
    """Return the canonical bytes an entry's signature covers.

    They equal ``canonical_json({"actor": actor, "kind": kind, "payload": <payload>, "seq": seq,
    "time": time})`` where ``payload`` is already canonical JSON. The header fields are checked
    to be plain ASCII tokens, so the object is spliced without re-encoding the payload, which
    keeps verification of a million entries cheap.

    Examples
    --------
    >>> signing_bytes(seq=0, time="2026-01-01T00:00:00.000000Z", kind="k", payload=b'{}',
    ...               actor="ab" * 32)[:12]
    b'{"actor":"ab'
    """
    check_header(seq=seq, time=time, kind=kind, actor=actor)
    return b"".join(
        (
            b'{"actor":"',
            actor.encode("ascii"),
            b'","kind":"',
            kind.encode("ascii"),
            b'","payload":',
            payload,
            b',"seq":',
            str(seq).encode("ascii"),
            b',"time":"',
            time.encode("ascii"),
            b'"}',
        )
    )


def canonical_payload(payload: Mapping[str, object]) -> bytes:
    """Encode a payload mapping canonically (a JSON object)."""
    if not isinstance(payload, Mapping):
        raise EncodingError("payload", f"must be a mapping, got {type(payload).__name__}")
    return canonical_json(dict(payload))
