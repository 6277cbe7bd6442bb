"""The coordinator's SuperNode registry refuses what it cannot register, before calling Flower.

Registering and unregistering at a real SuperLink (and the SuperLink refusing an unregistered
member's node) run in ``test_supervisor.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from consortium.deployment import SuperNodeRegistry, generate_node_key, unregister_supernode
from consortium.deployment.flwr_cli import FlwrCli
from consortium.deployment.processes import flower_env
from consortium.errors import ConfigError, DeploymentError
from consortium.identity.keys import generate_key_file


def test_registry_refuses_a_key_that_is_not_a_supernode_key(tmp_path: Path) -> None:
    # Prepare: a member's Ed25519 ledger key, not an EC SuperNode key
    registry = SuperNodeRegistry.at(tmp_path / "flwr-home")
    ledger_key = generate_key_file(tmp_path / "m0.key")
    # Execute / Assert
    with pytest.raises(ConfigError, match="OpenSSH"):
        registry.register("m0", f"ssh-ed25519 {ledger_key.public_key.hex()}")
    assert registry.node_ids() == {}


def test_registry_refuses_a_second_key_and_an_unknown_member(tmp_path: Path) -> None:
    # Prepare: m0's key already registered (as node 7)
    home = tmp_path / "flwr-home"
    home.mkdir()
    (home / "supernodes.json").write_text('{"m0": 7}')
    registry = SuperNodeRegistry.at(home)
    key = generate_node_key(tmp_path / "m0-new.key")
    # Execute / Assert
    with pytest.raises(DeploymentError) as twice:
        registry.register("m0", key.public_key)
    assert twice.value.code == "already-registered"
    with pytest.raises(DeploymentError) as unknown:
        unregister_supernode(home, member="m1")
    assert unknown.value.code == "unknown-member"
    assert registry.node_ids() == {"m0": 7}


def test_flwr_json_is_read_when_the_caller_forces_colour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prepare: a Jupyter kernel's environment forces colour; no connection is configured
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("CLICOLOR_FORCE", "1")
    cli = FlwrCli(tmp_path, timeout_s=60,
                  env=lambda: flower_env(tmp_path, host="127.0.0.1", superexec_poll_s=0.2))
    # Execute: flwr answers in JSON that it failed
    with pytest.raises(DeploymentError) as failed:
        cli.call("supernode", "ls", "nowhere")
    # Assert: the kit read flwr's own error message, not a colour-coded dump
    assert "not found in the Flower configuration file" in failed.value.reason
    assert "\x1b[" not in failed.value.reason
    assert '"success"' not in failed.value.reason
