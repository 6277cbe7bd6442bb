"""`consortium ledger ...` (verify, export, witness) and `consortium keys ...` (identity keys)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consortium.cli.errors import reported_errors
from consortium.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

ledger_app = typer.Typer(
    help="Verify the tamper-evident ledger or export it for verification elsewhere.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="Create and inspect Ed25519 identity keys.", no_args_is_help=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLAlchemy URL of the ledger (default: CONSORTIUM_DATABASE_URL)."),
]


def _session_factory(db: str | None) -> sessionmaker[Session]:
    """Open the ledger's database to read it: never created, nor its tables."""
    from consortium.cli.database import open_database

    return open_database(db, read_only=True)


@ledger_app.command("verify")
def verify(
    db: DbOption = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="Verify this export file instead of a database.")
    ] = None,
    witness: Annotated[
        Path | None, typer.Option("--witness", help="Also check the tree heads kept in this file.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes for signature checks.")] = 1,
    pin_coordinator: Annotated[
        str | None,
        typer.Option(
            "--pin-coordinator",
            help="The coordinator key id you trust (64 hex digits, or its first 16 or more): "
            "a ledger whose entry 0 registers another key fails.",
        ),
    ] = None,
) -> None:
    """Check every signature, role, hash and tree head; name the first entry that fails.

    With --db, also replay balances, tallies and policy against the stored tables.
    """
    from consortium.ledger.export import read_export
    from consortium.ledger.verify import verify_log
    from consortium.ledger.witness import read_witnessed

    with reported_errors():
        if db and export:
            raise ConfigError("--db/--export", "give one of them, not both")
        witnessed = read_witnessed(witness) if witness else []
        if export is not None:
            data = read_export(export)
            report = verify_log(
                data.entries, heads=data.heads, witnessed=witnessed, keys=data.keys,
                workers=workers, pinned_coordinator=pin_coordinator,
            )  # fmt: skip
        else:
            from consortium.audit import audit_database

            with _session_factory(db).begin() as session:
                report = audit_database(
                    session, witnessed=witnessed, workers=workers,
                    pinned_coordinator=pin_coordinator,
                ).log  # fmt: skip
    typer.echo(
        f"ok: {report.size} entries, root {report.root}, {report.heads_checked} tree heads, "
        f"{report.witnessed_checked} witnessed heads, {report.keys} keys"
    )
    if export is None:
        typer.echo("ok: stored balances, journal, tallies, votes and policy match the entries")
    if report.pinned:
        typer.echo(f"pinned: coordinator key {report.coordinator} is the one you trust")
    elif not report.witnessed_checked:
        typer.echo(
            f"unpinned: coordinator key {report.coordinator or '(none)'} was not checked against "
            "a key you trust; a ledger forged whole under another key verifies too. Pass "
            "--pin-coordinator KEY_ID or --witness FILE."
        )
    if report.uncovered:
        typer.echo(f"note: the last {report.uncovered} entries are not yet covered by a tree head")


@ledger_app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="File to write (JSON Lines).")],
    db: DbOption = None,
) -> None:
    """Write entries, public keys and tree heads to one self-contained file."""
    from consortium.ledger.audit import export_ledger

    with reported_errors(), _session_factory(db).begin() as session:
        count = export_ledger(session, out)
    typer.echo(f"exported {count} entries to {out}")


@ledger_app.command("witness")
def witness_cmd(
    coordinator: Annotated[
        str,
        typer.Option(
            "--coordinator", envvar="CONSORTIUM_COORDINATOR", help="The coordinator service's URL."
        ),
    ],  # fmt: skip
    state: Annotated[
        Path, typer.Option("--state", help="Your state folder (witnessed heads, pinned key).")
    ],
    key: Annotated[Path, typer.Option("--key", help="Your member key file (its .pub is read).")],
    pin: Annotated[
        str | None,
        typer.Option(
            "--pin",
            envvar="CONSORTIUM_COORDINATOR_PIN",
            help="The coordinator key id (16+ hex digits); needed on the first check.",
        ),
    ] = None,  # fmt: skip
    ca_cert: Annotated[
        Path | None,
        typer.Option("--ca", envvar="CONSORTIUM_COORDINATOR_CA", help="The consortium CA (PEM)."),
    ] = None,
) -> None:
    """Check the newest signed head, its consistency with the last you kept, and your entries.

    Costs O(log n) hashes plus your own new entries; a rewritten history fails here.
    """
    from consortium.client.remote import RemoteCoordinator
    from consortium.client.witness import witness
    from consortium.identity.keys import load_public_key, public_key_path
    from consortium.ledger.signing import key_id_for
    from consortium.ledger.witness import PINNED_KEY_FILE

    with reported_errors():
        kept = state / PINNED_KEY_FILE
        remote_pin = pin or (
            key_id_for(load_public_key(kept)) if kept.exists() else None
        )  # fmt: skip
        if remote_pin is None:
            raise ConfigError("--pin", "no coordinator key pinned yet: pass --pin on the first run")
        member_key = load_public_key(public_key_path(key))
        with RemoteCoordinator(coordinator, pin=remote_pin, ca_cert=ca_cert) as remote:
            report = witness(remote, state=state, member_key=member_key, pin=pin)
    typer.echo(
        f"ok: head {report.size} (root {report.root[:16]}...) is consistent with the head "
        f"{report.old_size} you kept ({report.consistency_hashes} proof hashes); "
        f"{report.own_entries} of your entries and {report.receipts_confirmed} receipts included"
    )


@keys_app.command("new")
def new_key(
    out: Annotated[Path, typer.Option("--out", help="Private key file to create (mode 0600).")],
    passphrase: Annotated[
        bool, typer.Option("--passphrase/--no-passphrase", help="Encrypt the key (prompted).")
    ] = True,
) -> None:
    """Create an Ed25519 key pair for joining the consortium; print its key id."""
    from consortium.identity.keys import generate_key_file, public_key_path

    secret = None
    if passphrase:
        secret = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=True).encode()
    with reported_errors():
        signer = generate_key_file(out, passphrase=secret)
    typer.echo(f"key id: {signer.key_id}")
    typer.echo(f"public key: {public_key_path(out)}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(ledger_app, name="ledger")
    app.add_typer(keys_app, name="keys")
