"""Points accounts and amounts: who can hold points and what an amount may be (pure).

Holder accounts are ``member:<member id>``, ``cargo:<key id>`` and ``treasury``; ``mint`` and
``burn`` are the journal's source and sink and hold no balance. Points are Python ``int``
everywhere; no float or Decimal is ever involved in an amount. Nothing here touches a database.
"""

from __future__ import annotations

import re

from consortium.errors import PointsError

# Accounts. ``mint`` and ``burn`` are the journal's source and sink: they appear in journal
# lines (so every entry's lines sum to zero) but hold no balance and can never be named by a
# caller. Holder accounts are members, cargo owners and the treasury.
MINT_SOURCE = "mint"
BURN_SINK = "burn"
TREASURY = "treasury"
MEMBER_PREFIX = "member:"
CARGO_PREFIX = "cargo:"
_MEMBER_RE = re.compile(r"^member:[a-z0-9][a-z0-9-]{1,63}$")
_CARGO_RE = re.compile(r"^cargo:[0-9a-f]{64}$")
_EXTERNAL_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/=+-]{0,127}$")

MAX_AMOUNT = 10**12
"""Largest amount of one operation (and of one fee); keeps every sum far inside BIGINT."""

BPS = 10_000
MINT_REASONS = frozenset({"contribution"})
"""Why points may be created: only for contributions, under the board's rule."""


def account_kind(account: str) -> str:
    """Return ``member``, ``cargo`` or ``treasury`` for a valid holder account.

    Raises
    ------
    PointsError
        ``bad-account`` if ``account`` is not ``member:<member id>``, ``cargo:<key id>`` or
        ``treasury``.

    Examples
    --------
    >>> account_kind("member:meridian-line"), account_kind("treasury")
    ('member', 'treasury')
    """
    if not isinstance(account, str):
        raise PointsError(repr(account), code="bad-account", reason="an account is a string")
    if account == TREASURY:
        return "treasury"
    if _MEMBER_RE.match(account):
        return "member"
    if _CARGO_RE.match(account):
        return "cargo"
    raise PointsError(
        account[:80],
        code="bad-account",
        reason="not an account: use member:<member id>, cargo:<key id> or treasury",
    )


def member_account(member: str) -> str:
    """Return the point account of a member id (validated).

    Examples
    --------
    >>> member_account("meridian-line")
    'member:meridian-line'
    """
    account = MEMBER_PREFIX + member
    account_kind(account)
    return account


def cargo_account(key_id: str) -> str:
    """Return the point account of a cargo owner's registered key id (validated)."""
    account = CARGO_PREFIX + key_id
    account_kind(account)
    return account


def check_amount(amount: object, *, subject: str, allow_zero: bool = False) -> int:
    """Return ``amount`` if it is an ``int`` in ``1..MAX_AMOUNT`` (``0..`` with ``allow_zero``).

    Raises
    ------
    PointsError
        ``bad-amount`` for a bool, float, Decimal, a non-positive or a too-large value.

    Examples
    --------
    >>> check_amount(5, subject="treasury")
    5
    """
    low = 0 if allow_zero else 1
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise PointsError(
            subject, code="bad-amount", reason=f"amount must be an int, got {type(amount).__name__}"
        )
    if not low <= amount <= MAX_AMOUNT:
        raise PointsError(
            subject, code="bad-amount", reason=f"amount {amount} is outside {low}..{MAX_AMOUNT}"
        )
    return amount


def check_external_ref(external_ref: object) -> str:
    """Return a valid external payment reference (a token: no spaces, no personal data).

    Raises
    ------
    PointsError
        ``bad-external-ref`` unless it matches ``[A-Za-z0-9][A-Za-z0-9._:/=+-]{0,127}``.
    """
    if not isinstance(external_ref, str) or not _EXTERNAL_REF_RE.match(external_ref):
        raise PointsError(
            "external_ref",
            code="bad-external-ref",
            reason="an external reference is a short token such as INV-2026-0042 or a hash",
        )
    return external_ref


def check_bps(value: object, *, subject: str) -> int:
    """Return ``value`` if it is an ``int`` basis-point share in ``0..10000``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= BPS:
        raise PointsError(subject, code="bad-share", reason=f"{value!r} is not an int in 0..{BPS}")
    return value
