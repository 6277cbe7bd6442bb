"""The board-set live parameters as one frozen value, validated at construction (pure).

:class:`ConsortiumPolicy` holds what the board decides by proposal: the fee schedule, the revenue
split, the privacy caps, the contribution rule and the governance timings. Every key and value is
checked, and a bad one raises :class:`~consortium.errors.GovernanceError` whose ``subject`` is the
key. :func:`policy_from_entries` rebuilds the policy in force at any ledger position from the
``policy-changed`` entries alone, so anyone can recompute a split with the parameters of its day.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType

from consortium.config import ON_TIME_TOLERANCE_MINUTES_BY_MODE
from consortium.errors import GovernanceError
from consortium.ledger.entry import Entry
from consortium.ledger.kinds import EntryKind
from consortium.points.rules import BPS, CONTRIBUTION_RULES, MAX_AMOUNT, SPLIT_RULES

FEE_KINDS = ("lane", "warehouse")
"""Paid query kinds that carry a fee: a lane ETA forecast and a warehouse stock-risk answer."""
MAX_DURATION_S = 366 * 86_400
"""Upper bound of every governance duration: a longer one would freeze governance."""
MAX_GROUP_SIZE = 1_000_000
MIN_MEMBERS_FLOOR = 3
"""The lowest minimum membership the board may set: below three, a secure sum is one member's."""
DEMO_GOVERNANCE_TIMINGS: Mapping[str, int] = MappingProxyType(
    {"voting_delay_s": 1, "voting_period_s": 3, "timelock_s": 1, "late_quorum_extension_s": 0}
)
"""The demo consortium's genesis governance timings: the demo walks a proposal through in seconds
on the coordinator's real clock (a real consortium keeps the hour-and-day defaults)."""
MAX_POINTS_PER_EXAMPLE = 1_000_000
TRANSPORT_MODES = ("air", "rail", "road", "sea")
"""The modes a lane answer's on-time tolerance is set for."""
MAX_TOLERANCE_MINUTES = 30 * 1440
"""Longest on-time tolerance the board may set: 30 days, in minutes."""
_PROPOSAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def _default_fees() -> Mapping[str, int]:
    return MappingProxyType({"lane": 10, "warehouse": 25})


def _default_tolerances() -> Mapping[str, int]:
    return MappingProxyType(dict(sorted(ON_TIME_TOLERANCE_MINUTES_BY_MODE.items())))


@dataclass(frozen=True)
class ConsortiumPolicy:
    """The board-set parameters in force; the defaults apply until the board changes them.

    Attributes
    ----------
    fees : Mapping[str, int]
        Points per query, by kind (:data:`FEE_KINDS`); positive ints.
    treasury_share_bps : int
        Share of each fee paid to ``treasury``, in basis points (1000 = 10 %).
    split_rule : str
        How the rest of a fee is divided among contributors (``pro-rata-contribution`` or
        ``equal``).
    max_epsilon_per_round : float
        Largest ε a member may spend in one round (> 0).
    max_delta : float
        Largest δ a member may use (0 < δ < 1).
    min_group_size : int
        Forecast answers aggregate at least this many rows or members.
    min_members : int
        The fewest active members the consortium may have (at least :data:`MIN_MEMBERS_FLOOR`):
        a proposal that would remove a member below it is refused, when made and when executed.
    contribution_rule : str
        ``examples`` (default) or ``leave-one-out`` (the same pot, split by first-order
        leave-one-out value; :mod:`consortium.points.valuation`).
    points_per_example : int
        Points per example trained (under ``leave-one-out``: sizes the round's pot).
    contribution_cap_per_round : int
        Most points one member earns in one round.
    voting_delay_s, voting_period_s, timelock_s, late_quorum_extension_s : int
        Governance timings in seconds.
    quorum_bps : int
        Share of the member supply at the snapshot that must vote (basis points).
    vote_power_cap_bps : int
        Cap on one holder's share of voting power (basis points).
    on_time_tolerance_minutes : Mapping[str, int]
        How late an arrival may be and still count as on time in a lane answer, per mode
        (:data:`TRANSPORT_MODES`), in whole minutes from 1 to :data:`MAX_TOLERANCE_MINUTES`;
        defaults: :data:`consortium.config.ON_TIME_TOLERANCE_MINUTES_BY_MODE`.

    Examples
    --------
    >>> policy = ConsortiumPolicy()
    >>> policy.fees["lane"], policy.treasury_share_bps
    (10, 1000)
    >>> policy.with_changes({"fees": {"lane": 12}}).fees["lane"]
    12
    >>> try:
    ...     policy.with_changes({"quorum_bps": 12000})
    ... except GovernanceError as exc:
    ...     print(exc.subject, exc.code)
    quorum_bps bad-policy-value
    """

    fees: Mapping[str, int] = field(default_factory=_default_fees)
    treasury_share_bps: int = 1000
    split_rule: str = "pro-rata-contribution"
    max_epsilon_per_round: float = 2.0
    max_delta: float = 1e-5
    min_group_size: int = 20
    min_members: int = MIN_MEMBERS_FLOOR
    contribution_rule: str = "examples"
    points_per_example: int = 1
    contribution_cap_per_round: int = 5000
    voting_delay_s: int = 3600
    voting_period_s: int = 3 * 86400
    quorum_bps: int = 2000
    timelock_s: int = 86400
    late_quorum_extension_s: int = 86400
    vote_power_cap_bps: int = 3000
    on_time_tolerance_minutes: Mapping[str, int] = field(default_factory=_default_tolerances)

    def __post_init__(self) -> None:
        for key in policy_keys():
            object.__setattr__(self, key, _VALIDATORS[key](key, getattr(self, key)))

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready copy (``fees`` as a plain dict)."""
        data: dict[str, object] = {key: getattr(self, key) for key in policy_keys()}
        data["fees"] = dict(self.fees)
        data["on_time_tolerance_minutes"] = dict(self.on_time_tolerance_minutes)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ConsortiumPolicy:
        """Build a policy from :meth:`to_dict` output; missing keys take their defaults.

        Raises
        ------
        GovernanceError
            For an unknown key or an invalid value.
        """
        _check_keys(data)
        return cls(**data)  # type: ignore[arg-type]  # every value is validated in __post_init__

    def with_changes(self, changes: Mapping[str, object]) -> ConsortiumPolicy:
        """Return a copy with ``changes`` applied; mapping keys merge into the ones in force.

        ``fees`` and ``on_time_tolerance_minutes`` change only the entries given.

        Raises
        ------
        GovernanceError
            ``no-changes`` for an empty mapping, ``unknown-policy-key``, ``bad-policy-type`` or
            ``bad-policy-value`` naming the first bad key.
        """
        if not isinstance(changes, Mapping) or not changes:
            raise GovernanceError(
                "policy", code="no-changes", reason="a policy change names at least one key"
            )
        _check_keys(changes)
        updates = dict(changes)
        for key, what in _MERGED.items():
            if key not in updates:
                continue
            given = updates[key]
            if not isinstance(given, Mapping) or not given:
                raise GovernanceError(
                    key, code="bad-policy-type", reason=f"{key} is a non-empty mapping {what}"
                )
            updates[key] = {**getattr(self, key), **given}
        return replace(self, **updates)  # type: ignore[arg-type]  # validated in __post_init__


_MERGED = {"fees": "kind -> int", "on_time_tolerance_minutes": "mode -> minutes"}
"""The mapping-valued keys: a change merges into the mapping in force."""


def policy_keys() -> tuple[str, ...]:
    """Return the names of every board-set parameter, in declaration order."""
    return tuple(f.name for f in fields(ConsortiumPolicy))


def _check_keys(data: Mapping[str, object]) -> None:
    known = set(policy_keys())
    for key in data:
        if key not in known:
            raise GovernanceError(
                str(key)[:64], code="unknown-policy-key",
                reason=f"not a board-set parameter (known: {', '.join(policy_keys())})",
            )  # fmt: skip


def _int_in(low: int, high: int) -> Callable[[str, object], int]:
    def check(key: str, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GovernanceError(
                key, code="bad-policy-type", reason=f"must be an int, got {type(value).__name__}"
            )
        if not low <= value <= high:
            raise GovernanceError(
                key, code="bad-policy-value", reason=f"{value} is outside {low}..{high}"
            )
        return value

    return check


def _choice(options: tuple[str, ...]) -> Callable[[str, object], str]:
    def check(key: str, value: object) -> str:
        if not isinstance(value, str):
            raise GovernanceError(
                key, code="bad-policy-type", reason=f"must be a string, got {type(value).__name__}"
            )
        if value not in options:
            raise GovernanceError(
                key, code="bad-policy-value", reason=f"{value[:40]!r} is not one of {options}"
            )
        return value

    return check


def _float_in(*, low: float, high: float, high_inclusive: bool) -> Callable[[str, object], float]:
    def check(key: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise GovernanceError(
                key, code="bad-policy-type", reason=f"must be a number, got {type(value).__name__}"
            )
        number = float(value)
        above_top = number > high if high_inclusive else number >= high
        if not math.isfinite(number) or number <= low or above_top:
            bracket = "]" if high_inclusive else ")"
            raise GovernanceError(
                key, code="bad-policy-value",
                reason=f"{value} is outside ({low}, {high}{bracket}",
            )  # fmt: skip
        return number

    return check


def _complete_mapping(
    known: tuple[str, ...], *, items: str, values: str, top: int, each: str
) -> Callable[[str, object], Mapping[str, int]]:
    """Return a check of a mapping from every name in ``known`` to a whole number in 1..top."""
    number = _int_in(1, top)

    def check(key: str, value: object) -> Mapping[str, int]:
        if not isinstance(value, Mapping):
            raise GovernanceError(
                key, code="bad-policy-type", reason=f"a mapping of {items} to {values}"
            )
        checked: dict[str, int] = {}
        for name, given in value.items():
            if name not in known:
                raise GovernanceError(
                    f"{key}.{str(name)[:32]}", code="unknown-policy-key",
                    reason=f"not a {items} (known: {', '.join(known)})",
                )  # fmt: skip
            checked[name] = number(f"{key}.{name}", given)
        missing = sorted(set(known) - set(checked))
        if missing:
            raise GovernanceError(f"{key}.{missing[0]}", code="bad-policy-value", reason=each)
        return MappingProxyType(dict(sorted(checked.items())))

    return check


_fees = _complete_mapping(FEE_KINDS, items="query kind", values="points", top=MAX_AMOUNT,
                          each="every query kind needs a fee")  # fmt: skip
_tolerances = _complete_mapping(
    TRANSPORT_MODES, items="transport mode", values="whole minutes", top=MAX_TOLERANCE_MINUTES,
    each="every mode needs a tolerance",
)


_VALIDATORS: dict[str, Callable[[str, object], object]] = {
    "fees": _fees,
    "treasury_share_bps": _int_in(0, BPS),
    "split_rule": _choice(SPLIT_RULES),
    "max_epsilon_per_round": _float_in(low=0.0, high=math.inf, high_inclusive=False),
    "max_delta": _float_in(low=0.0, high=1.0, high_inclusive=False),
    "min_group_size": _int_in(1, MAX_GROUP_SIZE),
    "min_members": _int_in(MIN_MEMBERS_FLOOR, MAX_GROUP_SIZE),
    "contribution_rule": _choice(CONTRIBUTION_RULES),
    "points_per_example": _int_in(0, MAX_POINTS_PER_EXAMPLE),
    "contribution_cap_per_round": _int_in(0, MAX_AMOUNT),
    "voting_delay_s": _int_in(0, MAX_DURATION_S),
    "voting_period_s": _int_in(1, MAX_DURATION_S),
    "quorum_bps": _int_in(0, BPS),
    "timelock_s": _int_in(0, MAX_DURATION_S),
    "late_quorum_extension_s": _int_in(0, MAX_DURATION_S),
    "vote_power_cap_bps": _int_in(1, BPS),
    "on_time_tolerance_minutes": _tolerances,
}


def check_proposal_id(proposal_id: object) -> str:
    """Return ``proposal_id`` if it is a short token fit for a ledger payload.

    Raises
    ------
    GovernanceError
        ``bad-proposal-id`` otherwise.
    """
    if not isinstance(proposal_id, str) or not _PROPOSAL_RE.match(proposal_id):
        raise GovernanceError(
            "proposal_id", code="bad-proposal-id", reason="a proposal id is a short token"
        )
    return proposal_id


def change_payload(
    *, version: int, changes: Mapping[str, object], new: ConsortiumPolicy, proposal_id: str | None
) -> dict[str, object]:
    """Build the ``policy-changed`` payload ``{version, <changed keys>, proposal_id?}``.

    ``fees`` and ``on_time_tolerance_minutes`` are recorded whole, so replay sets every changed
    key outright.
    """
    payload: dict[str, object] = {"version": version}
    full = new.to_dict()
    for key in policy_keys():
        if key in changes:
            payload[key] = full[key]
    if proposal_id is not None:
        payload["proposal_id"] = proposal_id
    return payload


def policy_from_entries(
    entries: Iterable[Entry], *, before_seq: int | None = None
) -> ConsortiumPolicy:
    """Rebuild the policy in force just before ``before_seq`` (default: after every entry).

    Raises
    ------
    GovernanceError
        If a ``policy-changed`` payload carries an invalid value or an unknown key.
    """
    policy = ConsortiumPolicy()
    for entry in entries:
        if before_seq is not None and entry.seq >= before_seq:
            break
        if entry.kind != EntryKind.POLICY_CHANGED:
            continue
        changes = {
            k: v for k, v in entry.payload_object().items() if k not in ("version", "proposal_id")
        }
        policy = policy.with_changes(changes)
    return policy
