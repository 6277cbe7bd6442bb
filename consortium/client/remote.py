"""The coordinator over HTTP, for clients signing on their own machines.

The same actions as :mod:`~consortium.client.board` and :mod:`~consortium.client.cargo`,
signed here with the actor's own key.

A :class:`RemoteCoordinator` holds the service's address, the coordinator key id the member
pinned (``consortium coordinator init`` printed it) and the CA certificate of its TLS server.
Nothing here holds the coordinator's key or its database URL. Every signed tree head it gets is
checked against the pinned key and, once it has seen one, for consistency with the last; every
write's receipt is checked: the entry's signature, and its inclusion in the head.

Examples
--------
>>> remote = RemoteCoordinator("https://coordinator.example:8443", pin="ab" * 8,
...                            ca_cert=None)  # doctest: +SKIP
>>> remote.vote(signer=my_key, proposal_id="p-1", support="for")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from consortium.errors import OperationRefused, VerificationError
from consortium.forecasts.messages import new_query, sign_query
from consortium.governance.params import ledger_params, sha256_text
from consortium.governance.rules import ProposalKind
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import Entry
from consortium.ledger.proof import verify_consistency, verify_inclusion
from consortium.ledger.requests import SignedRequest, sign_request
from consortium.ledger.signing import Signer, key_id_for, verify_signature
from consortium.ledger.verify import MIN_PIN_HEX
from consortium.points.accounts import cargo_account
from consortium.wire.envelope import API_PREFIX, ErrorBody, Receipt
from consortium.wire.governance import PolicyOut, ProposalOut, ProposalsOut, ProposalWritten
from consortium.wire.ledger import ConsistencyProofOut, CoordinatorOut, EntriesOut, HeadOut
from consortium.wire.points import BalanceOut, LanesOut, ModelCardOut, PaidAnswerOut

__all__ = ["RemoteCoordinator", "ServiceRefused"]

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)


class ServiceRefused(OperationRefused):
    """The coordinator service refused a call; ``code`` is its stable error code.

    ``status`` is the HTTP status (0 when the service could not be reached).
    """

    def __init__(self, subject: str, *, code: str, reason: str, status: int) -> None:
        self.status = status
        super().__init__(subject, code=code, reason=reason)


@dataclass
class RemoteCoordinator:
    """A coordinator service at ``url``, checked against the pinned coordinator key id.

    Parameters
    ----------
    url
        ``https://host:port`` (``http://`` only on loopback).
    pin
        The coordinator key id, or a prefix of at least 16 hex digits.
    ca_cert
        The consortium CA certificate (PEM) the service's TLS certificate chains to; ``None``
        uses the system's trust store.
    timeout_s
        Per-call timeout.
    """

    url: str
    pin: str
    ca_cert: Path | None = None
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        pin = self.pin.strip().lower()
        if len(pin) < MIN_PIN_HEX or any(c not in "0123456789abcdef" for c in pin):
            raise VerificationError(f"pinned coordinator key id: at least {MIN_PIN_HEX} hex digits")
        self.pin = pin
        verify: ssl.SSLContext | bool = True
        if self.ca_cert is not None:
            verify = ssl.create_default_context(cafile=str(self.ca_cert))
        self._http = httpx.Client(base_url=self.url.rstrip("/") + API_PREFIX, verify=verify,
                                  timeout=self.timeout_s)  # fmt: skip
        self._public_key: bytes | None = None
        self.last_head: Checkpoint | None = None

    # transport ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> RemoteCoordinator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceRefused(self.url, code="unreachable", reason=type(exc).__name__,
                                 status=0) from exc  # fmt: skip
        if response.is_success:
            return model.model_validate(response.json())
        try:
            error = ErrorBody.model_validate(response.json()).error
        except ValueError:
            raise ServiceRefused(
                path, code="bad-response", status=response.status_code,
                reason="the service answered without an error body",
            ) from None  # fmt: skip
        raise ServiceRefused(path, code=error.code, reason=error.message,
                             status=response.status_code)  # fmt: skip

    def get(self, path: str, model: type[M], *, params: Mapping[str, Any] | None = None) -> M:
        """Read ``path`` (under ``/v1``) as ``model``.

        Raises
        ------
        ServiceRefused
            The service's error code and status (``unreachable``: no answer).
        """
        return self._call("GET", path, model, params=dict(params or {}))

    def post(self, path: str, model: type[M], body: Mapping[str, Any] | None = None) -> M:
        """Send a write to ``path`` and return its answer; a receipt in it is checked.

        The write carries ``known_size`` (the last head checked), so the receipt also proves
        the new head consistent with it.

        Raises
        ------
        ServiceRefused
            The service's error code and status.
        VerificationError
            The receipt does not check against the pinned coordinator key.
        """
        out = self._call("POST", path, model, json=None if body is None else dict(body),
                         params=self._known())  # fmt: skip
        written = getattr(out, "receipt", None)
        if isinstance(written, Receipt):
            self.check_receipt(written)
        return out

    # checks --------------------------------------------------------------------------------

    @property
    def coordinator_key(self) -> bytes:
        """The coordinator's public key, fetched once and checked against the pin."""
        if self._public_key is None:
            out = self.get("/ledger/coordinator", CoordinatorOut)
            public_key = bytes.fromhex(out.public_key)
            if not key_id_for(public_key).startswith(self.pin):
                raise VerificationError(
                    f"the service's coordinator key {key_id_for(public_key)[:16]}... is not the "
                    f"pinned key {self.pin[:16]}..."
                )
            self._public_key = public_key
        return self._public_key

    @property
    def coordinator_key_id(self) -> str:
        """The coordinator's key id (checked against the pin)."""
        return key_id_for(self.coordinator_key)

    def check_head(
        self, text: str, *, known_size: int = 0, consistency: list[str] | None = None
    ) -> Checkpoint:
        """Check a signed tree head: the pinned key signed it and it extends the last one seen.

        ``consistency`` (hex), if given, proves the head consistent with the head of
        ``known_size`` the client sent; otherwise the proof is fetched when needed.

        Raises
        ------
        VerificationError
            A bad signature, a head smaller than one seen before, or a failed consistency proof.
        """
        head = Checkpoint.from_text(text)
        head.verify(self.coordinator_key)
        last = self.last_head
        if last is not None:
            if head.size < last.size:
                raise VerificationError(f"tree head of size {head.size} after one of {last.size}")
            if 0 < last.size < head.size:
                if consistency is None or known_size != last.size:
                    sizes = {"old_size": last.size, "new_size": head.size}
                    consistency = self.get("/ledger/proofs/consistency", ConsistencyProofOut,
                                           params=sizes).proof  # fmt: skip
                verify_consistency(old_size=last.size, new_size=head.size,
                                   proof=[bytes.fromhex(h) for h in consistency],
                                   old_root=last.root, new_root=head.root)  # fmt: skip
            elif head.size == last.size and head.root != last.root:
                raise VerificationError(f"two different roots for size {head.size} (a fork)")
        self.last_head = head
        return head

    def check_receipt(self, receipt: Receipt) -> Entry:
        """Check a write's receipt: the entry's coordinator signature and its inclusion."""
        entry = Entry.from_json(receipt.entry.model_dump())
        head = self.check_head(receipt.head, known_size=receipt.known_size,
                               consistency=receipt.consistency)  # fmt: skip
        verify_signature(self.coordinator_key, entry.signature, entry.signing_bytes())
        proof = [bytes.fromhex(h) for h in receipt.proof]
        verify_inclusion(index=entry.seq, size=head.size, leaf_hash=entry.leaf_hash(),
                         proof=proof, root=head.root)  # fmt: skip
        return entry

    def head(self) -> Checkpoint:
        """Fetch and check the newest signed tree head."""
        return self.check_head(self.get("/ledger/head", HeadOut).checkpoint)

    # reads ---------------------------------------------------------------------------------

    def entries(self, *, start: int = 0, stop: int | None = None) -> list[Entry]:
        """Fetch entries ``start <= seq < stop`` (the service sends at most 1000 per call)."""
        params = {"start": start} if stop is None else {"start": start, "stop": stop}
        out = self.get("/ledger/entries", EntriesOut, params=params)
        return [Entry.from_json(e.model_dump()) for e in out.entries]

    def policy(self) -> dict[str, Any]:
        """Return the policy in force."""
        return self.get("/policy", PolicyOut).policy

    def proposals(self) -> list[dict[str, Any]]:
        """List every proposal with its tally, newest first."""
        return self.get("/proposals", ProposalsOut).proposals

    def proposal(self, proposal_id: str) -> dict[str, Any]:
        """Return one proposal with its tally and state on the coordinator's clock."""
        return self.get(f"/proposals/{proposal_id}", ProposalOut).proposal

    def balance(self, account: str) -> int:
        """Return the balance of ``account``."""
        return self.get(f"/points/balances/{account}", BalanceOut).balance

    def cargo_balance(self, *, owner: Signer) -> int:
        """Return the points the cargo owner holding ``owner`` has left."""
        return self.balance(cargo_account(owner.key_id))

    def lanes(self) -> list[dict[str, Any]]:
        """List the lane catalogue."""
        return self.get("/lanes", LanesOut).lanes

    def model_card(self, kind: str) -> dict[str, Any]:
        """Return the pooled ``eta`` or ``stock`` model's card."""
        return self.get(f"/models/{kind}/card", ModelCardOut).card

    # writes --------------------------------------------------------------------------------

    def _known(self) -> dict[str, int]:
        """Return the ``known_size`` a write sends: the last head this client checked."""
        return {} if self.last_head is None else {"known_size": self.last_head.size}

    def _written(self, path: str, body: Mapping[str, Any] | None = None) -> ProposalWritten:
        return self.post(path, ProposalWritten, body)

    def propose(
        self,
        *,
        signer: Signer,
        kind: str,
        params: Mapping[str, object],
        title: str,
        description: str = "",
        public_key: bytes | None = None,
        now: datetime | None = None,
    ) -> ProposalWritten:
        """Sign a ``propose`` request here and open the proposal (``proposal-created``)."""
        params = dict(params)
        if kind == ProposalKind.ADMIT_MEMBER and public_key is not None:
            params.setdefault("key_id", key_id_for(public_key))
            params.setdefault("role", "member")
        on_ledger = ledger_params(ProposalKind(kind), params, public_key=public_key)
        texts = {k: str(v) for k, v in params.items() if f"{k}_sha256" in on_ledger}
        body: dict[str, object] = {"kind": kind, "params": on_ledger,
                                   "title_sha256": sha256_text(title)}  # fmt: skip
        if description:
            body["description_sha256"] = sha256_text(description)
        request = sign_request(action="propose", body=body, signer=signer,
                               now=now or datetime.now(UTC))  # fmt: skip
        return self._written("/proposals", {"request": request.to_json(), "title": title,
                                            "description": description, "texts": texts})

    def vote(
        self,
        *,
        signer: Signer,
        proposal_id: str,
        support: str,
        comment: str | None = None,
        now: datetime | None = None,
    ) -> ProposalWritten:
        """Sign a ``vote`` request here and cast it (``vote-cast``)."""
        body: dict[str, object] = {"proposal_id": proposal_id, "support": str(support)}
        if comment is not None:
            body["comment_sha256"] = sha256_text(comment)
        request = sign_request(action="vote", body=body, signer=signer,
                               now=now or datetime.now(UTC))  # fmt: skip
        return self.submit_vote(request, comment=comment)

    def submit_vote(self, request: SignedRequest, *, comment: str | None = None) -> ProposalWritten:
        """Send a ``vote`` request already signed (by :meth:`vote`, or on another machine)."""
        proposal_id = str(request.body.get("proposal_id"))
        return self._written(f"/proposals/{proposal_id}/votes",
                             {"request": request.to_json(), "comment": comment})  # fmt: skip

    def queue(self, proposal_id: str) -> ProposalWritten:
        """Ask the coordinator to queue a succeeded proposal (its clock decides)."""
        return self._written(f"/proposals/{proposal_id}/queue")

    def execute(self, proposal_id: str) -> ProposalWritten:
        """Ask the coordinator to execute a queued proposal whose timelock passed."""
        return self._written(f"/proposals/{proposal_id}/execute")

    def buy_forecast(
        self,
        *,
        owner: Signer,
        kind: str,
        params: Mapping[str, object],
        max_price_points: int,
        now: datetime | None = None,
    ) -> PaidAnswerOut:
        """Sign a ``query.v1`` message here and buy the answer (the fee is charged and split)."""
        query = new_query(kind=kind, params=params, issuer=owner,
                          max_price_points=max_price_points, now=now or datetime.now(UTC))
        signature = sign_query(query, signer=owner).hex()
        return self.post("/queries", PaidAnswerOut, {"query": query, "signature": signature})
