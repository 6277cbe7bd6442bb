"""`consortium query lane|warehouse`: buy a forecast with points, and see how the fee was split.

With ``--coordinator URL`` (and ``--pin``) the query is signed here with the cargo owner's key
(``--key``) and bought from the coordinator service, lanes and warehouses alike (the service
answers warehouses when it runs with its warehouse members, ``coordinator serve --members``).
On the coordinator's own machine, this command can instead answer it as the coordinator
(``--coordinator-key``) against its database (``--db``); warehouse queries are then answered by
the warehouse members' own computation, run here from a folder of member data (``--members``,
e.g. the output of ``consortium synth``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from consortium.cli.database import DbOption, load_key
from consortium.cli.errors import reported_errors
from consortium.cli.service_options import CaOption, CoordinatorOption, PinOption, open_remote
from consortium.errors import ConfigError

query_app = typer.Typer(
    help="Buy a forecast with points: a lane's on-time rate and ETA interval, or a warehouse's "
    "stock-out risk. The fee is split among the contributors of the answering model.",
    no_args_is_help=True,
)

KeyOption = Annotated[
    Path, typer.Option("--key", help="The cargo owner's private key file (signs the query).")
]
CoordinatorKeyOption = Annotated[
    Path | None,
    typer.Option("--coordinator-key",
                 help="Without --coordinator: the coordinator's key file (its machine only)."),
]
MaxPriceOption = Annotated[
    int, typer.Option("--max-price", min=1, help="The most points you agree to pay.")
]


def _parse_time(value: str, option: str) -> str:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(option, f"not an ISO 8601 date-time: {value!r}") from exc
    if moment.utcoffset() is None:
        raise ConfigError(option, "give a UTC offset, e.g. 2026-03-02T00:00:00Z or +01:00")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _echo_answer(kind: str, answer: Mapping[str, Any]) -> None:
    """Print a lane answer as its card (mode units, the board's tolerance); else its fields."""
    if kind != "lane":
        for name, value in answer.items():
            if name != "model_version":
                typer.echo(f"  {name:<22} {value}")
        return
    from consortium.widgets.answer_card import lane_card  # noqa: PLC0415

    # the answer was read at the tolerance in force for its mode: the card shows that one
    read_at = int(float(str(answer.get("tolerance_minutes") or 0)))
    card = lane_card(answer, tolerances={str(answer.get("mode")): read_at})
    typer.echo(f"  {card.title}")
    typer.echo(f"  {card.departures}; {card.legs} pooled")
    typer.echo(f"  typical transit {card.transit}; {card.interval_label}: {card.interval}")
    typer.echo(f"  typical delay {card.delay}")
    typer.echo(f"  {card.on_time_label}: {card.on_time}")


def _ask(
    *,
    kind: str,
    params: dict[str, Any],
    max_price: int,
    key: Path,
    coordinator_key: Path,
    db: str | None,
    eta_model_dir: Path | None = None,
    stock_model_dir: Path | None = None,
    members: Path | None = None,
) -> None:
    from consortium.cli.database import open_database
    from consortium.cli.lookup import require_warehouse
    from consortium.config import load_settings
    from consortium.forecasts.messages import new_query, sign_query
    from consortium.forecasts.service import (
        QueryService,
        compute_answer,
        quote_query,
        settle_answer,
    )
    from consortium.forecasts.warehouse import LocalWarehouseAnswerer

    with reported_errors():
        owner = load_key(key, "cargo owner")
        coordinator = load_key(coordinator_key, "coordinator")
        answerer = LocalWarehouseAnswerer.from_consortium_dir(members) if members else None
        if kind == "warehouse" and answerer is not None:  # a typo, before any price or balance
            require_warehouse(str(params["warehouse_id"]), answerer.members)
        service = QueryService(
            coordinator=coordinator,
            eta_model_dir=eta_model_dir,
            stock_model_dir=stock_model_dir,
            answerer=answerer,
            settings=load_settings(),
        )
        now = datetime.now(UTC)
        query = new_query(
            kind=kind, params=params, issuer=owner, max_price_points=max_price, now=now
        )
        factory = open_database(db)
        signature = sign_query(query, signer=owner)
        with factory.begin() as session:  # short: checks and price only
            quote = quote_query(session, query=query, signature=signature, service=service, now=now)
        answer = compute_answer(quote, service=service)  # outside any transaction
        with factory.begin() as session:  # re-checks, then charges, splits and records
            paid = settle_answer(session, quote=quote, answer=answer, service=service)
    typer.echo(f"query {paid.query_id} ({paid.kind}) answered by model {paid.model_version[:16]}")
    _echo_answer(paid.kind, paid.answer.summary())
    typer.echo(f"fee: {paid.fee} points from {paid.payer[:22]}...")
    typer.echo("split:")
    for account, amount in paid.parts.items():
        typer.echo(f"  {account:<40} {amount:>8}")
    typer.echo(
        f"ledger entries: query-settled {paid.settled_seq}, query-answered {paid.answered_seq}"
    )


def _ask_remote(*, url: str, pin: str | None, ca: Path | None, key: Path, kind: str,
                params: dict[str, Any], max_price: int) -> None:  # fmt: skip
    """Sign the query here and buy it from the coordinator service.

    A warehouse id is first checked against the ones the service knows (``unknown-warehouse``
    with a "did you mean", before anything is signed or charged).
    """
    from consortium.cli.lookup import require_warehouse  # noqa: PLC0415
    from consortium.client.cargo import known_warehouses  # noqa: PLC0415

    with reported_errors():
        owner = load_key(key, "cargo owner")
        with open_remote(url, pin, ca) as remote:
            if kind == "warehouse":
                require_warehouse(str(params["warehouse_id"]), known_warehouses(remote))
            paid = remote.buy_forecast(owner=owner, kind=kind, params=params,
                                       max_price_points=max_price)  # fmt: skip
    typer.echo(f"query {paid.query_id} ({paid.kind}) answered by model {paid.model_version[:16]}")
    _echo_answer(paid.kind, paid.answer)
    typer.echo(f"fee: {paid.fee} points; balance left {paid.balance_left}")
    typer.echo("split:")
    for account, amount in paid.parts.items():
        typer.echo(f"  {account:<40} {amount:>8}")
    typer.echo(f"ledger entry: query-answered {paid.receipt.entry.seq} (receipt checked)")


@query_app.command("lane")
def lane(
    origin: Annotated[str, typer.Option("--origin", help="UN/LOCODE or IATA code, e.g. CNSHA.")],
    destination: Annotated[str, typer.Option("--destination", help="e.g. NLRTM.")],
    mode: Annotated[str, typer.Option("--mode", help="sea, road, rail or air.")],
    departure_from: Annotated[
        str, typer.Option("--from", help="Start of the departure window (ISO 8601 with offset).")
    ],
    departure_to: Annotated[str, typer.Option("--to", help="End of the departure window.")],
    max_price: MaxPriceOption,
    key: KeyOption,
    coordinator_key: CoordinatorKeyOption = None,
    model_dir: Annotated[
        Path | None,
        typer.Option("--model-dir", help="Without --coordinator: the pooled model directory."),
    ] = None,
    db: DbOption = None,
    coordinator: CoordinatorOption = None,
    pin: PinOption = None,
    ca: CaOption = None,
) -> None:
    """On-time rate and ETA interval of a lane for departures in a window."""
    with reported_errors():
        params = {
            "origin": origin,
            "destination": destination,
            "mode": mode,
            "departure_from": _parse_time(departure_from, "--from"),
            "departure_to": _parse_time(departure_to, "--to"),
        }
        if coordinator is None and (coordinator_key is None or model_dir is None):
            raise ConfigError(
                "--coordinator", "give --coordinator URL (and --pin), or, on the coordinator's "
                "machine, --coordinator-key and --model-dir",
            )
    if coordinator is not None:
        _ask_remote(url=coordinator, pin=pin, ca=ca, key=key, kind="lane", params=params,
                    max_price=max_price)  # fmt: skip
        return
    assert coordinator_key is not None
    assert model_dir is not None
    _ask(kind="lane", params=params, max_price=max_price, key=key,
         coordinator_key=coordinator_key, db=db, eta_model_dir=model_dir)  # fmt: skip


@query_app.command("warehouse")
def warehouse(
    warehouse_id: Annotated[
        str, typer.Option("--warehouse", help="Warehouse id, e.g. WH-NLRTM-01.")
    ],
    max_price: MaxPriceOption,
    key: KeyOption,
    coordinator_key: CoordinatorKeyOption = None,
    model_dir: Annotated[
        Path | None,
        typer.Option("--model-dir", help="Without --coordinator: the pooled stock-risk model."),
    ] = None,
    members: Annotated[
        Path | None,
        typer.Option("--members", help="Without --coordinator: the warehouse members' data "
                     "folder (consortium synth)."),
    ] = None,
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", min=1, max=90, help="Days ahead.")
    ] = 7,
    db: DbOption = None,
    coordinator: CoordinatorOption = None,
    pin: PinOption = None,
    ca: CaOption = None,
) -> None:
    """Stock-out risk at a warehouse, computed by that warehouse's own node (it may decline)."""
    params: dict[str, Any] = {"warehouse_id": warehouse_id, "horizon_days": horizon_days}
    if coordinator is not None:
        _ask_remote(url=coordinator, pin=pin, ca=ca, key=key, kind="warehouse", params=params,
                    max_price=max_price)  # fmt: skip
        return
    with reported_errors():
        if coordinator_key is None or model_dir is None or members is None:
            raise ConfigError(
                "--coordinator", "give --coordinator URL (and --pin), or, on the coordinator's "
                "machine, --coordinator-key, --model-dir and --members",
            )
    assert coordinator_key is not None
    assert model_dir is not None
    _ask(kind="warehouse", params=params, max_price=max_price, key=key,
         coordinator_key=coordinator_key, db=db, stock_model_dir=model_dir,
         members=members)  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``consortium query`` to the root app."""
    app.add_typer(query_app, name="query")
