"""A proposal's params as people write and read them: the policy's names, the allowed ones listed.

``policy show`` prints the policy's keys (``max_epsilon_per_round``, ``max_delta``); the
``proposal.v1`` message calls the same two ``epsilon_cap`` and ``delta``. The command line speaks
the policy's names only: ``--params`` takes them (the v1 names still work, as deprecated
aliases, with a note), ``proposals show`` prints them, and an error names them. A param a kind
does not take is an error that lists the ones it does, with the nearest.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from consortium.cli.lookup import did_you_mean
from consortium.errors import GovernanceError

V1_NAMES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {"privacy-policy": MappingProxyType({"epsilon_cap": "max_epsilon_per_round",
                                         "delta": "max_delta"})}
)  # fmt: skip
"""Kind -> ``proposal.v1`` field -> the policy's name for it (what ``policy show`` prints)."""


def _people_name(kind: str, field: str) -> str:
    return V1_NAMES.get(kind, {}).get(field, field)


def allowed_params(kind: str) -> tuple[str, ...]:
    """Return the params a proposal of ``kind`` takes, by the policy's names ( ``()``: unknown).

    Examples
    --------
    >>> allowed_params("privacy-policy")
    ('max_epsilon_per_round', 'max_delta', 'min_group_size')
    """
    from consortium.governance.params import MESSAGE_KINDS, POLICY_PARAMS  # noqa: PLC0415
    from consortium.governance.rules import ProposalKind  # noqa: PLC0415
    from consortium.schemas.messages import message_schema  # noqa: PLC0415

    try:
        chosen = ProposalKind(kind)
    except ValueError:
        return ()
    if chosen in POLICY_PARAMS:
        return tuple(POLICY_PARAMS[chosen])
    if chosen not in MESSAGE_KINDS:
        return ()
    shape = message_schema("proposal")["$defs"].get(MESSAGE_KINDS[chosen], {})
    return tuple(_people_name(kind, field) for field in shape.get("properties", {}))


def to_message(kind: str, values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return ``values`` with the message's field names, and a note per deprecated name used.

    Examples
    --------
    >>> to_message("privacy-policy", {"max_epsilon_per_round": 1.5, "max_delta": 1e-6})
    ({'epsilon_cap': 1.5, 'delta': 1e-06}, [])
    >>> to_message("privacy-policy", {"epsilon_cap": 1.5, "delta": 1e-6})[1][0]
    "'epsilon_cap' is the deprecated name of max_epsilon_per_round (as `policy show` prints it)"
    """
    names = V1_NAMES.get(kind, {})
    by_people = {people: field for field, people in names.items()}
    out: dict[str, Any] = {}
    notes: list[str] = []
    for name, value in values.items():
        if name in names:
            notes.append(
                f"'{name}' is the deprecated name of {names[name]} (as `policy show` prints it)"
            )
        out[by_people.get(name, name)] = value
    return out, notes


def for_people(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return a proposal's params under the policy's names (what ``proposals show`` prints)."""
    return {_people_name(kind, name): value for name, value in params.items()}


def explained(exc: GovernanceError, kind: str) -> GovernanceError:
    """Return ``exc`` naming the param by the policy's name; an unknown one lists the allowed."""
    if not exc.subject.startswith("params."):
        return exc
    field = exc.subject.removeprefix("params.")
    name = _people_name(kind, field)
    reason = exc.reason.replace(f"'{field}'", f"'{name}'")
    allowed = allowed_params(kind)
    if exc.code == "extra-field" and allowed:
        reason = (
            f"a {kind} proposal takes no '{name}'; its params are {', '.join(allowed)}"
            + did_you_mean(name, allowed)
        )
    return GovernanceError(f"params.{name}", code=exc.code, reason=reason)
