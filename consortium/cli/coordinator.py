"""``consortium coordinator``: start a consortium's ledger and serve the coordinator API.

``init`` runs once on the coordinator's machine: it makes the coordinator key (kept in the key
folder, read by the service alone), writes the ledger's genesis and first policy, and prints the
key id members pin. ``serve`` runs the HTTP API (FastAPI on uvicorn) over the same database;
with ``--flwr-home`` it keeps the SuperLink's SuperNode keys equal to the roster (at start and
after every admission or removal it executes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from consortium.cli.errors import reported_errors
from consortium.errors import ConfigError

coordinator_app = typer.Typer(
    help="Run the coordinator: start the ledger (init) and serve the coordinator API (serve).",
    no_args_is_help=True,
)

DbUrl = Annotated[str, typer.Option("--db", help="SQLAlchemy URL of the coordinator database.")]
KeyDir = Annotated[
    Path, typer.Option("--key-dir", help="Folder of the coordinator key (the service's alone).")
]


def _policy(path: Path | None) -> dict[str, object] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError("policy", f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError("policy", f"{path}: a JSON object of policy parameters")
    return data


@coordinator_app.command("init")
def init(
    db: DbUrl,
    key_dir: KeyDir,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="JSON object of board parameters to start with."),
    ] = None,
) -> None:
    """Create the coordinator key, the ledger's genesis and the first policy; print the pin."""
    from consortium.service.setup import init_coordinator  # noqa: PLC0415

    with reported_errors():
        genesis = init_coordinator(database_url=db, key_dir=key_dir, policy=_policy(policy))
    typer.echo(f"coordinator key: {genesis.key_file}")
    typer.echo(f"ledger started: {genesis.size} entries, first tree head signed")
    typer.echo(f"pin this coordinator key id on every member: {genesis.key_id}")


@coordinator_app.command("serve")
def serve(
    db: DbUrl,
    key_dir: KeyDir,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8443,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="Server certificate (PEM).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="Its private key.")] = None,
    eta_model: Annotated[
        Path | None, typer.Option("--eta-model", help="Pooled ETA model folder (lane queries).")
    ] = None,
    stock_model: Annotated[
        Path | None, typer.Option("--stock-model", help="Pooled stock-risk model folder.")
    ] = None,
    members: Annotated[
        Path | None,
        typer.Option("--members", help="Synthetic consortium folder whose warehouses answer."),
    ] = None,
    flwr_home: Annotated[
        Path | None,
        typer.Option("--flwr-home", help="The SuperLink's FLWR_HOME: SuperNode keys follow the "
                                         "roster."),
    ] = None,  # fmt: skip
) -> None:
    """Serve the coordinator API with uvicorn (HTTPS when --tls-cert and --tls-key are given)."""
    import uvicorn  # noqa: PLC0415

    from consortium.service.app import create_app  # noqa: PLC0415
    from consortium.service.state import ServiceSettings  # noqa: PLC0415

    with reported_errors():
        if (tls_cert is None) != (tls_key is None):
            raise ConfigError("tls", "give both --tls-cert and --tls-key, or neither")
        if tls_cert is None and host not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError("tls", "serving beyond loopback needs --tls-cert and --tls-key")
        settings = ServiceSettings(
            database_url=db, key_dir=key_dir, eta_model_dir=eta_model,
            stock_model_dir=stock_model, members_dir=members,
        )  # fmt: skip
        supernodes = None
        if flwr_home is not None:
            from consortium.deployment.registration import SuperNodeRegistry  # noqa: PLC0415

            supernodes = SuperNodeRegistry.at(flwr_home)
        app = create_app(settings, supernodes=supernodes)
        uvicorn.run(
            app, host=host, port=port, log_level="warning", access_log=False,
            timeout_graceful_shutdown=5,
            ssl_certfile=None if tls_cert is None else str(tls_cert),
            ssl_keyfile=None if tls_key is None else str(tls_key),
        )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(coordinator_app, name="coordinator")
