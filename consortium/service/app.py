"""``create_app(settings)``: the coordinator service as a FastAPI app, served by uvicorn.

Examples
--------
>>> import tempfile, pathlib
>>> from fastapi.testclient import TestClient  # doctest: +SKIP
>>> from consortium.service.setup import init_coordinator
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> url = f"sqlite:///{folder / 'c.db'}"
>>> genesis = init_coordinator(database_url=url, key_dir=folder / "keys")
>>> app = create_app(ServiceSettings(database_url=url, key_dir=folder / "keys"))
>>> with TestClient(app) as client:  # doctest: +SKIP
...     client.get("/v1/ledger/coordinator").json()["key_id"] == genesis.key_id
True
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from consortium import __version__
from consortium.governance.clock import SYSTEM_CLOCK, Clock
from consortium.membership.joins import SupernodeRegistry
from consortium.service.errors import install_error_handlers
from consortium.service.roster import follow_roster
from consortium.service.routers import (
    board,
    governance,
    ledger,
    onboarding,
    points,
    queries,
    warehouses,
    witness,
)
from consortium.service.state import ServiceSettings, load_state
from consortium.wire.envelope import API_PREFIX

ROUTERS: list[APIRouter] = [ledger.router, points.router, governance.router, queries.router,
                            onboarding.router, witness.router, board.router,
                            warehouses.router]  # fmt: skip
"""Every domain's router, in the order they are included; a new domain adds its own."""

health = APIRouter(prefix=API_PREFIX, tags=["health"])


@health.get("/health")
def alive() -> dict[str, str]:
    """Liveness: the service answers."""
    return {"status": "ok"}


def create_app(
    settings: ServiceSettings,
    *,
    clock: Clock = SYSTEM_CLOCK,
    supernodes: SupernodeRegistry | None = None,
) -> FastAPI:
    """Build the coordinator service over the stores and key ``settings`` name.

    The state (stores, key, models) is opened when the app starts, so a misconfigured service
    fails at start, not at its first request. ``supernodes`` is the SuperLink's list of
    SuperNode keys (the CLI edge passes ``SuperNodeRegistry.at(flwr_home)``): the service makes
    it follow the roster at start and after every admission or removal it executes.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = load_state(settings, clock=clock, supernodes=supernodes)
        follow_roster(app.state.service)
        yield

    app = FastAPI(
        title="Logistics Consortium coordinator",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    for router in [health, *ROUTERS]:
        app.include_router(router)
    return app
