"""The table of answered (paid) queries: one row per query id and per nonce, ever.

The unique keys refuse replays: a query id or nonce that was answered once can never be
charged again. Refused queries leave no row (nothing is written for them), so a declined or
rejected query may be sent again once its cause is fixed.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from consortium.db import Base
from consortium.ledger import models as _ledger_models  # noqa: F401  (ledger_entries first)


class AnsweredQueryRow(Base):
    """An answered query: who paid how much, and the ledger entries that record it."""

    __tablename__ = "forecast_queries"

    query_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128), unique=True)
    issuer_key_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    fee: Mapped[int] = mapped_column(BigInteger)
    model_version: Mapped[str] = mapped_column(String(64))
    settled_seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"))
    answered_seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"))

    __table_args__ = (
        CheckConstraint("fee >= 0", name="ck_forecast_queries_fee"),
        CheckConstraint("kind IN ('lane', 'warehouse')", name="ck_forecast_queries_kind"),
    )

    def __repr__(self) -> str:
        return f"AnsweredQueryRow(query_id={self.query_id!r}, kind={self.kind!r}, fee={self.fee})"


def seen_before(session: Session, *, query_id: str, nonce: str) -> bool:
    """Whether a query with this id or this nonce was already answered."""
    found = session.execute(
        select(AnsweredQueryRow.query_id)
        .where(or_(AnsweredQueryRow.query_id == query_id, AnsweredQueryRow.nonce == nonce))
        .limit(1)
    ).first()
    return found is not None


def answered_query(session: Session, query_id: str) -> AnsweredQueryRow | None:
    """Return the row of an answered query, if any."""
    return session.get(AnsweredQueryRow, query_id)
