"""What a finished ``consortium demo`` run must show: its output and the folder it wrote.

Shared by the plain demo test (``tests/cli/test_demo.py``) and the demo's egress audit under
strace (``tests/federation/test_egress.py``): wherever strace works the demo runs once, traced,
and both sets of checks apply to that run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from consortium.cli.main import app
from consortium.identity.keys import load_signer
from consortium.ledger.export import read_export
from consortium.ledger.requests import embedded_request


def check_demo_run(output: str, out: Path) -> None:
    """Assert what a demo run printed (``output``) and wrote under ``out``."""
    # Assert: every step ran, on a ledger anyone can verify
    assert "dropped outside the contract: internal_note" in output
    export = read_export(out / "ledger-export.json")
    kinds = [e.kind for e in export.entries]
    assert kinds.count("member-admitted") == 7
    assert kinds.count("round-completed") + kinds.count("round-failed") == 2  # 1 round x 2 models
    assert "points-minted" in kinds
    assert kinds.count("proposal-executed") == 2  # the fee and the treasurer
    assert kinds.count("query-answered") >= 1  # the lane query (a warehouse may decline)
    for model in ("eta", "stock"):
        card = json.loads((out / "federation" / model / "model" / "model_card.json").read_text())
        assert card["federation"]["secure_aggregation"].startswith("SecAgg+")
        for member, spent in card["privacy"]["epsilon_spent"].items():
            assert spent <= 8.0 + 1e-9, member
    assert "the lane fee in force is now 12 points" in output
    assert "lane query answered for 12 points" in output
    verify = CliRunner().invoke(
        app, ["ledger", "verify", "--export", str(out / "ledger-export.json")]
    )
    assert verify.exit_code == 0, verify.output

    # Assert: each actor signed with the key in its own folder, and the service countersigned
    keys = out / "keys"
    member_keys = {load_signer(f / "member.key").key_id: f.name for f in keys.glob("*/")
                   if (f / "member.key").exists()}  # fmt: skip
    assert len(member_keys) == 7
    voters = [embedded_request(e.kind, e.payload) for e in export.entries if e.kind == "vote-cast"]
    assert len(voters) == 14  # 7 members x 2 proposals
    assert {member_keys[r.actor_key_id] for r in voters if r is not None} == set(
        member_keys.values()
    )
    owner = load_signer(keys / "cargo-owner" / "cargo-owner.key").key_id
    treasurer = load_signer(keys / "treasurer" / "treasurer.key").key_id
    signed = {e.kind: embedded_request(e.kind, e.payload) for e in export.entries}
    assert signed["points-deposited"] is not None
    assert signed["points-deposited"].actor_key_id == treasurer
    assert [e for e in export.entries if e.kind == "query-answered"][0].payload_object()[
        "issuer_key_id"
    ] == owner
    assert list(out.rglob("coordinator.key")) == [out / "coordinator" / "keys" / "coordinator.key"]
    assert output.count("witness: head of") == 7

    # Assert: the service is stopped, and the dashboards are shown against its URL
    url = re.search(r"coordinator service starting at (https://127\.0\.0\.1:\d+)", output)
    assert url is not None
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url[1]}/v1/health", verify=False, timeout=2)
    for folder, key in (("cargo-owner", "cargo-owner.key"), ("meridian-line", "member.key")):
        assert f"--coordinator {url[1]} --pin " in output
        assert f"--ca {keys / folder / 'ca.pem'}" in output
        assert f"its own key file: {keys / folder / key}" in output

