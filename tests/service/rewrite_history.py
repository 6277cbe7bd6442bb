"""A dishonest coordinator rewrites its history, in ITS OWN process (the onboarding test).

Opens the coordinator's database and key (as only its machine can), re-signs entry ``SEQ`` with
another payload, stores it with its new leaf hash and publishes a signed tree head over the
rewritten ledger: every signature verifies, only the members' kept heads can tell.

Usage: ``python tests/service/rewrite_history.py DB KEY_DIR SEQ``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import update

from consortium.identity.keys import load_signer
from consortium.ledger.canonical import parse_time
from consortium.ledger.entry import sign_entry
from consortium.ledger.models import EntryRow
from consortium.ledger.store import load_entries, publish_checkpoint
from consortium.service.state import key_path, open_stores


def main(db: str, key_dir: str, seq: int) -> None:
    """Rewrite entry ``seq`` and publish a head over the result."""
    coordinator = load_signer(key_path(Path(key_dir)))
    with open_stores(db).begin() as s:
        old = load_entries(s, start=seq, stop=seq + 1)[0]
        payload = {**old.payload_object(), "rewritten": 1}
        forged = sign_entry(seq=seq, moment=parse_time(old.time), kind=old.kind, payload=payload,
                            signer=coordinator)  # fmt: skip
        s.execute(update(EntryRow).where(EntryRow.seq == seq).values(
            payload=forged.payload.decode(), signature=forged.signature,
            leaf_hash=forged.leaf_hash()))  # fmt: skip
        publish_checkpoint(s, signer=coordinator)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
