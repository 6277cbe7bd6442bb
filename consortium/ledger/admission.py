"""A company's join request opens its own ``admit-member`` proposal (issue 15).

A newcomer's key is not registered, so no role table entry can name it; instead the ledger
accepts one kind of entry on the strength of a self-signed ``join`` request embedded in it: the
``proposal-created`` entry of the ``admit-member`` proposal for exactly the member id and key
the request carries, with the applicant recorded as the proposer. The request's signer is the
*applicant* (:data:`~consortium.ledger.kinds.APPLICANT`): the key being admitted, proven by its
signature over the body that carries it. The coordinator countersigns the entry; it can neither
open an admit proposal without such a request (only a member's own request or key can), nor
reuse one for another member, key or kind. The store (:func:`consortium.ledger.store.check_request`)
and the verifier (:class:`consortium.ledger.keyring.Keyring`) also require the key to be
unregistered and the nonce unused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from consortium.ledger.kinds import EntryKind
from consortium.ledger.signing import is_valid_signature, key_id_for

if TYPE_CHECKING:
    from consortium.ledger.requests import SignedRequest

__all__ = ["ADMIT_MEMBER", "JOIN_ACTION", "admission_problem", "applicant_key"]

JOIN_ACTION = "join"
"""A company's join request; it authorises the ``admit-member`` proposal for itself."""
ADMIT_MEMBER = "admit-member"
"""The proposal kind a join request opens (``ProposalKind.ADMIT_MEMBER``)."""
_HEX_KEY_RE = re.compile(r"^[0-9a-f]{64}$")


def applicant_key(request: SignedRequest) -> bytes | None:
    """Return the raw public key a join request carries if it is its signer's, else ``None``."""
    text = request.body.get("public_key")
    if not isinstance(text, str) or not _HEX_KEY_RE.match(text):
        return None
    key = bytes.fromhex(text)
    return key if key_id_for(key) == request.actor_key_id else None


def admission_problem(
    kind: str, payload: Mapping[str, object], request: SignedRequest
) -> tuple[str, str] | None:
    """Say why a ``join`` request does not authorise this entry, or ``None`` if it does.

    Returns
    -------
    tuple[str, str] | None
        ``(code, reason)``: ``wrong-action`` (not an ``admit-member`` ``proposal-created``),
        ``body-mismatch`` (another member, key, role or proposer; a key that is not the
        signer's) or ``bad-signature``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from consortium.ledger.requests import sign_request
    >>> from consortium.ledger.signing import Signer
    >>> company = Signer.generate()
    >>> body = {"member_id": "rhine-road", "public_key": company.public_key.hex()}
    >>> join = sign_request(action=JOIN_ACTION, signer=company, body=body,
    ...                     now=datetime(2026, 3, 1, tzinfo=UTC))
    >>> params = {"member_id": "rhine-road", "key_id": company.key_id, "role": "member",
    ...           "public_key": company.public_key.hex()}
    >>> payload = {"kind": ADMIT_MEMBER, "proposer": "rhine-road", "params": params}
    >>> admission_problem("proposal-created", payload, join) is None
    True
    >>> admission_problem("proposal-created", {**payload, "proposer": "alpha"}, join)[0]
    'body-mismatch'
    """
    if kind != EntryKind.PROPOSAL_CREATED or payload.get("kind") != ADMIT_MEMBER:
        return "wrong-action", (
            f"a join request authorises only an {ADMIT_MEMBER} proposal, "
            f"not a {payload.get('kind') or kind} entry"
        )
    key = applicant_key(request)
    if key is None:
        return "body-mismatch", "the join request's public_key is not its signer's key"
    if not is_valid_signature(key, request.signature, request.signing_bytes()):
        return "bad-signature", "the join request is not signed by the key it carries"
    member = request.body.get("member_id")
    params = payload.get("params")
    expected = {"member_id": member, "key_id": request.actor_key_id, "role": "member",
                "public_key": key.hex()}  # fmt: skip
    if not isinstance(params, Mapping) or dict(params) != expected:
        return "body-mismatch", (
            f"the admit proposal is not for the joining member {member!r} and its key "
            f"{request.actor_key_id[:16]}..."
        )
    if payload.get("proposer") != member:
        return "body-mismatch", f"the proposer of an applicant's admit proposal must be {member!r}"
    return None
