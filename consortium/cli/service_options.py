"""The options that point a client command at the coordinator service instead of a database.

``--coordinator URL`` (or ``CONSORTIUM_COORDINATOR``), ``--pin KEYID`` (the coordinator key id
``coordinator init`` printed; ``CONSORTIUM_COORDINATOR_PIN``) and ``--ca FILE`` (the consortium
CA certificate; ``CONSORTIUM_COORDINATOR_CA``). With ``--coordinator`` the command signs with
``--key`` here and sends the request; no database URL or coordinator key is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from consortium.errors import ConfigError

if TYPE_CHECKING:
    from consortium.client.remote import RemoteCoordinator

CoordinatorOption = Annotated[
    str | None,
    typer.Option("--coordinator", envvar="CONSORTIUM_COORDINATOR",
                 help="URL of the coordinator service (https://host:port); sign here, send there."),
]  # fmt: skip
PinOption = Annotated[
    str | None,
    typer.Option("--pin", envvar="CONSORTIUM_COORDINATOR_PIN",
                 help="The coordinator key id you pinned (at least 16 hex digits)."),
]  # fmt: skip
CaOption = Annotated[
    Path | None,
    typer.Option("--ca", envvar="CONSORTIUM_COORDINATOR_CA",
                 help="The consortium CA certificate the service's TLS certificate chains to."),
]  # fmt: skip


ServiceOption = Annotated[
    str,
    typer.Option("--coordinator", envvar="CONSORTIUM_COORDINATOR",
                 help="The coordinator service's URL (https://host:port)."),
]  # fmt: skip
"""``--coordinator`` for a command that only works through the service (required)."""
ServicePinOption = Annotated[
    str,
    typer.Option("--pin", envvar="CONSORTIUM_COORDINATOR_PIN",
                 help="The coordinator key id it printed at init (16+ hex digits)."),
]  # fmt: skip
"""``--pin`` for a command that only works through the service (required)."""


def open_remote(url: str, pin: str | None, ca: Path | None) -> RemoteCoordinator:
    """Return a client of the service at ``url``, pinned to ``pin``.

    Raises
    ------
    ConfigError
        ``--pin`` is missing (a client never trusts an unpinned coordinator).
    """
    from consortium.client.remote import RemoteCoordinator  # noqa: PLC0415

    if not pin:
        raise ConfigError("--pin", "give the coordinator key id you pinned (or set "
                                   "CONSORTIUM_COORDINATOR_PIN)")  # fmt: skip
    return RemoteCoordinator(url, pin=pin, ca_cert=ca)
