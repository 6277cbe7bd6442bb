import json
from pathlib import Path

import pytest

from consortium.data import (
    PurposeRefused,
    load_table,
    purposes,
    read_declaration,
    write_declaration,
)
from consortium.errors import ConfigError, ContractViolation, PurposeNotDeclared


def test_vocabulary_comes_from_the_sources_schema() -> None:
    assert purposes() == (
        "eta-training",
        "stock-training",
        "evaluation",
        "query-answering",
        "federated-analytics",
    )


def test_undeclared_purpose_is_refused_naming_what_is_declared(member_dir: Path) -> None:
    with pytest.raises(PurposeNotDeclared) as info:
        load_table(member_dir / "legs.csv", contract="legs", purpose="query-answering")
    assert info.value.purpose == "query-answering"
    assert info.value.declared == ("eta-training", "evaluation")
    assert "sources.json" in info.value.diagnostics()


def test_file_without_manifest_is_refused_with_a_hint(member_dir: Path) -> None:
    # Prepare
    (member_dir / "sources.json").unlink()
    # Execute
    with pytest.raises(PurposeRefused) as info:
        load_table(member_dir / "legs.csv", contract="legs", purpose="eta-training")
    # Assert
    assert info.value.declared == ()
    assert "consortium declare" in info.value.hint


def test_file_not_listed_in_the_manifest_is_refused(member_dir: Path) -> None:
    (member_dir / "legs2.csv").write_bytes((member_dir / "legs.csv").read_bytes())
    with pytest.raises(PurposeNotDeclared):
        load_table(member_dir / "legs2.csv", contract="legs", purpose="eta-training")


def test_contract_mismatch_with_the_manifest_is_refused(member_dir: Path) -> None:
    with pytest.raises(ContractViolation) as info:
        load_table(member_dir / "stock.csv", contract="legs", purpose="eta-training")
    assert info.value.code == "contract-mismatch"


def test_unknown_purpose_is_a_usage_error(member_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_table(member_dir / "legs.csv", contract="legs", purpose="marketing")
    assert info.value.name == "purpose"


def test_explicit_declaration_overrides_the_folder_manifest(
    member_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Prepare: a declaration elsewhere that does not cover this file
    other = tmp_path_factory.mktemp("other")
    write_declaration(
        other, member_id="m2", path="legs.csv", contract="legs", purposes=["evaluation"]
    )
    declaration = read_declaration(other)
    # Execute / Assert
    with pytest.raises(PurposeNotDeclared):
        load_table(
            member_dir / "legs.csv",
            contract="legs",
            purpose="eta-training",
            declaration=declaration,
        )


def test_glob_entry_covers_matching_files(tmp_path: Path) -> None:
    # Prepare
    (tmp_path / "stock").mkdir()
    write_declaration(
        tmp_path, member_id="m1", path="stock/*.csv", contract="stock", purposes=["stock-training"]
    )
    declaration = read_declaration(tmp_path)
    # Execute
    entry = declaration.source_for(tmp_path / "stock" / "2024-03.csv") if declaration else None
    # Assert
    assert entry is not None
    assert entry.purposes == ("stock-training",)
    assert declaration is not None
    assert declaration.source_for(tmp_path / "legs.csv") is None


def test_write_declaration_replaces_the_entry_for_a_path(member_dir: Path) -> None:
    write_declaration(
        member_dir, member_id="m1", path="legs.csv", contract="legs", purposes=["evaluation"]
    )
    declaration = read_declaration(member_dir / "legs.csv")
    assert declaration is not None
    assert [(s.path, s.purposes) for s in declaration.sources] == [
        ("stock.csv", ("stock-training",)),
        ("legs.csv", ("evaluation",)),
    ]


def test_malformed_manifest_is_reported_at_its_json_pointer(tmp_path: Path) -> None:
    # Prepare
    manifest = {
        "schema_version": 1,
        "member_id": "m1",
        "sources": [{"path": "../legs.csv", "contract": "legs", "purposes": ["eta-training"]}],
    }
    (tmp_path / "sources.json").write_text(json.dumps(manifest))
    # Execute
    with pytest.raises(ContractViolation) as info:
        read_declaration(tmp_path / "legs.csv")
    # Assert
    assert [(p.column, p.code) for p in info.value.problems] == [
        ("/sources/0/path", "constraint-error")
    ]
    assert info.value.path == str(tmp_path / "sources.json")


def test_unknown_purpose_cannot_be_declared(tmp_path: Path) -> None:
    with pytest.raises(ContractViolation) as info:
        write_declaration(
            tmp_path, member_id="m1", path="legs.csv", contract="legs", purposes=["advertising"]
        )
    assert info.value.column == "/sources/0/purposes/0"
    assert not (tmp_path / "sources.json").exists()
