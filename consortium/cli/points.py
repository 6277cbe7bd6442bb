"""`consortium points ...` (balances, deposits, redemptions, history, supply) and `policy show`.

Thin: each command opens one transaction and calls :mod:`consortium.points.store` or
:mod:`consortium.policy.store`; the rules live there. Deposits and redemptions are signed with a
treasurer key file (prompted for its passphrase when the key is encrypted).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consortium.cli.database import DbOption, load_key
from consortium.cli.errors import reported_errors
from consortium.cli.service_options import CaOption, CoordinatorOption, PinOption, open_remote
from consortium.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


points_app = typer.Typer(
    help=(
        "Service points: balances, treasurer deposits and redemptions against off-ledger "
        "payments, account history and total supply. Points cannot be transferred freely."
    ),
    no_args_is_help=True,
)
policy_app = typer.Typer(
    help="The parameters the board sets (fees, revenue split, privacy caps, governance timings).",
    no_args_is_help=True,
)

AccountOption = Annotated[
    str, typer.Option("--account", help="Account: member:<member id>, cargo:<key id> or treasury.")
]
AmountOption = Annotated[int, typer.Option("--amount", min=1, help="Points (a positive integer).")]
RefOption = Annotated[
    str,
    typer.Option("--external-ref", help="Reference of the off-ledger payment (invoice or transfer "
                 "id, or its hash); no personal data. Each reference is used once."),
]  # fmt: skip
KeyOption = Annotated[
    Path, typer.Option("--key", help="Treasurer private key file (prompted for its passphrase).")
]


def _session_factory(db: str | None, *, read_only: bool = False) -> sessionmaker[Session]:
    from consortium.cli.database import open_database

    return open_database(db, read_only=read_only)


@points_app.command("balance")
def balance_cmd(
    account: Annotated[
        str | None, typer.Option("--account", help="One account (default: every account).")
    ] = None,
    db: DbOption = None,
    coordinator: CoordinatorOption = None,
    pin: PinOption = None,
    ca: CaOption = None,
) -> None:
    """Print the balance of one account, or of every account and their total.

    An account that does not exist is an error naming the nearest one (a typo), not a zero.
    With ``--coordinator`` it asks the coordinator service for one ``--account``.
    """
    from consortium.cli.lookup import require_account
    from consortium.points.store import balance, balances

    if coordinator is not None:
        with reported_errors():
            if account is None:
                raise ConfigError("--account", "name the account to ask the coordinator about")
            with open_remote(coordinator, pin, ca) as remote:
                typer.echo(f"{account}  {remote.balance(account)}")
        return
    with reported_errors(), _session_factory(db, read_only=True).begin() as session:
        if account is not None:
            require_account(session, account)
            typer.echo(f"{account}  {balance(session, account)}")
            return
        rows = balances(session)
    for name, points in rows.items():
        typer.echo(f"{name:<72} {points:>12}")
    typer.echo(f"{len(rows)} accounts, {sum(rows.values())} points in total")


def _payment(direction: str, account: str, amount: int, external_ref: str, key: Path,
             db: str | None) -> None:  # fmt: skip
    from consortium.points.store import balance, deposit, redeem

    operation = deposit if direction == "deposit" else redeem
    with reported_errors():
        signer = load_key(key, "treasurer")
        with _session_factory(db).begin() as session:
            entry = operation(
                session, account=account, amount=amount, external_ref=external_ref, signer=signer
            )
            after = balance(session, account)
    verb = "deposited to" if direction == "deposit" else "redeemed from"
    typer.echo(f"{amount} points {verb} {account} (ledger entry {entry.seq}); balance {after}")


@points_app.command("deposit")
def deposit_cmd(
    account: AccountOption,
    amount: AmountOption,
    external_ref: RefOption,
    key: KeyOption,
    db: DbOption = None,
) -> None:
    """Credit a cargo owner's account against a payment received off-ledger (treasurer)."""
    _payment("deposit", account, amount, external_ref, key, db)


@points_app.command("redeem")
def redeem_cmd(
    account: AccountOption,
    amount: AmountOption,
    external_ref: RefOption,
    key: KeyOption,
    db: DbOption = None,
) -> None:
    """Burn points from an account against a pay-out made off-ledger (treasurer)."""
    _payment("redeem", account, amount, external_ref, key, db)


@points_app.command("history")
def history_cmd(
    account: AccountOption,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the last N movements.")
    ] = None,
    db: DbOption = None,
) -> None:
    """List an account's movements: ledger entry, time, kind, change and balance after."""
    from consortium.cli.lookup import require_account
    from consortium.points.store import history

    with reported_errors(), _session_factory(db, read_only=True).begin() as session:
        require_account(session, account)
        moves = history(session, account=account, limit=limit)
    for m in moves:
        typer.echo(f"{m.seq:>8}  {m.time}  {m.kind:<18} {m.delta:>+12} {m.balance:>12}")
    if not moves:
        typer.echo(f"no movements on {account}")


@points_app.command("supply")
def supply_cmd(db: DbOption = None) -> None:
    """Print points minted, burned and circulating, after checking them against the ledger.

    The books must balance (sum of balances = minted - burned; journal matches balances) and
    every journal line and balance must equal its replay from the signed points entries; the
    first entry and account where they disagree is named (non-zero exit).
    """
    from consortium.audit.supply import audited_supply

    with reported_errors(), _session_factory(db, read_only=True).begin() as session:
        totals = audited_supply(session)
    typer.echo(
        f"minted {totals.minted}, burned {totals.burned}, circulating {totals.circulating} "
        "(books balance: sum of balances = minted - burned; journal matches balances; "
        "balances replayed from the ledger's entries)"
    )


@policy_app.command("show")
def policy_show(db: DbOption = None) -> None:
    """Print the parameters in force and the version that set them (0: defaults)."""
    from consortium.policy.store import current_policy, current_version

    with reported_errors(), _session_factory(db, read_only=True).begin() as session:
        policy, version = current_policy(session), current_version(session)
    typer.echo(f"policy version {version}" + (" (defaults)" if version == 0 else ""))
    for key, value in policy.to_dict().items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        typer.echo(f"  {key:<28} {value}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(points_app, name="points")
    app.add_typer(policy_app, name="policy")
