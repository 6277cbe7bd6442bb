"""The coordinator's federation records two ETA rounds, run in ITS OWN process.

What the ServerApp's recorder writes on the coordinator's database after each round
(:class:`consortium.contributions.recording.LedgerRecorder`: a ``round-completed`` entry with
each member's examples and ε spent, and the round's contribution points), then a signed tree
head. Run by the URL-mode dashboard tests, whose process (the clients) never reads the
coordinator key or the database.

Usage: ``python tests/dashboards/operator_rounds.py DB_URL KEY_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from consortium.contributions.recording import LedgerRecorder
from consortium.identity.keys import load_signer
from consortium.ledger.store import publish_checkpoint
from consortium.rounds import RoundReport
from consortium.service.state import key_path, open_stores

EXAMPLES = {"alpha": 120, "beta": 80, "gamma": 40}
EPSILON_PER_ROUND = {"alpha": 0.8, "beta": 0.6, "gamma": 0.9}


def main(database_url: str, key_dir: str) -> None:
    """Record rounds 1 and 2 of run ``dashboard`` and publish a head."""
    coordinator = load_signer(key_path(Path(key_dir)))
    factory = open_stores(database_url)
    recorder = LedgerRecorder(factory, coordinator)
    for server_round in (1, 2):
        recorder.record_round(RoundReport(
            model="eta", server_round=server_round, status="ok", members_total=3,
            members_aggregated=3, examples=dict(EXAMPLES),
            epsilon_spent={m: e * server_round for m, e in EPSILON_PER_ROUND.items()},
            model_version=f"{server_round:02d}" * 32, run_id="dashboard",
        ))  # fmt: skip
    with factory.begin() as session:
        publish_checkpoint(session, signer=coordinator)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
