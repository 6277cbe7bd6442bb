"""A demo consortium on one machine: the coordinator's set-up steps, as the demo notebook runs them.

On a real consortium these steps are the coordinator's own (``consortium keys``, ``consortium dao
members admit``, the federation minting after each round); here one call plays them so the
board and cargo-owner notebook starts from a living consortium: a new ledger, three founding
members each with its own key, a treasurer and one cargo owner.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> demo = start_demo_consortium(workdir=Path(tempfile.mkdtemp()))
>>> sorted(demo.members)
['meridian-line', 'rhine-road', 'silk-corridor-rail']
>>> mint_contribution_points(demo, examples={"rhine-road": 120, "meridian-line": 80},
...                          model="eta", server_round=1)
{'member:meridian-line': 80, 'member:rhine-road': 120}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from consortium.client.connection import Coordinator, connect
from consortium.governance.clock import SYSTEM_CLOCK, Clock
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import Signer
from consortium.membership import admit_member
from consortium.points.rules import contribution_awards, member_account
from consortium.points.store import balances, mint_contributions
from consortium.policy.model import DEMO_GOVERNANCE_TIMINGS
from consortium.policy.store import change_policy, current_policy

if TYPE_CHECKING:
    import pandas as pd

DEMO_MEMBERS = ("meridian-line", "rhine-road", "silk-corridor-rail")
"""The founding members of the demo consortium (carriers of the synthetic consortium)."""


@dataclass(frozen=True)
class DemoConsortium:
    """A started demo consortium: the handle on its coordinator and everyone's keys.

    Attributes
    ----------
    coordinator : Coordinator
        The handle every :mod:`consortium.client` call takes.
    coordinator_key : Signer
        The coordinator's own key (on a real consortium only the coordinator service holds it).
    members : Mapping[str, Signer]
        Each founding member's key, by member id.
    treasurer, cargo_owner : Signer
        The treasurer's key and one registered cargo owner's key.
    """

    coordinator: Coordinator
    coordinator_key: Signer = field(repr=False)
    members: Mapping[str, Signer] = field(repr=False, hash=False)
    treasurer: Signer = field(repr=False)
    cargo_owner: Signer = field(repr=False)


def start_demo_consortium(
    *,
    workdir: Path,
    database_url: str = "",
    members: Iterable[str] = DEMO_MEMBERS,
    clock: Clock = SYSTEM_CLOCK,
) -> DemoConsortium:
    """Start a consortium: a new ledger, founding members, a treasurer and a cargo owner.

    Entry 0 registers the coordinator's key, signed by itself; the coordinator then admits each
    member (only the public half of its fresh Ed25519 key is registered) and registers the
    treasurer and the cargo owner. Its genesis policy sets short governance periods
    (:data:`~consortium.policy.model.DEMO_GOVERNANCE_TIMINGS`: voting opens a second after a
    proposal, lasts three, one second of timelock), so the demo moves through a vote on the
    coordinator's real clock.

    Parameters
    ----------
    workdir
        Where the SQLite database goes when ``database_url`` is empty.
    database_url
        The coordinator database (empty: ``sqlite:///<workdir>/coordinator.db``); it must not
        hold a ledger yet.
    members
        The founding members' ids.
    clock
        The coordinator's clock (tests inject a :class:`~consortium.governance.clock.ManualClock`).

    Raises
    ------
    LedgerError
        If the database already holds a ledger.
    """
    coordinator = connect(
        database_url or f"sqlite:///{Path(workdir) / 'coordinator.db'}", create_tables=True
    )
    coordinator = replace(coordinator, clock=clock)
    coordinator_key = Signer.generate()
    keys = {member: Signer.generate() for member in members}
    treasurer, cargo_owner = Signer.generate(), Signer.generate()
    with coordinator.transaction() as session:
        bootstrap_coordinator(session, coordinator=coordinator_key)
        for member, key in keys.items():
            admit_member(session, member=member, public_key=key.public_key, signer=coordinator_key)
        register_key(
            session, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator_key
        )
        register_key(
            session, public_key=cargo_owner.public_key, role=Role.CARGO_OWNER,
            signer=coordinator_key,
        )  # fmt: skip
        change_policy(session, changes=DEMO_GOVERNANCE_TIMINGS, signer=coordinator_key)
    return DemoConsortium(
        coordinator=coordinator,
        coordinator_key=coordinator_key,
        members=MappingProxyType(keys),
        treasurer=treasurer,
        cargo_owner=cargo_owner,
    )


def mint_contribution_points(
    demo: DemoConsortium, *, examples: Mapping[str, int], model: str, server_round: int
) -> dict[str, int]:
    """Mint one round's contribution points by the board's rule, as the federation does.

    Every member in ``examples`` counts as accepted into the round's aggregate.

    Parameters
    ----------
    demo
        The consortium (its coordinator key signs the mint).
    examples
        Rows each member trained on in the round, by member id.
    model, server_round
        The round the points are for (the mint's references).

    Returns
    -------
    dict of str to int
        Every account's balance after the mint.
    """
    return mint_round(demo.coordinator, signer=demo.coordinator_key, examples=examples,
                      model=model, server_round=server_round)  # fmt: skip


def mint_round(
    coordinator: Coordinator,
    *,
    signer: Signer,
    examples: Mapping[str, int],
    model: str,
    server_round: int,
) -> dict[str, int]:
    """Mint one round's contribution points on ``coordinator``'s stores, signed by ``signer``.

    What the federation does after a round when it records on the coordinator's database; see
    :func:`mint_contribution_points`. Returns every account's balance after the mint.
    """
    scores = {member_account(member): rows for member, rows in examples.items()}
    with coordinator.transaction() as session:
        policy = current_policy(session)
        awards = contribution_awards(
            rule=policy.contribution_rule, scores=scores, accepted=list(scores),
            points_per_example=policy.points_per_example,
            cap=policy.contribution_cap_per_round,
        )  # fmt: skip
        mint_contributions(
            session, awards=awards, refs={"model": model, "round": server_round}, signer=signer
        )
        return balances(session)


def train_stand_in_eta_model(
    *, legs: Iterable[pd.DataFrame], out: Path, home: Path, epsilon: float = 8.0
) -> Path:
    """Train a small pooled ETA model with its lane catalog, standing in for a federated one.

    One private model (Opacus, one epoch) on the carriers' legs together, and their lane totals
    summed, which is what the federation's secure sum produces. Seconds on one core.

    Parameters
    ----------
    legs
        Each carrier's ``legs`` table (loaded through the contract for ``eta-training``).
    out
        The model directory to write.
    home
        Where the privacy accountant's state goes.
    epsilon
        The privacy budget of the stand-in.

    Returns
    -------
    Path
        ``out``, holding the model, its card and its lane catalog.
    """
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    from consortium.forecasts.catalog import LaneCatalog, lane_sums  # noqa: PLC0415
    from consortium.models.store import save_model  # noqa: PLC0415
    from consortium.privacy.training import train_local  # noqa: PLC0415  (imports torch)

    frames = list(legs)
    stand_in = train_local(pd.concat(frames, ignore_index=True), kind="eta", epsilon=epsilon,
                           home=home, epochs=1, seed=1)  # fmt: skip
    save_model(stand_in.model, out, card=stand_in.card)
    LaneCatalog(np.asarray(sum(lane_sums(frame) for frame in frames))).save(out)
    return Path(out)
