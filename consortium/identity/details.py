"""Member details (company name, contact) off-ledger, erasable, behind a salted commitment.

The ledger holds only ``SHA-256(salt || canonical(details))``; the details and the salt live in
``member_details``. Erasure deletes both (and records a ``member-details-erased`` entry), so
the commitment can no longer be linked to anything while every ledger hash still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import DateTime, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from consortium.db import Base
from consortium.errors import LedgerError
from consortium.ledger.canonical import canonical_json
from consortium.ledger.kinds import EntryKind
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry

logger = logging.getLogger(__name__)

SALT_BYTES = 32


class MemberDetailsRow(Base):
    """Erasable personal/company details of one member key."""

    __tablename__ = "member_details"

    member: Mapped[str] = mapped_column(String(64), primary_key=True)
    details: Mapped[str] = mapped_column(Text)
    salt: Mapped[bytes] = mapped_column(LargeBinary(SALT_BYTES))
    commitment: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:  # never shows the details
        return f"MemberDetailsRow(member={self.member[:12]!r})"


def details_commitment(*, salt: bytes, details: Mapping[str, str]) -> str:
    """Hex SHA-256 over ``salt || RFC 8785(details)``.

    Examples
    --------
    >>> details_commitment(salt=bytes(32), details={"company": "ACME"})[:12]
    '8ad4b925ae66'
    """
    return hashlib.sha256(salt + canonical_json(dict(details))).hexdigest()


def record_member_details(
    session: Session, *, member: str, details: Mapping[str, str], signer: Signer
) -> str:
    """Store details off-ledger and append their salted commitment; return the commitment."""
    salt = secrets.token_bytes(SALT_BYTES)
    commitment = details_commitment(salt=salt, details=details)
    record_committed_details(
        session, member=member, details=details, salt=salt, commitment=commitment, signer=signer
    )
    return commitment


def record_committed_details(
    session: Session,
    *,
    member: str,
    details: Mapping[str, str],
    salt: bytes,
    commitment: str,
    signer: Signer,
    moment: datetime | None = None,
) -> None:
    """Store details a newcomer committed to on its machine, and append the commitment.

    The newcomer sends ``commitment`` inside its signed join request and ``details`` and
    ``salt`` beside it; they must open it.

    Raises
    ------
    ValueError
        If the details are not a mapping of short strings, the salt is not
        :data:`SALT_BYTES` bytes, or they do not open ``commitment`` (nothing is written).
    """
    if not isinstance(details, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 64 and len(v) <= 1000
        for k, v in details.items()
    ):
        raise ValueError("details must map short field names to strings")
    if len(salt) != SALT_BYTES:
        raise ValueError(f"the salt must be {SALT_BYTES} bytes")
    if not hmac.compare_digest(details_commitment(salt=salt, details=details), commitment):
        raise ValueError("the details and salt do not open the signed commitment")
    previous = session.get(MemberDetailsRow, member)
    if previous is not None:
        session.delete(previous)
        session.flush()
    session.add(
        MemberDetailsRow(
            member=member, details=canonical_json(dict(details)).decode("utf-8"), salt=salt,
            commitment=commitment, recorded_at=datetime.now(UTC),
        )
    )  # fmt: skip
    append_entry(
        session, kind=EntryKind.MEMBER_DETAILS_COMMITTED,
        payload={"member": member, "commitment": commitment}, signer=signer, moment=moment,
    )  # fmt: skip


def check_member_details(session: Session, *, member: str, commitment: str) -> bool:
    """Whether the stored details still open ``commitment`` (False once erased)."""
    row = session.get(MemberDetailsRow, member)
    if row is None:
        return False
    details = json.loads(row.details)
    computed = details_commitment(salt=bytes(row.salt), details=details)
    return hmac.compare_digest(computed, commitment)


def erase_member_details(
    session: Session, *, member: str, signer: Signer, moment: datetime | None = None
) -> str:
    """Delete a member's details and salt; record the erasure; return the old commitment.

    ``moment`` is the entry's time (default now).

    Raises
    ------
    LedgerError
        If there are no details for ``member``.
    """
    row = session.get(MemberDetailsRow, member)
    if row is None:
        raise LedgerError(f"no details stored for member {member[:16]}...")
    commitment = row.commitment
    session.delete(row)
    append_entry(
        session, kind=EntryKind.MEMBER_DETAILS_ERASED,
        payload={"member": member, "commitment": commitment}, signer=signer, moment=moment,
    )  # fmt: skip
    logger.info("erased details of member %s", member[:16])
    return commitment
