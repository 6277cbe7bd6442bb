"""The one-machine runner: real ServerApp and ClientApp through Flower's Grid interface."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.app.message_type import MessageType
from flwr.clientapp import ClientApp
from flwr.common.constant import ErrorCode

from consortium.errors import ConfigError
from consortium.federation.local_grid import LocalGrid, coordinator_identity, run_local, serve
from consortium.federation.toy import make_toy_client_app, make_toy_server_app, toy_model
from tests.federation.conftest import member_nodes


def _echo_app() -> ClientApp:
    app = ClientApp()

    @app.query()
    def query(msg: Message, context: Context) -> Message:
        # Count calls in the node's own state, and report who we are.
        calls = int(context.state.config_records.get("calls", {"n": 0})["n"]) + 1
        context.state["calls"] = ConfigRecord({"n": calls})
        if context.node_config.get("fail") == "yes":
            raise RuntimeError("boom")
        member = str(context.node_config["member-id"])
        msg.content["seen"] = ConfigRecord({"member": member, "calls": calls})
        return Message(msg.content, reply_to=msg)

    return app


def _query_all(grid: LocalGrid) -> list[Message]:
    with coordinator_identity(grid.run.run_id):
        msgs = [Message(RecordDict(), nid, MessageType.QUERY) for nid in grid.get_node_ids()]
        return list(grid.send_and_receive(msgs))


def test_each_node_has_its_own_persistent_context() -> None:
    # Prepare
    grid = LocalGrid(_echo_app(), nodes=member_nodes(3), run_config={"k": 1})
    # Execute
    _query_all(grid)
    replies = _query_all(grid)
    # Assert
    seen = {r.metadata.src_node_id: r.content.config_records["seen"] for r in replies}
    assert {grid.member_of(n): s["member"] for n, s in seen.items()} == {
        m: m for m in ["m0", "m1", "m2"]
    }
    assert all(s["calls"] == 2 for s in seen.values())
    ctx = grid.context_of("m1")
    assert ctx.node_config["data-path"] == "/data/m1"
    assert ctx.run_config["k"] == 1
    assert ctx.state is not grid.context_of("m0").state


def test_replies_are_copies_not_shared_objects() -> None:
    grid = LocalGrid(_echo_app(), nodes=member_nodes(2))
    shared = RecordDict()
    with coordinator_identity(grid.run.run_id):
        msgs = [Message(shared, nid, MessageType.QUERY) for nid in grid.get_node_ids()]
        replies = list(grid.send_and_receive(msgs))
    # The members wrote into what they received; the coordinator's object is untouched.
    assert "seen" not in shared
    assert len({id(r.content) for r in replies}) == 2


def test_dropped_node_stays_silent_or_answers_with_error() -> None:
    grid = LocalGrid(_echo_app(), nodes=member_nodes(3))
    grid.drop("m0", after=1)
    grid.drop("m1", with_error=True)
    first = _query_all(grid)
    second = _query_all(grid)
    by_member = lambda rs: {grid.member_of(r.metadata.src_node_id): r for r in rs}  # noqa: E731
    assert set(by_member(first)) == {"m0", "m1", "m2"}
    assert by_member(first)["m1"].error.code == ErrorCode.NODE_UNAVAILABLE
    assert set(by_member(second)) == {"m1", "m2"}  # m0 answered once, then went silent
    grid.restore("m0")
    assert len(_query_all(grid)) == 3


def test_client_app_exception_becomes_error_reply() -> None:
    nodes = member_nodes(2) | {"bad": {"member-id": "bad", "fail": "yes"}}
    grid = LocalGrid(_echo_app(), nodes=nodes)
    replies = {grid.member_of(r.metadata.src_node_id): r for r in _query_all(grid)}
    assert replies["bad"].error.code == ErrorCode.CLIENT_APP_RAISED_EXCEPTION
    assert "boom" in replies["bad"].error.reason
    assert replies["m0"].has_content()


def test_unknown_member_is_a_config_error() -> None:
    grid = LocalGrid(_echo_app(), nodes=member_nodes(2))
    with pytest.raises(ConfigError) as exc:
        grid.drop("nobody")
    assert exc.value.name == "member"


def test_run_local_runs_a_real_server_app_for_several_rounds() -> None:
    # Prepare / Execute: two secure rounds (the SecAgg+ client state restarts each round).
    run = run_local(
        make_toy_server_app(),
        make_toy_client_app(secure=True),
        nodes=member_nodes(3),
        run_config={"secure": True, "rounds": 2},
    )
    # Assert
    outcome = run.context.state.config_records["toy.outcome"]
    assert (outcome["status"], outcome["round"], outcome["members"]) == ("ok", 2, 3)
    glob = run.context.state.array_records["toy.global"].to_numpy_ndarrays()
    start = [p.detach().numpy() for p in toy_model().state_dict().values()]
    assert not np.allclose(glob[0], start[0])


def test_serve_with_zero_rounds_sends_nothing() -> None:
    grid = LocalGrid(make_toy_client_app(secure=False), nodes=member_nodes(2))
    ctx = serve(make_toy_server_app(), grid, run_config={"secure": False, "rounds": 0})
    assert "toy.outcome" not in ctx.state.config_records
    for m in ["m0", "m1"]:
        assert "toy.last-update" not in grid.context_of(m).state.array_records
