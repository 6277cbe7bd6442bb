"""Onboarding and witness calls: joins, exits, cargo-owner registration, deposits, own entries."""

from __future__ import annotations

from consortium.wire.envelope import EntryModel, Receipt, SignedRequestModel, WireModel


class JoinIn(WireModel):
    """A company's join request, signed with its new member key (proof of possession).

    The body is ``{"member_id", "public_key", "supernode_key_sha256", "details_commitment"}``;
    the SuperNode public key (OpenSSH line), the details and the salt (hex) travel beside it.
    """

    request: SignedRequestModel
    supernode_key: str
    details: dict[str, str]
    salt: str


class JoinOut(WireModel):
    """A join request as recorded: ``status`` is ``pending``, ``admitted`` or ``removed``."""

    seq: int
    member: str
    key_id: str
    public_key: str
    status: str


class JoinWritten(WireModel):
    """The recorded join request and the receipt of the admit proposal it opened (its entry)."""

    join: JoinOut
    receipt: Receipt


class JoinsOut(WireModel):
    """Join requests in arrival order."""

    joins: list[JoinOut]


class CargoOwnerIn(WireModel):
    """A cargo owner's self-signed ``register-cargo-owner`` request (body ``{"public_key"}``)."""

    request: SignedRequestModel


class CargoOwnerWritten(WireModel):
    """The registered key, its account and the receipt of its ``key-registered`` entry."""

    key_id: str
    account: str
    receipt: Receipt


class DepositIn(WireModel):
    """The treasurer's ``deposit`` request ``{"account", "amount", "external_ref"}``."""

    request: SignedRequestModel


class DepositWritten(WireModel):
    """The credited account's balance after the deposit, and the entry's receipt."""

    account: str
    amount: int
    balance: int
    receipt: Receipt


class ExitIn(WireModel):
    """A member's ``request-exit`` request ``{"member"}``, signed with its own member key."""

    request: SignedRequestModel


class MemberOut(WireModel):
    """A member on the roster: ``status`` is ``active`` or ``removed``."""

    member: str
    key_id: str
    role: str
    status: str
    exit_requested_seq: int | None


class ExitWritten(WireModel):
    """The member after its exit request, and the receipt of its ``member-exit-requested``."""

    member: MemberOut
    receipt: Receipt


class ProvenEntryModel(WireModel):
    """An entry with its audit path (hex) in the tree of the size asked for."""

    entry: EntryModel
    proof: list[str]


class OwnEntriesOut(WireModel):
    """Entries a key authorised in ``start <= seq < size``, at most a page.

    ``next_start`` is where the next page starts (``None`` when this was the last).
    """

    entries: list[ProvenEntryModel]
    next_start: int | None
