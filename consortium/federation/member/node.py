"""A member's node as its own SuperNode config describes it, and its rows for each purpose.

One app serves every member; what differs is the node config each SuperNode (or the
one-machine runner) gives it:

``member-id``
    The member's id (a token, e.g. ``meridian-line``).
``data-path``
    Its data: a contract file (``legs.csv``, ``stock.parquet``, ...) or a folder holding one
    file per contract, with its ``sources.json`` declaring the purposes.
``home`` (optional)
    The member's state folder: the privacy accountant (ε spent, kept across rounds and runs) and
    its models. Default: the folder that lives with its data
    (:func:`consortium.privacy.state.member_state_dir`), never a run's output folder.
``epsilon`` (required) / ``delta`` (optional)
    The member's own total budget per model. Only the member sets it: nothing the coordinator
    sends (run config or instruction) can, and a node config without it is refused.
``answer-queries`` (optional, default true)
    Whether it answers warehouse queries.
``allow-plain-updates`` (optional, default false)
    Whether it answers a train instruction without SecAgg+ (tests and comparisons only).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consortium.data import load_table
from consortium.data.member_files import member_data_file
from consortium.data.targets import Split, time_split
from consortium.errors import ConfigError
from consortium.models.family import ModelFamily
from consortium.privacy.ledger import PrivacyLedger
from consortium.privacy.state import member_state_dir

__all__ = ["PLAIN_ALLOWED_KEY", "MemberNode", "member_label"]

PLAIN_ALLOWED_KEY = "allow-plain-updates"
"""Node-config key a member sets to true to answer plain (unmasked) train instructions."""


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def member_label(node_config: Mapping[str, Any], node_id: int) -> str:
    """Return the member id a node config names (``node <id>`` when it names none)."""
    return str(node_config.get("member-id", f"node {node_id}"))


@dataclass(frozen=True)
class MemberNode:
    """The member's node config, read once (see the module docstring)."""

    member: str
    data_path: Path
    home: Path
    budget: float
    """The member's total ε for each model, over every round it ever trains in."""
    delta: float | None
    answers_queries: bool = True
    allows_plain_updates: bool = False

    @classmethod
    def of(cls, node_config: Mapping[str, Any], *, node_id: int) -> MemberNode:
        """Read the node config: the member's data, state folder and its own budget.

        Raises
        ------
        ConfigError
            ``data-path`` missing; ``epsilon`` missing (the member alone sets its budget, so
            there is no default) or not a positive number.
        """
        member = member_label(node_config, node_id)
        if "data-path" not in node_config:
            raise ConfigError("data-path", f"node config of {member} has no data-path")
        data_path = Path(str(node_config["data-path"]))
        if "epsilon" not in node_config:
            raise ConfigError(
                "epsilon",
                f"node config of {member} sets no epsilon: a member's privacy budget comes "
                "only from its own node config, so it trains nothing without one",
            )
        try:
            budget = float(node_config["epsilon"])
        except (TypeError, ValueError) as exc:
            raise ConfigError("epsilon", f"{member}: cannot read the budget: {exc}") from exc
        if not budget > 0:
            raise ConfigError("epsilon", f"{member}: the budget must be > 0, got {budget}")
        delta = float(node_config["delta"]) if "delta" in node_config else None
        home = (
            Path(str(node_config["home"]))
            if "home" in node_config
            else member_state_dir(data_path, member=member)
        )
        return cls(
            member=member,
            data_path=data_path,
            home=home,
            budget=budget,
            delta=delta,
            answers_queries=_flag(node_config.get("answer-queries", True)),
            allows_plain_updates=_flag(node_config.get(PLAIN_ALLOWED_KEY, False)),
        )

    def data_file(self, fam: ModelFamily) -> Path:
        """Return the member's file for ``fam``'s contract."""
        return member_data_file(self.data_path, contract=fam.contract)

    def rows(self, fam: ModelFamily, *, purpose: str) -> Split:
        """Load the member's rows for ``purpose`` (checked against its declaration), split."""
        file = self.data_file(fam)
        return _load_split(
            str(file), fam.contract, fam.time_column, purpose, file.stat().st_mtime_ns
        )

    def spent(self, fam: ModelFamily) -> float:
        """Return the ε this member has spent on ``fam``'s model so far."""
        return PrivacyLedger.load(self.home, fam.kind).spent(self.delta)


@functools.lru_cache(maxsize=16)
def _load_split(path: str, contract: str, time_column: str, purpose: str, mtime_ns: int) -> Split:
    del mtime_ns  # part of the cache key only: a changed file is read again
    frame = load_table(Path(path), contract=contract, purpose=purpose).frame
    return time_split(frame, time_column=time_column)


def clear_row_cache() -> None:
    """Forget cached rows (benchmarks that rewrite member files in place)."""
    _load_split.cache_clear()
