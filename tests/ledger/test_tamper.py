"""Every tamper mode in tests/ledger/vectors/ is detected and named (one JSON vector per mode)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from consortium import errors
from consortium.db import create_schema, make_engine, make_session_factory
from consortium.identity.registry import bootstrap_coordinator, register_key
from consortium.ledger.audit import export_ledger
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import Entry, sign_entry
from consortium.ledger.export import LedgerExport, read_export, write_export
from consortium.ledger.keyring import Role
from consortium.ledger.merkle import MerkleTree
from consortium.ledger.signing import Signer
from consortium.ledger.store import append_entry, publish_checkpoint
from consortium.ledger.verify import verify_log
from tests.store_fixtures import at

VECTORS = sorted((Path(__file__).parent / "vectors").glob("*.json"))


@dataclasses.dataclass
class Log:
    coordinator: Signer
    member: Signer
    data: LedgerExport


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Log:
    """Eight entries by a coordinator and a member, tree heads at sizes 4 and 8."""
    coordinator, member = Signer.generate(), Signer.generate()
    engine = make_engine("sqlite://")
    create_schema(engine)
    with make_session_factory(engine).begin() as s:
        bootstrap_coordinator(s, coordinator=coordinator)
        register_key(s, public_key=member.public_key, role=Role.MEMBER, signer=coordinator)
        append_entry(s, kind="round-closed", payload={"round": 1, "model_hash": "aa" * 32},
                     signer=coordinator)  # fmt: skip
        append_entry(
            s, kind="proposal-created", payload={"round": 1, "rows": 120}, signer=member
        )
        publish_checkpoint(s, signer=coordinator, moment=at(4))
        append_entry(s, kind="proposal-canceled", payload={"amount": 10, "dst": coordinator.key_id},
                     signer=member)  # fmt: skip
        append_entry(s, kind="vote-cast", payload={"proposal": 1, "choice": "yes"}, signer=member)
        append_entry(
            s, kind="proposal-created", payload={"round": 2, "rows": 99}, signer=member
        )
        append_entry(s, kind="round-closed", payload={"round": 2, "model_hash": "bb" * 32},
                     signer=coordinator)  # fmt: skip
        publish_checkpoint(s, signer=coordinator, moment=at(8))
        path = tmp_path_factory.mktemp("export") / "ledger.jsonl"
        export_ledger(s, path)
    return Log(coordinator, member, read_export(path))


def _rewrite(log: Log, index: int) -> tuple[list[Entry], Checkpoint]:
    old = log.data.entries[index]
    forged = sign_entry(seq=index, moment=old.timestamp, kind=old.kind,
                        payload={"round": 1, "model_hash": "cc" * 32},
                        signer=log.coordinator)  # fmt: skip
    entries = [*log.data.entries[:index], forged, *log.data.entries[index + 1 :]]
    tree = MerkleTree(e.leaf_hash() for e in entries)
    head = Checkpoint.sign(size=tree.size, root=tree.root(), moment=at(100), signer=log.coordinator)
    return entries, head


def _tamper(log: Log, vector: dict[str, object]) -> tuple[LedgerExport, list[Checkpoint]]:
    entries, heads = list(log.data.entries), list(log.data.heads)
    mode, i = vector["mode"], vector.get("entry")
    assert i is None or isinstance(i, int)
    witnessed: list[Checkpoint] = []
    if mode == "payload-byte":
        assert i is not None
        entries[i] = dataclasses.replace(
            entries[i], payload=entries[i].payload.replace(b":10", b":19")
        )
    elif mode == "removed-entry":
        del entries[i]  # type: ignore[arg-type]
    elif mode == "reordered-entries":
        assert i is not None
        entries[i], entries[i + 1] = entries[i + 1], entries[i]
    elif mode == "forged-signature":
        assert i is not None
        entries[i] = dataclasses.replace(
            entries[i], signature=Signer.generate().sign(entries[i].signing_bytes())
        )
    elif mode == "swapped-signature":
        assert i is not None
        a, b = entries[i], entries[i + 2]
        entries[i], entries[i + 2] = (
            dataclasses.replace(a, signature=b.signature),
            dataclasses.replace(b, signature=a.signature),
        )
    elif mode == "renumbered-entry":
        assert i is not None
        entries[i] = dataclasses.replace(entries[i], seq=60)
    elif mode == "truncated-log":
        entries.pop()
    elif mode == "tampered-head":
        last = heads[-1]
        heads[-1] = dataclasses.replace(last, root=bytes([last.root[0] ^ 1]) + last.root[1:])
    elif mode == "rewritten-history-old-heads":
        assert i is not None
        entries, head = _rewrite(log, i)
        heads.append(head)
    elif mode == "rewritten-history-new-head":
        assert i is not None
        entries, head = _rewrite(log, i)
        witnessed, heads = [log.data.heads[0]], [head]
    elif mode == "unregistered-actor":
        assert i is not None
        stranger = Signer.generate()
        e = entries[i]
        entries[i] = sign_entry(seq=e.seq, moment=e.timestamp, kind=e.kind,
                                payload=e.payload_object(), signer=stranger)  # fmt: skip
    else:
        assert mode == "happy-path", f"unknown mode {mode}"
    return LedgerExport(entries, dict(log.data.keys), heads), witnessed


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_tamper_vector_is_detected_and_named(path: Path, log: Log, tmp_path: Path) -> None:
    # Prepare: apply the vector's mutation and round-trip through an export file
    vector = json.loads(path.read_text())
    tampered, witnessed = _tamper(log, vector)
    out = tmp_path / "tampered.jsonl"
    write_export(out, entries=tampered.entries, keys=tampered.keys, heads=tampered.heads)
    data = read_export(out)

    # Execute
    def run() -> object:
        return verify_log(data.entries, heads=data.heads, witnessed=witnessed, keys=data.keys)

    # Assert
    if vector["want_err"] is None:
        assert run().size == len(log.data.entries)  # type: ignore[attr-defined]
        return
    with pytest.raises(getattr(errors, vector["want_err"])) as err:
        run()
    assert err.value.index == vector["want_index"], str(err.value)
    assert vector["want_reason"] in str(err.value)


def test_vectors_cover_every_required_tamper_mode() -> None:
    modes = {json.loads(p.read_text())["mode"] for p in VECTORS}
    assert {"payload-byte", "removed-entry", "reordered-entries", "forged-signature",
            "swapped-signature", "rewritten-history-new-head", "happy-path"} <= modes  # fmt: skip
    for p in VECTORS:
        vector = json.loads(p.read_text())
        assert vector["desc"]
        assert "want_err" in vector


def test_parallel_verification_names_the_same_first_failure(log: Log) -> None:
    # Prepare: enough entries for several chunks, with a forged signature in the middle
    entries = list(log.data.entries)
    entries[6] = dataclasses.replace(entries[6], signature=bytes(64))
    # Execute / Assert
    with pytest.raises(errors.VerificationError) as err:
        verify_log(entries, heads=log.data.heads, workers=2)
    assert err.value.index == 6
