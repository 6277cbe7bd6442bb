"""Flower's deployment runtime for real: SuperLink + SuperNodes as processes, TLS, node auth.

The slow test starts ``flower-superlink`` (TLS, ``--enable-supernode-auth``) and five
``flower-supernode`` processes on loopback: four members whose keys are registered and one
whose key never was. It then unregisters one member (a removed member), runs the toy
federation (SecAgg+, one round) and checks that exactly the three remaining members took part,
that the aggregate equals the one-machine runner's, and that nothing is left running.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from consortium.deployment.certs import generate_certificates
from consortium.deployment.nodes import MemberNode
from consortium.deployment.supervisor import LocalDeployment
from consortium.errors import DeploymentError
from consortium.federation.local_grid import run_local
from consortium.federation.toy import make_toy_client_app, make_toy_server_app
from tests.deployment.deploy_fixtures import TOY_APP


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_deployment_admits_registered_supernodes_only(tmp_path: Path) -> None:
    # Prepare: four admitted members and one node whose key was never registered
    members = [MemberNode(f"m{i}", {"member-id": f"m{i}"}) for i in range(4)]
    members.append(MemberNode("rogue", {"member-id": "rogue"}, register=False))
    out = tmp_path / "results"
    with LocalDeployment(tmp_path / "dep", members=members) as dep:
        registered = {m: dep.node_id(m) for m in ("m0", "m1", "m2", "m3")}
        # Assert: TLS on the shared port, four nodes online, the unregistered one refused
        assert "Uvicorn running on https://" in dep.log("superlink")
        assert sorted(dep.nodes().values()) == ["online"] * 4
        assert dep.node_exit_code("rogue", timeout_s=60) == 1
        assert "Failed to activate SuperNode" in dep.log("rogue")
        assert "No SuperNode found with the given public key" in dep.log("superlink")

        # Execute: remove member m3 (its key is unregistered), then try to bring it back
        dep.unregister("m3")
        assert dep.nodes()[registered["m3"]] == "unregistered"
        assert dep.node_exit_code("m3", timeout_s=60) is not None
        dep.start_node("m3")
        assert dep.node_exit_code("m3", timeout_s=60) == 1
        assert "Failed to activate SuperNode" in dep.log("m3")

        # Execute: a SecAgg+ round over whoever is admitted
        run_id = dep.run(TOY_APP, run_config={"rounds": 1, "out-dir": str(out)})
        result = dep.wait(run_id, timeout_s=240)
        pids = dep.pids()

    # Assert: the run used exactly the three remaining members
    assert result.ok, result.log
    assert "Secure aggregation completed" in result.log
    outcome = json.loads((out / f"outcome-{run_id}.json").read_text())
    assert outcome["status"] == "ok"
    assert outcome["members"] == 3
    assert sorted(outcome["nodes"]) == sorted(str(registered[m]) for m in ("m0", "m1", "m2"))
    # ... and aggregated what the one-machine runner aggregates for the same members (plain
    # FedAvg there; SecAgg+ quantisation error is below 1e-4 at these settings)
    local = run_local(
        make_toy_server_app(),
        make_toy_client_app(secure=False),
        nodes={m: {"member-id": m} for m in ("m0", "m1", "m2")},
        run_config={"secure": False, "rounds": 1},
    )
    expected = local.context.state.array_records["toy.global"].to_numpy_ndarrays()
    for got, want in zip(outcome["global"], expected, strict=True):
        np.testing.assert_allclose(np.asarray(got), want.ravel(), atol=1e-4)
    # ... and stopping left no process behind
    assert pids
    assert [p for p in pids if _alive(p)] == []


def test_deployment_reports_a_superlink_that_cannot_start(tmp_path: Path) -> None:
    # Prepare: certificates whose key does not belong to the certificate
    certs = generate_certificates(tmp_path / "a")
    other = generate_certificates(tmp_path / "b")
    os.chmod(certs.server_key, 0o600)
    certs.server_key.write_bytes(other.server_key.read_bytes())
    dep = LocalDeployment(tmp_path / "dep", members=[], certs=certs)
    # Execute / Assert
    with pytest.raises(DeploymentError) as err:
        dep.start()
    assert err.value.subject == "superlink"
    assert err.value.code in ("start-failed", "not-ready")
    assert dep.pids() == []
