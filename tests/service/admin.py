"""The coordinator operator's admin steps for the loopback test, run in ITS OWN process.

Reads the coordinator key and database (as only the coordinator's machine may): admits the
founding members, registers the cargo owner, records one training round's contribution points
and credits the cargo owner through a treasurer key this process makes for itself. The test
process (the clients) never reads the coordinator key or the database.

Usage: ``python tests/service/admin.py PLAN.json`` with ``{"db", "key_dir", "members":
{id: public key hex}, "cargo_owner": hex, "points": {id: n}, "credit": n, "treasurer_key": path}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from consortium.identity.keys import generate_key_file, load_signer
from consortium.identity.registry import register_key
from consortium.ledger.keyring import Role
from consortium.ledger.signing import key_id_for
from consortium.ledger.store import publish_checkpoint
from consortium.membership import admit_member
from consortium.points.accounts import cargo_account, member_account
from consortium.points.store import deposit, mint_contributions
from consortium.service.state import key_path, open_stores


def main(plan_file: str) -> None:
    """Run the plan."""
    plan = json.loads(Path(plan_file).read_text())
    coordinator = load_signer(key_path(Path(plan["key_dir"])))
    treasurer = generate_key_file(Path(plan["treasurer_key"]))
    owner = bytes.fromhex(plan["cargo_owner"])
    with open_stores(plan["db"]).begin() as s:
        for member, public_key in plan["members"].items():
            admit_member(s, member=member, public_key=bytes.fromhex(public_key),
                         signer=coordinator)  # fmt: skip
        register_key(s, public_key=owner, role=Role.CARGO_OWNER, signer=coordinator)
        register_key(s, public_key=treasurer.public_key, role=Role.TREASURER, signer=coordinator)
        mint_contributions(
            s, awards={member_account(m): n for m, n in plan["points"].items()},
            refs={"model": "eta", "round": 1}, signer=coordinator,
        )  # fmt: skip
        deposit(s, account=cargo_account(key_id_for(owner)), amount=plan["credit"],
                external_ref="INV-0001", signer=treasurer)  # fmt: skip
        publish_checkpoint(s, signer=coordinator)


if __name__ == "__main__":
    main(sys.argv[1])
