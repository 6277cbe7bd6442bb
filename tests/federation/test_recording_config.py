"""The ServerApp opens the coordinator's stores from its run config, on either runtime.

``ledger-db`` and ``coordinator-key`` in the run config make the ServerApp build its recorder
itself (:func:`~consortium.federation.server_app.recorder_of`); nodes are known by the member id
they were registered under (``NodeInfo.name``), and with a recorder only active members' nodes
take part. The deployment run of the same code is in ``tests/deployment/test_supervisor.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest
from flwr.app import Context, RecordDict
from flwr.app.user_config import UserConfig
from flwr.proto.node_pb2 import NodeInfo

from consortium.contributions.opening import open_recorder
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.errors import ConfigError
from consortium.federation.coordinator.rounds import round_instruction
from consortium.federation.coordinator.session import Session, node_members
from consortium.federation.grids import DelegatingGrid
from consortium.federation.instructions import RunConfig
from consortium.federation.key_binding import binding_node_configs
from consortium.federation.local_grid import LocalGrid
from consortium.federation.server_app import recorder_of
from consortium.federation.toy import make_toy_client_app
from consortium.identity.keys import generate_key_file
from consortium.identity.registry import bootstrap_coordinator
from consortium.membership import admit_member, remove_member, request_exit
from consortium.policy.store import change_policy
from tests.federation.conftest import member_nodes

MEMBERS = ["m0", "m1", "m2", "m3"]
BOARD_CAP = 1.5


@pytest.fixture(scope="module")
def coordinator(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    """A coordinator database: m0..m3 admitted with their member keys; m3 has left; ε cap 1.5."""
    tmp = tmp_path_factory.mktemp("coordinator")
    url = f"sqlite:///{tmp / 'coordinator.db'}"
    engine = make_engine(url)
    create_schema(engine)
    key = generate_key_file(tmp / "coordinator.key")
    with make_session_factory(engine).begin() as s:
        bootstrap_coordinator(s, coordinator=key)
        for member in MEMBERS:
            own = generate_key_file(tmp / "keys" / f"{member}.key")
            admit_member(s, member=member, public_key=own.public_key, signer=key)
        request_exit(s, member="m3", signer=own)  # m3 leaves; the coordinator removes it
        remove_member(s, member="m3", signer=key)
        change_policy(s, changes={"max_epsilon_per_round": BOARD_CAP}, signer=key)
    engine.dispose()
    return url, tmp / "coordinator.key", tmp / "keys"


class NamedGrid(DelegatingGrid):
    """The names a SuperLink reports: whatever the coordinator registered each key under."""

    def __init__(self, inner: LocalGrid, names: dict[str, str | None]) -> None:
        super().__init__(inner)
        self._names = {inner.node_id_of(m): n for m, n in names.items()}

    def get_nodes(self) -> Iterable[NodeInfo]:  # noqa: D102
        return [NodeInfo(node_id=n, name=name) if name else NodeInfo(node_id=n)
                for n, name in self._names.items()]  # fmt: skip


def _context() -> Context:
    return Context(run_id=1, node_id=0, node_config=UserConfig(), state=RecordDict(),
                   run_config=UserConfig())  # fmt: skip


def _grid() -> LocalGrid:
    return LocalGrid(make_toy_client_app(secure=False), nodes=member_nodes(4))


def test_run_config_opens_the_coordinators_recorder_and_admits_only_active_members(
    coordinator: tuple[str, Path, Path],
) -> None:
    # Prepare
    url, key, _ = coordinator
    run = RunConfig.from_config({"ledger-db": url, "coordinator-key": str(key)})
    grid = _grid()
    # Execute
    recorder = recorder_of(run)
    session = Session.open(grid, _context(), run, recorder=recorder, on_event=None)
    # Assert: labelled by member id; the removed member's node is not in the federation
    assert recorder is not None
    assert session.labels == {grid.node_id_of(m): m for m in MEMBERS}
    assert sorted(session.grid.get_node_ids()) == sorted(grid.node_id_of(m) for m in MEMBERS[:3])
    # ... each round carries the board's ε cap, and neither the database nor the key travels
    train = round_instruction(session, 1, stats=None)
    assert train.max_epsilon_per_round == BOARD_CAP
    config = train.to_config()
    assert url not in json.dumps(config)
    assert str(key) not in json.dumps(config)


def test_nodes_without_a_registered_name_or_under_a_shared_one_are_refused(
    coordinator: tuple[str, Path, Path],
) -> None:
    # Prepare: as a SuperLink would report them, m1's node unnamed, two nodes named m2
    url, key, _ = coordinator
    run = RunConfig(ledger_db=url, coordinator_key=str(key))
    inner = _grid()
    grid = NamedGrid(inner, {"m0": "m0", "m1": None, "m2": "m2", "m3": "m2"})
    # Execute
    session = Session.open(grid, _context(), run, recorder=recorder_of(run), on_event=None)
    # Assert
    assert node_members(grid) == {inner.node_id_of("m0"): "m0", inner.node_id_of("m2"): "m2",
                                  inner.node_id_of("m3"): "m2"}  # fmt: skip
    assert list(session.grid.get_node_ids()) == [inner.node_id_of("m0")]


def test_a_database_password_in_the_run_config_is_refused() -> None:
    # The run config reaches every member's SuperNode (Flower fuses it into their context).
    with pytest.raises(ConfigError, match="ledger-db"):
        RunConfig.from_config({"ledger-db": "postgresql+psycopg://kit:s3cret@db/ledger",
                               "coordinator-key": "/srv/coordinator.key"})  # fmt: skip
    with pytest.raises(ConfigError, match="ledger-db"):
        open_recorder(db_url="postgresql+psycopg://kit:s3cret@db/ledger", key_path=Path("k"))
    with pytest.raises(ConfigError, match="go together"):
        RunConfig.from_config({"ledger-db": "sqlite:////srv/coordinator.db"})


def test_the_stores_must_be_the_coordinators(
    coordinator: tuple[str, Path, Path], tmp_path: Path
) -> None:
    url, key, keys = coordinator
    with pytest.raises(ConfigError, match="no coordinator database"):
        open_recorder(db_url=f"sqlite:///{tmp_path / 'missing.db'}", key_path=key)
    with pytest.raises(ConfigError, match="coordinator-key"):
        open_recorder(db_url=url, key_path=keys / "m0.key")  # a member's key cannot record
    with pytest.raises(ConfigError, match="already given"):
        recorder_of(RunConfig(ledger_db=url, coordinator_key=str(key)),
                    given=open_recorder(db_url=url, key_path=key))  # fmt: skip


def test_binding_node_configs_name_each_members_key_and_the_members_it_trusts(
    coordinator: tuple[str, Path, Path],
) -> None:
    # Prepare
    _, _, keys = coordinator
    # Execute
    configs = binding_node_configs(["m2", "m0", "m1"], keys)
    # Assert: its own key file; one trusted list of exactly these members' public keys
    assert configs["m0"]["member-key"] == str((keys / "m0.key").resolve())
    listed = {c["member-keys"] for c in configs.values()}
    assert len(listed) == 1
    trusted = json.loads(Path(listed.pop()).read_text())
    assert trusted == {m: (keys / f"{m}.key.pub").read_text().strip() for m in ("m0", "m1", "m2")}
    with pytest.raises(ConfigError, match="no member key"):
        binding_node_configs(["m0", "m9"], keys)
