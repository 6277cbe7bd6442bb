"""A dishonest coordinator rewrites its history, in ITS OWN process (the onboarding test).

``rewrite DB KEY_DIR SEQ SAVED``: opens the coordinator's database and key (as only its machine
can), saves entry ``SEQ`` to ``SAVED``, re-signs it with another payload, stores it with its new
leaf hash and publishes a signed tree head over the rewritten ledger: every signature verifies,
only the members' kept heads can tell.

``restore DB KEY_DIR SEQ SAVED``: puts the saved entry back and deletes the heads published
since, so the service shared with other tests is honest again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sqlalchemy import delete, select, update

from consortium.identity.keys import load_signer
from consortium.ledger.canonical import parse_time
from consortium.ledger.entry import sign_entry
from consortium.ledger.models import CheckpointRow, EntryRow
from consortium.ledger.store import publish_checkpoint
from consortium.service.state import key_path, open_stores


def rewrite(db: str, key_dir: str, seq: int, saved: Path) -> None:
    """Rewrite entry ``seq`` and publish a head over the result."""
    coordinator = load_signer(key_path(Path(key_dir)))
    with open_stores(db).begin() as s:
        row = s.get(EntryRow, seq)
        assert row is not None
        last_head = s.execute(select(CheckpointRow.id).order_by(CheckpointRow.id.desc())).first()
        saved.write_text(json.dumps({
            "payload": row.payload, "signature": bytes(row.signature).hex(),
            "leaf_hash": bytes(row.leaf_hash).hex(), "last_head": last_head[0] if last_head else 0,
        }))  # fmt: skip
        payload = {**json.loads(row.payload), "rewritten": 1}
        forged = sign_entry(seq=seq, moment=parse_time(row.time), kind=row.kind, payload=payload,
                            signer=coordinator)  # fmt: skip
        s.execute(update(EntryRow).where(EntryRow.seq == seq).values(
            payload=forged.payload.decode(), signature=forged.signature,
            leaf_hash=forged.leaf_hash()))  # fmt: skip
        publish_checkpoint(s, signer=coordinator)


def restore(db: str, seq: int, saved: Path) -> None:
    """Put entry ``seq`` back as saved and drop the heads published after the saved one."""
    old = json.loads(saved.read_text())
    with open_stores(db).begin() as s:
        s.execute(update(EntryRow).where(EntryRow.seq == seq).values(
            payload=old["payload"], signature=bytes.fromhex(old["signature"]),
            leaf_hash=bytes.fromhex(old["leaf_hash"])))  # fmt: skip
        s.execute(delete(CheckpointRow).where(CheckpointRow.id > old["last_head"]))


if __name__ == "__main__":
    action, db, key_dir, seq, saved = sys.argv[1:6]
    if action == "rewrite":
        rewrite(db, key_dir, int(seq), Path(saved))
    else:
        restore(db, int(seq), Path(saved))
