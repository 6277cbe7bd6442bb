"""ORM tables of the points store: accounts, the journal, contributions, payments, rounds.

``points_accounts`` holds one row per holder account with a ``BIGINT`` balance that a ``CHECK``
keeps non-negative. ``points_journal`` holds the lines of every movement, each tied to the ledger
entry that records it (foreign key on ``ledger_entries.seq``); the lines of one entry sum to zero
because minting draws on the ``mint`` source and redeeming pays into the ``burn`` sink, which
exist only as journal lines. ``points_rounds`` indexes the ``round-completed`` entries by model,
run, round and model version, which is how a paid query finds the round that produced its model
and how a resumed run finds which of its rounds are recorded. Contributions are paid at most once
per model, run, round and account.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from consortium.db import Base
from consortium.ledger import models as _ledger_models  # noqa: F401  (ledger_entries first)

_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only
ACCOUNT_LENGTH = 80
RUN_ID_LENGTH = 64


class AccountRow(Base):
    """A holder account: ``member:<id>``, ``cargo:<key id>`` or ``treasury``."""

    __tablename__ = "points_accounts"

    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        CheckConstraint("balance >= 0", name="ck_points_accounts_balance"),
        CheckConstraint("kind IN ('member', 'cargo', 'treasury')", name="ck_points_accounts_kind"),
    )

    def __repr__(self) -> str:
        return f"AccountRow(account={self.account!r}, balance={self.balance})"


class JournalRow(Base):
    """One journal line: ``delta`` points on ``account`` by ledger entry ``seq``."""

    __tablename__ = "points_journal"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"), index=True)
    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH))
    delta: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("delta <> 0", name="ck_points_journal_delta"),
        Index("ix_points_journal_account_seq", "account", "seq"),
    )

    def __repr__(self) -> str:
        return f"JournalRow(seq={self.seq}, account={self.account!r}, delta={self.delta})"


class ContributionRow(Base):
    """Contribution points minted to one member for one round of one model (at most once)."""

    __tablename__ = "points_contributions"

    seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"), primary_key=True)
    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH))
    model: Mapped[str] = mapped_column(String(128))
    round_number: Mapped[int] = mapped_column("round", Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str] = mapped_column(String(RUN_ID_LENGTH), default="")
    """The federation run that earned them (``""``: minted outside a run, or before run ids)."""

    __table_args__ = (
        Index("ux_points_contributions_once", "model", "run_id", "round", "account", unique=True),
        CheckConstraint("amount > 0", name="ck_points_contributions_amount"),
        CheckConstraint("round >= 0", name="ck_points_contributions_round"),
    )

    def __repr__(self) -> str:
        return (
            f"ContributionRow(model={self.model!r}, round={self.round_number}, "
            f"account={self.account!r}, amount={self.amount})"
        )


class PaymentRow(Base):
    """An off-ledger payment behind a deposit or a redemption; one use per external reference."""

    __tablename__ = "points_payments"

    seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))
    external_ref: Mapped[str] = mapped_column(String(128))
    account: Mapped[str] = mapped_column(String(ACCOUNT_LENGTH))
    amount: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ux_points_payments_ref", "direction", "external_ref", unique=True),
        CheckConstraint("direction IN ('deposit', 'redeem')", name="ck_points_payments_direction"),
        CheckConstraint("amount > 0", name="ck_points_payments_amount"),
    )

    def __repr__(self) -> str:
        return (
            f"PaymentRow(direction={self.direction!r}, external_ref={self.external_ref!r}, "
            f"amount={self.amount})"
        )


class RoundRow(Base):
    """One ``round-completed`` entry: which round of which model produced which model version.

    Written with the entry by :func:`consortium.points.rounds.append_round_completed`, so a
    version is found through an index instead of by searching the entries' JSON text. Neither
    the version nor the round is unique: a later entry for the same version wins.
    """

    __tablename__ = "points_rounds"

    seq: Mapped[int] = mapped_column(
        ForeignKey("ledger_entries.seq"), primary_key=True, autoincrement=False
    )
    model: Mapped[str] = mapped_column(String(128))
    round_number: Mapped[int] = mapped_column("round", Integer)
    model_version: Mapped[str | None] = mapped_column(String(128))
    run_id: Mapped[str] = mapped_column(String(RUN_ID_LENGTH), default="")
    """The federation run the round belongs to (``""``: written before run ids)."""

    __table_args__ = (
        Index("ix_points_rounds_version", "model", "model_version"),
        Index("ix_points_rounds_round", "model", "round"),
        Index("ix_points_rounds_run", "model", "run_id", "round"),
        CheckConstraint("round >= 0", name="ck_points_rounds_round"),
    )

    def __repr__(self) -> str:
        return (
            f"RoundRow(seq={self.seq}, model={self.model!r}, round={self.round_number}, "
            f"model_version={(self.model_version or '')[:12]!r})"
        )
