"""Proposal and vote messages: build them, check them, and turn params into effects.

A proposal is the ``proposal.v1`` message (``data_schemas/proposal.v1.schema.json``) for the kinds
that contract defines, with the same params: ``fees`` is the message kind ``set-fees``,
``revenue-split`` is ``set-revenue-split``, ``privacy-policy`` is ``set-privacy-policy``, and
``admit-member``, ``remove-member`` and ``feature-request`` keep their names. Two kinds that v1 does
not know take the policy's own keys and are checked here and by the policy itself:
``contribution-rule`` ({contribution_rule, points_per_example, contribution_cap_per_round}) and
``governance-rules`` ({voting_delay_s, voting_period_s, quorum_bps, timelock_s,
late_quorum_extension_s, vote_power_cap_bps, min_members}), and ``on-time-tolerance``
({on_time_tolerance_minutes}: mode -> whole minutes, merged into the tolerances in force; what a
lane answer counts as on time). ``appoint-treasurer`` takes
{treasurer_key, key_id}: the new treasurer key (lower-case hex) and its id.

Every problem raises :class:`~consortium.errors.GovernanceError` whose ``subject`` names the field
(``params.delta``, ``title``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from consortium.errors import ContractViolation, GovernanceError
from consortium.governance.rules import POLICY_KINDS, ProposalKind, Support
from consortium.ledger.canonical import canonical_json, format_time
from consortium.ledger.signing import key_id_for
from consortium.policy.model import ConsortiumPolicy
from consortium.schemas.messages import validate_message

MESSAGE_VERSION = 1
MESSAGE_KINDS: Mapping[ProposalKind, str] = MappingProxyType(
    {
        ProposalKind.FEES: "set-fees",
        ProposalKind.REVENUE_SPLIT: "set-revenue-split",
        ProposalKind.PRIVACY_POLICY: "set-privacy-policy",
        ProposalKind.ADMIT_MEMBER: "admit-member",
        ProposalKind.REMOVE_MEMBER: "remove-member",
        ProposalKind.FEATURE_REQUEST: "feature-request",
    }
)
"""Governance kind -> ``proposal.v1`` message kind."""

POLICY_PARAMS: Mapping[ProposalKind, tuple[str, ...]] = MappingProxyType(
    {
        ProposalKind.CONTRIBUTION_RULE: (
            "contribution_rule", "points_per_example", "contribution_cap_per_round",
        ),
        ProposalKind.GOVERNANCE_RULES: (
            "voting_delay_s", "voting_period_s", "quorum_bps", "timelock_s",
            "late_quorum_extension_s", "vote_power_cap_bps", "min_members",
        ),
        ProposalKind.ON_TIME_TOLERANCE: ("on_time_tolerance_minutes",),
    }
)  # fmt: skip
"""The policy keys that the kinds outside ``proposal.v1`` may change."""

SPLIT_RULES_V1: Mapping[str, str] = MappingProxyType(
    {"proportional-rows": "pro-rata-contribution", "equal": "equal"}
)
"""``set-revenue-split`` rule -> the policy's ``split_rule``."""

_PRIVACY_KEYS = {"epsilon_cap": "max_epsilon_per_round", "delta": "max_delta",
                 "min_group_size": "min_group_size"}  # fmt: skip
TITLE_LENGTH = (3, 200)
DESCRIPTION_LENGTH = 10_000


def sha256_text(text: str) -> str:
    """Hex SHA-256 of UTF-8 text (what the ledger keeps of free text).

    Examples
    --------
    >>> sha256_text("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def message_sha256(message: Mapping[str, object]) -> str:
    """Hex SHA-256 of a message's RFC 8785 bytes."""
    return hashlib.sha256(canonical_json(dict(message))).hexdigest()


def _field(pointer: str | None) -> str:
    return (pointer or "/").strip("/").replace("/", ".") or "message"


def _validated(kind: str, message: Mapping[str, Any]) -> None:
    try:
        validate_message(kind, message)
    except ContractViolation as exc:
        raise GovernanceError(
            _field(exc.column), code=exc.code, reason=exc.problems[0].reason
        ) from exc


def proposal_message(
    *,
    kind: ProposalKind,
    params: Mapping[str, object],
    title: str,
    description: str,
    proposer_key_id: str,
    created_at: datetime,
) -> dict[str, object]:
    """Build the proposal message (``proposal.v1`` shape; see the module docstring for kinds)."""
    return {
        "schema_version": MESSAGE_VERSION,
        "kind": MESSAGE_KINDS.get(kind, str(kind)),
        "params": dict(params),
        "title": title,
        "description": description,
        "proposer_key_id": proposer_key_id,
        "created_at": format_time(created_at),
    }


def check_proposal_message(
    message: Mapping[str, Any], *, kind: ProposalKind, policy: ConsortiumPolicy
) -> None:
    """Check a proposal message and, for policy kinds, that the policy would accept the change.

    Raises
    ------
    GovernanceError
        Naming the first bad field (``params.epsilon_cap``, ``title`` ...).
    """
    if kind in MESSAGE_KINDS:
        _validated("proposal", message)
    elif kind is ProposalKind.APPOINT_TREASURER:
        _check_envelope(message)
        _check_treasurer_params(message["params"])
    else:
        _check_envelope(message)
        _check_policy_keys(kind, message["params"])
    if kind is ProposalKind.ADMIT_MEMBER and "display_name" in message["params"]:
        raise GovernanceError(
            "params.display_name", code="off-ledger-details",
            reason="company details are recorded (erasable) with identity.details, not proposed",
        )  # fmt: skip
    if kind is ProposalKind.ADMIT_MEMBER and message["params"].get("role") != "member":
        raise GovernanceError(
            "params.role", code="bad-role",
            reason="a proposal admits members; cargo-owner keys are registered by the coordinator",
        )  # fmt: skip
    if kind in POLICY_KINDS:
        changes = policy_changes(kind, message["params"])
        try:
            policy.with_changes(changes)
        except GovernanceError as exc:
            raise GovernanceError(
                f"params.{_param_of(kind, exc.subject)}", code=exc.code, reason=exc.reason
            ) from exc


def _check_envelope(message: Mapping[str, Any]) -> None:
    title, description = message.get("title"), message.get("description")
    low, high = TITLE_LENGTH
    if not isinstance(title, str) or not low <= len(title) <= high:
        raise GovernanceError("title", code="constraint-error", reason=f"{low}-{high} characters")
    if not isinstance(description, str) or len(description) > DESCRIPTION_LENGTH:
        raise GovernanceError(
            "description", code="constraint-error",
            reason=f"at most {DESCRIPTION_LENGTH} characters",
        )  # fmt: skip


def _check_treasurer_params(params: object) -> None:
    """``appoint-treasurer`` params: the new key and its id, nothing else."""
    if not isinstance(params, Mapping) or set(params) != {"treasurer_key", "key_id"}:
        raise GovernanceError(
            "params", code="missing-field", reason="give exactly treasurer_key and key_id"
        )
    text = params["treasurer_key"]
    if not isinstance(text, str) or not re.fullmatch(r"[0-9a-f]{64}", text):
        raise GovernanceError(
            "params.treasurer_key", code="constraint-error", reason="32 bytes in lower-case hex"
        )
    if params["key_id"] != key_id_for(bytes.fromhex(text)):
        raise GovernanceError(
            "params.key_id", code="key-mismatch", reason="is not the hash of treasurer_key"
        )


def _check_policy_keys(kind: ProposalKind, params: object) -> None:
    allowed = POLICY_PARAMS[kind]
    if not isinstance(params, Mapping) or not params:
        raise GovernanceError(
            "params", code="missing-field", reason=f"give at least one of {', '.join(allowed)}"
        )
    for key in params:
        if key not in allowed:
            raise GovernanceError(
                f"params.{str(key)[:48]}", code="extra-field",
                reason=f"a {kind} proposal changes only {', '.join(allowed)}",
            )  # fmt: skip


def _param_of(kind: ProposalKind, policy_key: str) -> str:
    if kind is ProposalKind.FEES:
        return {"fees.lane": "lane_query_points", "fees.warehouse": "warehouse_query_points"}.get(
            policy_key, policy_key
        )
    if kind is ProposalKind.REVENUE_SPLIT:
        return {"treasury_share_bps": "coordinator_share_bps", "split_rule": "rule"}.get(
            policy_key, policy_key
        )
    if kind is ProposalKind.PRIVACY_POLICY:
        reverse = {v: k for k, v in _PRIVACY_KEYS.items()}
        return reverse.get(policy_key, policy_key)
    return policy_key


def policy_changes(kind: ProposalKind, params: Mapping[str, Any]) -> dict[str, object]:
    """Return the ``change_policy`` changes a policy-kind proposal makes when executed.

    Examples
    --------
    >>> policy_changes(ProposalKind.FEES, {"lane_query_points": 12, "warehouse_query_points": 30})
    {'fees': {'lane': 12, 'warehouse': 30}}
    >>> policy_changes(ProposalKind.PRIVACY_POLICY, {"epsilon_cap": 1.5, "delta": 1e-6})
    {'max_epsilon_per_round': 1.5, 'max_delta': 1e-06}
    """
    if kind is ProposalKind.FEES:
        return {"fees": {"lane": params["lane_query_points"],
                         "warehouse": params["warehouse_query_points"]}}  # fmt: skip
    if kind is ProposalKind.REVENUE_SPLIT:
        rule = params["rule"]
        return {
            "split_rule": SPLIT_RULES_V1.get(rule, rule),
            "treasury_share_bps": params["coordinator_share_bps"],
        }
    if kind is ProposalKind.PRIVACY_POLICY:
        return {_PRIVACY_KEYS[key]: value for key, value in params.items()}
    if kind in POLICY_PARAMS:
        return dict(params)
    raise GovernanceError(str(kind), code="not-a-policy-kind", reason="changes no policy key")


def ledger_params(
    kind: ProposalKind, params: Mapping[str, Any], *, public_key: bytes | None
) -> dict[str, object]:
    """Return the params as the ledger records them: free text replaced by its SHA-256.

    Examples
    --------
    >>> ledger_params(ProposalKind.FEATURE_REQUEST, {"area": "eta", "details": "Add rail"},
    ...               public_key=None)["details_sha256"][:12]
    'f9b42745c5dd'
    """
    if kind is ProposalKind.FEATURE_REQUEST:
        return {"area": params["area"], "details_sha256": sha256_text(params["details"])}
    if kind is ProposalKind.REMOVE_MEMBER:
        out: dict[str, object] = {"member_id": params["member_id"]}
        if "reason" in params:
            out["reason_sha256"] = sha256_text(params["reason"])
        return out
    if kind is ProposalKind.ADMIT_MEMBER:
        return {
            "member_id": params["member_id"], "key_id": params["key_id"],
            "role": params["role"], "public_key": (public_key or b"").hex(),
        }  # fmt: skip
    return dict(params)


def vote_message(
    *,
    proposal_id: str,
    voter_key_id: str,
    support: Support,
    cast_at: datetime,
    comment: str | None = None,
) -> dict[str, object]:
    """Build and check the ``vote.v1`` message.

    Raises
    ------
    GovernanceError
        Naming the bad field.
    """
    message: dict[str, object] = {
        "schema_version": MESSAGE_VERSION, "proposal_id": proposal_id,
        "voter_key_id": voter_key_id, "support": str(support), "cast_at": format_time(cast_at),
    }  # fmt: skip
    if comment is not None:
        message["comment"] = comment
    _validated("vote", message)
    return message
