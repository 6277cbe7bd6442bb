"""The same seed and scale give byte-identical files; another seed gives other data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from consortium.synth import generate_consortium

Tree = Callable[[Path], dict[str, bytes]]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_same_seed_and_scale_write_identical_bytes(
    tmp_path: Path, read_tree: Tree, file_format: str
) -> None:
    # Prepare
    first, second = tmp_path / "a", tmp_path / "b"

    # Execute
    generate_consortium(first, seed=11, scale=0.02, file_format=file_format)  # type: ignore[arg-type]
    generate_consortium(second, seed=11, scale=0.02, file_format=file_format)  # type: ignore[arg-type]

    # Assert
    a, b = read_tree(first), read_tree(second)
    assert len(a) == 1 + 3 * 7
    assert a == b


def test_different_seeds_give_different_tables(tmp_path: Path, read_tree: Tree) -> None:
    # Prepare
    first, second = tmp_path / "a", tmp_path / "b"

    # Execute
    generate_consortium(first, seed=1, scale=0.02)
    generate_consortium(second, seed=2, scale=0.02)

    # Assert
    a, b = read_tree(first), read_tree(second)
    assert a.keys() == b.keys()
    tables = [name for name in a if name.endswith(".csv")]
    assert len(tables) == 7
    assert all(a[name] != b[name] for name in tables)


def test_regenerating_in_parquet_replaces_the_csv_table(tmp_path: Path) -> None:
    # Prepare
    generate_consortium(tmp_path, seed=3, scale=0.02, file_format="csv")

    # Execute
    summary = generate_consortium(tmp_path, seed=3, scale=0.02, file_format="parquet")

    # Assert
    folder = tmp_path / "members" / "aurora-air"
    assert sorted(p.name for p in folder.iterdir()) == [
        "legs.parquet",
        "member.json",
        "sources.json",
    ]
    assert summary.member("aurora-air").file == "members/aurora-air/legs.parquet"
