"""SecAgg+ rounds on the local grid with the real SecAggPlusWorkflow and secaggplus_mod."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.app.message_type import MessageType
from flwr.common import Code, FitIns, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.secure_aggregation.secaggplus_constants import (
    RECORD_KEY_CONFIGS,
    RECORD_KEY_STATE,
)
from flwr.compat.common import recorddict_compat as compat
from flwr.serverapp import Grid, ServerApp

from consortium.errors import ConfigError, RoundFailed, UpdateRejected
from consortium.federation.local_grid import LocalGrid, coordinator_identity, run_local, serve
from consortium.federation.mods import make_update_guard_mod
from consortium.federation.records import specs_of, state_dict_to_ndarrays
from consortium.federation.secagg import (
    SecAggSettings,
    plan_secagg,
    run_fedavg_round,
    update_clipping_range,
)
from consortium.federation.toy import make_toy_client_app, make_toy_server_app, toy_model
from tests.federation.conftest import MEMBERS, last_update, member_nodes, weighted_fedavg

ATOL = 1e-4  # quantisation error bound for R = 8, Q = 2**22, 5 members (about 1e-5)


def _start() -> list[np.ndarray]:
    return state_dict_to_ndarrays(toy_model().state_dict())


def _global(ctx: Context) -> list[np.ndarray]:
    return ctx.state.array_records["toy.global"].to_numpy_ndarrays()


def _outcome(ctx: Context) -> ConfigRecord:
    return ctx.state.config_records["toy.outcome"]


def _secure_grid(record: bool = False, guard: bool = True, **extra: dict[str, str]) -> LocalGrid:
    return LocalGrid(
        make_toy_client_app(secure=True, guard=guard), nodes=member_nodes(5, **extra), record=record
    )


# --- the rules ---------------------------------------------------------------------------------


def test_plan_keeps_threshold_above_half_and_below_shares() -> None:
    for n in range(3, 300):
        plan = plan_secagg(n)
        assert plan.threshold > plan.num_shares / 2
        assert 2 <= plan.threshold < plan.num_shares <= n
        assert plan.num_shares == n or plan.num_shares % 2 == 1
        assert plan.max_dropouts >= 1


def test_plan_refuses_fewer_than_three_members() -> None:
    with pytest.raises(ConfigError) as exc:
        plan_secagg(2)
    assert exc.value.name == "num_members"


def test_clipping_range_bounds_a_real_dp_sgd_update() -> None:
    # Prepare: DP-SGD by hand (per-sample clip to C, Gaussian noise sigma*C, mean over B).
    torch.manual_seed(1)
    c, sigma, lr, steps, batch = 1.0, 1.1, 0.1, 20, 16
    model = torch.nn.Linear(4, 1)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    x, y = torch.randn(batch, 4) * 50, torch.randn(batch, 1) * 50  # huge raw gradients
    # Execute
    for _ in range(steps):
        grads = []
        for i in range(batch):
            model.zero_grad()
            torch.nn.functional.mse_loss(model(x[i : i + 1]), y[i : i + 1]).backward()
            g = torch.cat([p.grad.flatten() for p in model.parameters()])
            grads.append(g * min(1.0, c / float(g.norm())))
        noisy = (torch.stack(grads).sum(0) + torch.randn(5) * sigma * c) / batch
        with torch.no_grad():
            offset = 0
            for p in model.parameters():
                p -= lr * noisy[offset : offset + p.numel()].view_as(p)
                offset += p.numel()
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    bound = update_clipping_range(
        max_grad_norm=c,
        noise_multiplier=sigma,
        learning_rate=lr,
        local_steps=steps,
        batch_size=batch,
    )
    # Assert: the update is inside the bound, and the bound is not absurdly loose.
    worst = float((after - before).abs().max())
    assert worst <= bound
    assert bound < 20 * lr * steps * c


def test_clipping_range_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigError) as exc:
        update_clipping_range(
            max_grad_norm=1.0,
            noise_multiplier=1.0,
            learning_rate=0.1,
            local_steps=1,
            batch_size=8,
            momentum=1.0,
        )
    assert exc.value.name == "momentum"


# --- the secure round --------------------------------------------------------------------------


def test_secure_round_equals_plain_weighted_fedavg(run_config: dict) -> None:
    # Prepare
    grid = _secure_grid()
    # Execute
    ctx = serve(make_toy_server_app(), grid, run_config=run_config)
    plain = run_local(
        make_toy_server_app(),
        make_toy_client_app(secure=False),
        nodes=member_nodes(5),
        run_config=run_config | {"secure": False},
    )
    # Assert: same as FedAvg of the members' own plaintext updates, and as the plain path.
    assert (_outcome(ctx)["status"], _outcome(ctx)["members"]) == ("ok", 5)
    reference = weighted_fedavg(_start(), grid, MEMBERS)
    for got, want, alt in zip(_global(ctx), reference, _global(plain.context), strict=True):
        np.testing.assert_allclose(got, want, atol=ATOL)
        np.testing.assert_allclose(got, alt, atol=ATOL)
    assert not np.allclose(_global(ctx)[0], _start()[0], atol=1e-2)  # training moved the model


def _contains(message: Message, update: list[np.ndarray]) -> bool:
    """Does anything in ``message`` equal or approximate one array of ``update``?"""
    blobs: list[bytes] = []
    arrays: list[np.ndarray] = []
    if message.has_error():
        return False
    for record in message.content.array_records.values():
        arrays += record.to_numpy_ndarrays()
    for record in message.content.config_records.values():
        for value in record.values():
            values = value if isinstance(value, list) else [value]
            blobs += [v for v in values if isinstance(v, bytes)]
    for blob in blobs:
        try:
            arrays.append(np.load(io.BytesIO(blob), allow_pickle=False))
        except (ValueError, OSError, EOFError):
            pass
    for u in update:
        raw = u.astype(np.float32).tobytes()
        if any(raw in blob for blob in blobs) or any(raw in a.tobytes() for a in arrays):
            return True
        for a in arrays:
            same = a.size == u.size
            if same and np.allclose(a.astype(np.float64).reshape(u.shape), u, atol=1e-3):
                return True
    return False


def test_coordinator_never_receives_an_individual_update(run_config: dict) -> None:
    # Prepare: record everything the coordinator side receives, secure and (control) plain.
    grid = _secure_grid(record=True)
    plain = LocalGrid(make_toy_client_app(secure=False), nodes=member_nodes(5), record=True)
    # Execute
    serve(make_toy_server_app(), grid, run_config=run_config)
    serve(make_toy_server_app(), plain, run_config=run_config | {"secure": False})
    # Assert: the detector finds every update on the plain path ...
    for m in MEMBERS:
        assert any(_contains(msg, last_update(plain, m)[0]) for msg in plain.received)
    # ... and none under SecAgg+, where only keys, encrypted shares and masked vectors arrive.
    assert len(grid.received) == 4 * 5
    for m in MEMBERS:
        update = last_update(grid, m)[0]
        assert not any(_contains(msg, update) for msg in grid.received)
    assert all(
        not msg.content.array_records or not any(len(r) for r in msg.content.array_records.values())
        for msg in grid.received
    )


def test_round_survives_a_member_dropping_after_sharing_keys(run_config: dict) -> None:
    # Prepare: m1 answers setup and share-keys, then vanishes before sending its masked vector.
    grid = _secure_grid()
    grid.drop("m1", after=2)
    # Execute
    ctx = serve(make_toy_server_app(), grid, run_config=run_config)
    # Assert: the aggregate is the FedAvg of the four others (m1's masks were removed).
    assert (_outcome(ctx)["status"], _outcome(ctx)["members"]) == ("ok", 4)
    assert any("m1 did not answer" in f for f in _outcome(ctx)["failures"])
    reference = weighted_fedavg(_start(), grid, [m for m in MEMBERS if m != "m1"])
    for got, want in zip(_global(ctx), reference, strict=True):
        np.testing.assert_allclose(got, want, atol=ATOL)


def test_too_many_dropouts_fail_cleanly_and_keep_the_model(run_config: dict) -> None:
    # Prepare: 5 members -> 5 shares, threshold 4: two dropouts are one too many.
    grid = _secure_grid()
    grid.drop("m1", after=2)
    grid.drop("m3", after=2)
    # Execute
    ctx = serve(make_toy_server_app(), grid, run_config=run_config)
    # Assert
    assert (_outcome(ctx)["status"], _outcome(ctx)["code"]) == ("failed", "secagg-halted")
    for got, want in zip(_global(ctx), _start(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_round_failed_is_raised_to_the_caller() -> None:
    # Prepare: a ServerApp that lets the error through.
    app = ServerApp()
    seen: dict[str, RoundFailed] = {}

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        sd = toy_model().state_dict()
        try:
            run_fedavg_round(
                grid,
                context,
                global_arrays=state_dict_to_ndarrays(sd),
                expected=specs_of(sd),
                server_round=7,
                secagg=SecAggSettings(),
            )
        except RoundFailed as err:
            seen["err"] = err
            raise

    grid = LocalGrid(make_toy_client_app(secure=True), nodes=member_nodes(2))
    # Execute / Assert
    with pytest.raises(RoundFailed):
        serve(app, grid, run_config={})
    assert (seen["err"].server_round, seen["err"].code) == (7, "too-few-members")


@pytest.mark.parametrize("guard", [True, False], ids=["member-guard", "coordinator-check"])
def test_wrong_shaped_update_is_rejected_naming_the_member(run_config: dict, guard: bool) -> None:
    # Prepare: m2 sends an update with an extra row (with or without its own guard).
    grid = _secure_grid(guard=guard, m2={"corrupt": "shape"})
    # Execute
    ctx = serve(make_toy_server_app(), grid, run_config=run_config)
    # Assert: the round completes without m2, and the reason names m2 and the problem.
    failures = list(_outcome(ctx)["failures"])
    assert _outcome(ctx)["members"] == 4
    assert len(failures) == 1
    assert "member m2" in failures[0]
    assert "shape-mismatch" in failures[0]
    assert ("rejected by the coordinator" in failures[0]) is (not guard)
    reference = weighted_fedavg(_start(), grid, [m for m in MEMBERS if m != "m2"])
    for got, want in zip(_global(ctx), reference, strict=True):
        np.testing.assert_allclose(got, want, atol=ATOL)


def test_wrong_shaped_update_is_rejected_on_the_plain_path_too(run_config: dict) -> None:
    grid = LocalGrid(
        make_toy_client_app(secure=False, guard=False),
        nodes=member_nodes(5, m4={"corrupt": "shape"}),
    )
    ctx = serve(make_toy_server_app(), grid, run_config=run_config | {"secure": False})
    assert _outcome(ctx)["members"] == 4
    assert "member m4, array 'weight'" in _outcome(ctx)["failures"][0]


def test_out_of_range_update_is_rejected_not_silently_clipped(run_config: dict) -> None:
    grid = _secure_grid(m0={"corrupt": "scale"})
    ctx = serve(make_toy_server_app(), grid, run_config=run_config)
    assert _outcome(ctx)["members"] == 4
    assert "member m0" in _outcome(ctx)["failures"][0]
    assert "out-of-range" in _outcome(ctx)["failures"][0]


def _fit_exchange(update: list[np.ndarray], n: int) -> tuple[Message, Context, Message]:
    """A real masked-stage fit instruction, a member context with SecAgg+ state, the reply."""
    start = [np.zeros_like(u) for u in update]
    content = compat.fitins_to_recorddict(FitIns(ndarrays_to_parameters(start), {}), True)
    content.config_records[RECORD_KEY_CONFIGS] = ConfigRecord({})  # a masked (SecAgg+) stage
    with coordinator_identity(1):
        msg = Message(content, dst_node_id=5, message_type=MessageType.TRAIN, group_id="1")
    sa_state = ConfigRecord({"clipping_range": 0.5, "max_weight": 100.0})
    state = RecordDict({RECORD_KEY_STATE: sa_state})
    ctx = Context(run_id=1, node_id=5, node_config={"member-id": "m9"}, state=state, run_config={})
    fitres = FitRes(Status(Code.OK, ""), ndarrays_to_parameters(update), n, {})
    return msg, ctx, Message(compat.fitres_to_recorddict(fitres, True), reply_to=msg)


def test_guard_mod_clips_when_asked() -> None:
    # Prepare
    msg, ctx, reply = _fit_exchange([np.array([2.0, -0.1, -3.0])], 10)
    # Execute
    out = make_update_guard_mod(on_out_of_range="clip")(msg, ctx, lambda m, c: reply)
    # Assert
    got = parameters_to_ndarrays(compat.recorddict_to_fitres(out.content, True).parameters)
    np.testing.assert_allclose(got[0], [0.5, -0.1, -0.5])


def test_guard_mod_rejects_a_weight_above_max_weight() -> None:
    msg, ctx, reply = _fit_exchange([np.array([0.1])], 1000)
    with pytest.raises(UpdateRejected) as exc:
        make_update_guard_mod()(msg, ctx, lambda m, c: reply)
    assert (exc.value.member, exc.value.code) == ("m9", "weight-out-of-range")


def test_settings_validate_at_construction() -> None:
    with pytest.raises(ConfigError) as exc:
        SecAggSettings(clipping_range=math.inf)
    assert exc.value.name == "clipping_range"
