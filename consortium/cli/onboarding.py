"""Onboarding through the coordinator service, from the actor's own machine and key folder.

* ``consortium members keygen --out DIR``: a company's member key and SuperNode key;
* ``consortium members join --coordinator URL --key-dir DIR --member ID``: its signed join
  request, which opens its own ``admit-member`` proposal; ``consortium members joins`` lists
  them; ``consortium members propose-admit`` (a member) re-opens the proposal for a pending join
  whose proposal was defeated or expired;
* ``consortium cargo register --coordinator URL --key FILE``: a cargo owner's registration;
* ``consortium treasurer credit`` (the treasurer) and ``consortium treasurer propose`` (a board
  member: appoint or replace the treasurer);
* ``consortium members supernodes-sync --db URL --flwr-home DIR`` (the coordinator's own admin
  command): register or drop SuperNode keys at the SuperLink to follow the roster.

The service address, the pinned coordinator key id and the CA certificate come from
``--coordinator``/``--pin``/``--ca`` or ``CONSORTIUM_COORDINATOR``,
``CONSORTIUM_COORDINATOR_PIN`` and ``CONSORTIUM_COORDINATOR_CA``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consortium.cli.database import load_key
from consortium.cli.errors import reported_errors
from consortium.cli.service_options import (
    CaOption,
    ServiceOption,
    ServicePinOption,
    open_remote,
)
from consortium.errors import ConfigError

if TYPE_CHECKING:
    pass

cargo_app = typer.Typer(help="Cargo owners: register your key with the consortium.",
                        no_args_is_help=True)  # fmt: skip
treasurer_app = typer.Typer(help="The treasurer: credit cargo owners; appointed by the board.",
                            no_args_is_help=True)  # fmt: skip

MEMBER_KEY = "member.key"
SUPERNODE_KEY = "supernode.key"

KeyOption = Annotated[
    Path, typer.Option("--key", help="Your Ed25519 private key file (prompts if encrypted).")
]


def _details(pairs: list[str]) -> dict[str, str]:
    details = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError("--detail", f"{pair!r} is not NAME=VALUE")
        details[name.strip()] = value.strip()
    return details


def keygen(
    out: Annotated[Path, typer.Option("--out", help="Folder for the keys (created).")],
    passphrase: Annotated[
        bool, typer.Option("--passphrase/--no-passphrase", help="Encrypt the member key.")
    ] = True,
) -> None:
    """Make a company's member key and SuperNode key on its own machine (never sent)."""
    from consortium.deployment.certs import generate_node_key  # noqa: PLC0415
    from consortium.identity.keys import generate_key_file  # noqa: PLC0415

    secret = None
    if passphrase:
        secret = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=True).encode()
    with reported_errors():
        signer = generate_key_file(out / MEMBER_KEY, passphrase=secret)
        node = generate_node_key(out / SUPERNODE_KEY)
    typer.echo(f"member key id: {signer.key_id}")
    typer.echo(f"SuperNode public key: {node.public_key}")


def join(
    member: Annotated[str, typer.Option("--member", help="The member id you ask for.")],
    key_dir: Annotated[Path, typer.Option("--key-dir", help="The folder keygen made.")],
    coordinator: ServiceOption,
    pin: ServicePinOption,
    ca_cert: CaOption = None,
    detail: Annotated[
        list[str] | None,
        typer.Option("--detail", help="NAME=VALUE of your company details (off-ledger, erasable)."),
    ] = None,
) -> None:
    """Send your signed join request; it opens the admit-member proposal the board votes on."""
    from consortium.client.onboarding import admit_proposal_id, send_join  # noqa: PLC0415

    with reported_errors():
        signer = load_key(key_dir / MEMBER_KEY, "member")
        node_pub = (key_dir / (SUPERNODE_KEY + ".pub")).read_text(encoding="ascii")
        with open_remote(coordinator, pin, ca_cert) as remote:
            sent = send_join(remote, signer=signer, member=member, supernode_key=node_pub,
                             details=_details(detail or []))  # fmt: skip
    joined = sent.join
    typer.echo(f"join request of {joined.member} recorded at entry {joined.seq} ({joined.status})")
    typer.echo(f"proposal {admit_proposal_id(sent)} to admit {joined.member} opened at entry "
               f"{sent.receipt.entry.seq} (receipt checked)")  # fmt: skip


def joins(
    coordinator: ServiceOption,
    pin: ServicePinOption,
    ca_cert: CaOption = None,
    status: Annotated[str | None, typer.Option("--status", help="pending/admitted/removed")] = None,
) -> None:
    """List join requests."""
    from consortium.client.onboarding import join_requests  # noqa: PLC0415

    with reported_errors(), open_remote(coordinator, pin, ca_cert) as remote:
        found = join_requests(remote, status=status)
    for j in found:
        typer.echo(f"{j.member:<24} {j.status:<9} key {j.key_id[:16]}  entry {j.seq}")
    if not found:
        typer.echo("no join requests")


def propose_admit(
    member: Annotated[str, typer.Option("--member", help="The member id of a pending join.")],
    key: KeyOption,
    coordinator: ServiceOption,
    pin: ServicePinOption,
    ca_cert: CaOption = None,
) -> None:
    """Re-open the admit-member proposal of a pending join (defeated or expired; your key)."""
    from consortium.client.onboarding import join_requests, propose_admission  # noqa: PLC0415

    with reported_errors():
        signer = load_key(key)
        with open_remote(coordinator, pin, ca_cert) as remote:
            pending = [j for j in join_requests(remote, status="pending") if j.member == member]
            if not pending:
                raise ConfigError("--member", f"no pending join request of {member}")
            written = propose_admission(remote, signer=signer, join=pending[0])
    typer.echo(f"proposal {written.proposal['proposal_id']} to admit {member} opened")


def supernodes_sync(
    db: Annotated[str, typer.Option("--db", help="The coordinator's database URL.")],
    flwr_home: Annotated[Path, typer.Option("--flwr-home", help="The SuperLink's FLWR_HOME.")],
) -> None:
    """Register admitted members' SuperNode keys at the SuperLink, drop removed ones' (admin)."""
    from consortium.cli.database import open_database  # noqa: PLC0415
    from consortium.deployment.registration import SuperNodeRegistry  # noqa: PLC0415
    from consortium.membership.joins import sync_supernodes  # noqa: PLC0415

    with reported_errors(), open_database(db, read_only=True).begin() as session:
        plan = sync_supernodes(session, SuperNodeRegistry.at(flwr_home))
    for member, _ in plan.register:
        typer.echo(f"registered the SuperNode key of {member}")
    for member in plan.unregister:
        typer.echo(f"unregistered the SuperNode key of {member}")
    if not plan.register and not plan.unregister:
        typer.echo("SuperNode keys follow the roster; nothing to change")


@cargo_app.command("register")
def cargo_register(
    key: KeyOption, coordinator: ServiceOption, pin: ServicePinOption, ca_cert: CaOption = None
) -> None:
    """Register your key as a cargo owner (signed with it: proof of possession)."""
    from consortium.client.onboarding import register_cargo_owner  # noqa: PLC0415

    with reported_errors():
        signer = load_key(key, "cargo owner")
        with open_remote(coordinator, pin, ca_cert) as remote:
            written = register_cargo_owner(remote, signer=signer)
    typer.echo(f"registered cargo owner {written.key_id[:16]}; account {written.account}")


@treasurer_app.command("credit")
def treasurer_credit(
    owner: Annotated[str, typer.Option("--owner", help="The cargo owner's key id.")],
    amount: Annotated[int, typer.Option("--amount", min=1, help="Points bought.")],
    ref: Annotated[str, typer.Option("--ref", help="The off-ledger payment reference.")],
    key: KeyOption,
    coordinator: ServiceOption,
    pin: ServicePinOption,
    ca_cert: CaOption = None,
) -> None:
    """Credit a cargo owner against a payment it made off-ledger (your treasurer key)."""
    from consortium.client.onboarding import deposit_points  # noqa: PLC0415

    with reported_errors():
        signer = load_key(key, "treasurer")
        with open_remote(coordinator, pin, ca_cert) as remote:
            written = deposit_points(remote, treasurer=signer, owner_key_id=owner, amount=amount,
                                     external_ref=ref)  # fmt: skip
    typer.echo(f"credited {written.amount} to {written.account}; balance {written.balance}")


@treasurer_app.command("propose")
def treasurer_propose(
    public_key: Annotated[Path, typer.Option("--public-key", help="The new treasurer's .pub.")],
    key: KeyOption,
    coordinator: ServiceOption,
    pin: ServicePinOption,
    ca_cert: CaOption = None,
) -> None:
    """Propose to appoint (or replace) the treasurer (your member key)."""
    from consortium.client.onboarding import propose_treasurer  # noqa: PLC0415
    from consortium.identity.keys import load_public_key  # noqa: PLC0415

    with reported_errors():
        signer = load_key(key)
        with open_remote(coordinator, pin, ca_cert) as remote:
            written = propose_treasurer(remote, signer=signer,
                                        treasurer_key=load_public_key(public_key))  # fmt: skip
    typer.echo(f"proposal {written.proposal['proposal_id']} to appoint the treasurer opened")


def register(app: typer.Typer) -> None:
    """Add this module's commands: ``members`` onboarding commands, ``cargo``, ``treasurer``."""
    from consortium.cli.members import members_app  # noqa: PLC0415

    members_app.command("keygen")(keygen)
    members_app.command("join")(join)
    members_app.command("joins")(joins)
    members_app.command("propose-admit")(propose_admit)
    members_app.command("supernodes-sync")(supernodes_sync)
    app.add_typer(cargo_app, name="cargo")
    app.add_typer(treasurer_app, name="treasurer")
