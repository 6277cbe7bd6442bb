"""``consortium members list|admit|exit|remove``: the roster.

``admit`` (founding members) and ``remove`` are the coordinator's own admin commands: they open
one transaction on its database (``--db`` or ``CONSORTIUM_DATABASE_URL``), sign with the
coordinator key and end by publishing a signed tree head over what they wrote
(:func:`coordinator_write`), so a member's next witness check sees the change. ``exit`` is the
member's: with ``--coordinator`` it signs the request here with the member key and sends it to
the service (no database, no coordinator key); without, it writes on the one machine's database.
The onboarding commands (``keygen``, ``join``, ...) are added by :mod:`consortium.cli.onboarding`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consortium.cli.database import DbOption, load_key, open_database
from consortium.cli.errors import reported_errors
from consortium.cli.service_options import CaOption, CoordinatorOption, PinOption, open_remote
from consortium.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from consortium.ledger.signing import Signer

members_app = typer.Typer(
    help="The member roster: list, admit founding members, exit and removal.",
    no_args_is_help=True,
)

KeyOption = Annotated[
    Path, typer.Option("--key", help="Your Ed25519 private key file (prompts if encrypted).")
]


@contextmanager
def coordinator_write(db: str | None, signer: Signer) -> Iterator[Session]:
    """One transaction on the coordinator's database that ends with a signed tree head.

    Every admin write made straight to the database goes through here, so the head a witness
    fetches covers it (the service publishes one with every receipt).
    """
    from consortium.ledger.store import publish_checkpoint  # noqa: PLC0415

    with open_database(db).begin() as session:
        yield session
        publish_checkpoint(session, signer=signer)


@members_app.command("list")
def members_list(
    everyone: Annotated[bool, typer.Option("--all", help="Include removed members.")] = False,
    db: DbOption = None,
) -> None:
    """List members: id, status, role, key, admission entry, last rounds before joining."""
    from consortium.membership import MemberStatus, list_members  # noqa: PLC0415

    with reported_errors(), open_database(db, read_only=True).begin() as session:
        records = list_members(session, status=None if everyone else MemberStatus.ACTIVE)
    for r in records:
        rounds = ", ".join(f"{m} {n}" for m, n in sorted(r.joined_round.items())) or "-"
        typer.echo(
            f"{r.member:<24} {r.status:<8} {r.role:<7} key {r.key_id[:16]}  "
            f"admitted at entry {r.admitted_seq}  joined after: {rounds}"
        )
    if not records:
        typer.echo("no members")


@members_app.command("admit")
def members_admit(
    member: Annotated[str, typer.Option("--member", help="The new member id.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="Its .pub key file.")],
    key: KeyOption,
    board: Annotated[bool, typer.Option("--board", help="Register a board key.")] = False,
    db: DbOption = None,
) -> None:
    """Admit a founding member (coordinator key); later members join by proposal."""
    from consortium.identity.keys import load_public_key  # noqa: PLC0415
    from consortium.ledger.keyring import Role  # noqa: PLC0415
    from consortium.membership import admit_member  # noqa: PLC0415

    with reported_errors():
        raw = load_public_key(public_key)
        signer = load_key(key)
        with coordinator_write(db, signer) as session:
            role = Role.BOARD if board else Role.MEMBER
            record = admit_member(session, member=member, public_key=raw, role=role, signer=signer)
    typer.echo(
        f"admitted {record.member} (key {record.key_id[:16]}) at entry {record.admitted_seq}"
    )


@members_app.command("exit")
def members_exit(
    key: KeyOption,
    member: Annotated[
        str | None,
        typer.Option("--member", help="Your member id (with --coordinator: found from --key)."),
    ] = None,
    db: DbOption = None,
    coordinator: CoordinatorOption = None,
    pin: PinOption = None,
    ca: CaOption = None,
) -> None:
    """Ask to leave the consortium (your own key); the coordinator then removes you."""
    from consortium.membership import request_exit  # noqa: PLC0415

    with reported_errors():
        signer = load_key(key)
        if coordinator is not None:
            from consortium.client.onboarding import leave_consortium  # noqa: PLC0415

            with open_remote(coordinator, pin, ca) as remote:
                left = leave_consortium(remote, signer=signer, member=member)
            typer.echo(f"exit of {left.member} requested at entry {left.exit_requested_seq} "
                       "(receipt checked)")  # fmt: skip
            return
        if member is None:
            raise ConfigError("--member", "give your member id (or --coordinator URL)")
        with open_database(db).begin() as session:
            record = request_exit(session, member=member, signer=signer)
    typer.echo(f"exit of {record.member} requested at entry {record.exit_requested_seq}")


@members_app.command("remove")
def members_remove(
    member: Annotated[str, typer.Option("--member", help="The member that asked to leave.")],
    key: KeyOption,
    db: DbOption = None,
) -> None:
    """Carry out a member's exit request: revoke its keys, erase its details (coordinator key)."""
    from consortium.membership import remove_member  # noqa: PLC0415

    with reported_errors():
        signer = load_key(key)
        with coordinator_write(db, signer) as session:
            record = remove_member(session, member=member, signer=signer)
    rounds = ", ".join(f"{m} from round {n}" for m, n in sorted(record.joined_round.items()))
    typer.echo(
        f"removed {record.member} at entry {record.removed_seq}; keys revoked, details erased"
    )
    typer.echo(f"to retrain without it, resume {rounds or 'every model from scratch'}")
