"""``coordinator init``: the coordinator's key, the genesis entry and the first policy."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from consortium.identity.keys import generate_key_file
from consortium.identity.registry import bootstrap_coordinator
from consortium.ledger.store import ledger_size, publish_checkpoint
from consortium.policy.model import ConsortiumPolicy
from consortium.policy.store import change_policy
from consortium.service.state import key_path, open_stores

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Genesis:
    """A started consortium: the coordinator key id members pin, and the first tree head."""

    key_id: str
    key_file: Path
    size: int


def init_coordinator(
    *, database_url: str, key_dir: Path, policy: Mapping[str, object] | None = None
) -> Genesis:
    """Create the coordinator key (0600, in ``key_dir``), the ledger's genesis and first policy.

    Parameters
    ----------
    database_url
        An empty database (its tables are created).
    key_dir
        A folder for the coordinator's key; the key file must not exist yet.
    policy
        Board parameters to start with (see :class:`~consortium.policy.model.ConsortiumPolicy`);
        ``None``: the defaults, recorded as they are.

    Raises
    ------
    KeyFileError
        If the key file already exists.
    LedgerError
        If the database already holds a ledger (nothing is written; the new key file stays
        unused).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> genesis = init_coordinator(database_url=f"sqlite:///{folder / 'c.db'}",
    ...                            key_dir=folder / "keys")
    >>> genesis.size, len(genesis.key_id)
    (2, 64)
    """
    factory = open_stores(database_url, create_tables=True, durable=True)
    Path(key_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    path = key_path(key_dir)
    coordinator = generate_key_file(path)
    with factory.begin() as session:
        bootstrap_coordinator(session, coordinator=coordinator)
        first = ConsortiumPolicy().with_changes(dict(policy)) if policy else ConsortiumPolicy()
        change_policy(session, changes=first.to_dict(), signer=coordinator)
        publish_checkpoint(session, signer=coordinator)
        size = ledger_size(session)
    logger.info("coordinator %s started the ledger", coordinator.key_id[:16])
    return Genesis(key_id=coordinator.key_id, key_file=path, size=size)
