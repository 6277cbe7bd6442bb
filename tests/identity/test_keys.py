"""Key files: 0600, passphrase-protected, refused when too open, never overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from consortium.cli.main import app
from consortium.identity.keys import (
    KeyFileError,
    generate_key_file,
    load_public_key,
    load_signer,
    public_key_path,
)
from consortium.ledger.signing import key_id_for, verify_signature


def test_new_key_file_is_0600_and_loads_only_with_its_passphrase(tmp_path: Path) -> None:
    # Prepare / Execute
    path = tmp_path / "home" / "member.key"
    signer = generate_key_file(path, passphrase=b"s3cret passphrase")
    # Assert
    assert path.stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    loaded = load_signer(path, passphrase=b"s3cret passphrase")
    assert loaded.key_id == signer.key_id
    verify_signature(signer.public_key, loaded.sign(b"m"), b"m")
    with pytest.raises(KeyFileError, match="passphrase is required"):
        load_signer(path)
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_signer(path, passphrase=b"guess")


def test_public_key_file_gives_the_key_id(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    signer = generate_key_file(path)
    assert key_id_for(load_public_key(public_key_path(path))) == signer.key_id


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    generate_key_file(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="too open"):
        load_signer(path)


def test_existing_key_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.key"
    generate_key_file(path)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        generate_key_file(path)
    assert path.read_bytes() == before


def test_cli_keys_new_prompts_for_a_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "cli.key"
    result = CliRunner().invoke(app, ["keys", "new", "--out", str(path)], input="pw-123\npw-123\n")
    assert result.exit_code == 0, result.output
    signer = load_signer(path, passphrase=b"pw-123")
    assert signer.key_id in result.output
