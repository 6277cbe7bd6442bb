"""Canonical bytes, timestamps and checkpoint text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from consortium.errors import VerificationError
from consortium.ledger.canonical import EncodingError, format_time, signing_bytes
from consortium.ledger.checkpoint import Checkpoint
from consortium.ledger.entry import sign_entry
from consortium.ledger.merkle import EMPTY_ROOT
from consortium.ledger.signing import Signer

SIGNER = Signer.generate()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=100)
@given(
    payload=st.dictionaries(st.text(max_size=6), json_values, max_size=4), seq=st.integers(0, 2**40)
)
def test_spliced_signing_bytes_equal_rfc8785_of_the_whole_entry(
    payload: dict[str, object], seq: int
) -> None:
    time = "2026-03-01T12:00:00.000000Z"
    body = rfc8785.dumps(payload)
    spliced = signing_bytes(seq=seq, time=time, kind="k-1", payload=body, actor=SIGNER.key_id)
    whole = rfc8785.dumps({"seq": seq, "time": time, "kind": "k-1", "payload": payload,
                           "actor": SIGNER.key_id})  # fmt: skip
    assert spliced == whole


def test_naive_times_are_refused_and_aware_times_normalised_to_utc() -> None:
    with pytest.raises(EncodingError):
        format_time(datetime(2026, 1, 1))  # noqa: DTZ001
    cet = timezone(timedelta(hours=1))
    assert format_time(datetime(2026, 1, 1, 13, tzinfo=cet)) == "2026-01-01T12:00:00.000000Z"
    entry = sign_entry(
        seq=0, moment=datetime(2026, 1, 1, 13, tzinfo=cet), kind="k", payload={}, signer=SIGNER
    )
    assert entry.timestamp == datetime(2026, 1, 1, 12, tzinfo=UTC)


@settings(max_examples=150, deadline=None)
@given(position=st.integers(0, 10_000), value=st.integers(0, 255))
def test_any_one_byte_change_to_a_checkpoint_is_detected(position: int, value: int) -> None:
    # Prepare
    cp = Checkpoint.sign(
        size=42, root=EMPTY_ROOT, moment=datetime(2026, 1, 1, tzinfo=UTC), signer=SIGNER
    )
    raw = bytearray(cp.to_text().encode())
    position %= len(raw)
    if raw[position] == value:
        value ^= 0x01
    raw[position] = value
    # Execute / Assert: it either no longer parses, or no longer verifies, or is not the same head
    try:
        parsed = Checkpoint.from_text(raw.decode())
        parsed.verify(SIGNER.public_key)
    except (VerificationError, UnicodeDecodeError):
        return
    assert parsed == cp, "a changed checkpoint verified"
    raise AssertionError("a changed checkpoint parsed back unchanged")  # pragma: no cover


def test_checkpoint_round_trips_through_text() -> None:
    cp = Checkpoint.sign(
        size=7, root=bytes(range(32)), moment=datetime(2026, 1, 1, tzinfo=UTC), signer=SIGNER
    )
    assert Checkpoint.from_text(cp.to_text()) == cp
    assert json.loads(json.dumps(cp.to_text())) == cp.to_text()


def test_every_single_bit_flip_of_a_checkpoint_is_detected() -> None:
    cp = Checkpoint.sign(
        size=5, root=EMPTY_ROOT, moment=datetime(2026, 1, 1, tzinfo=UTC), signer=SIGNER
    )
    text = cp.to_text().encode()
    undetected = []
    for position in range(len(text)):
        for bit in range(8):
            raw = bytearray(text)
            raw[position] ^= 1 << bit
            try:
                Checkpoint.from_text(raw.decode()).verify(SIGNER.public_key)
            except (VerificationError, UnicodeDecodeError):
                continue
            undetected.append((position, bit))
    assert undetected == []
