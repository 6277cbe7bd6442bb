"""Where a member keeps its rows: one contract file, or a folder holding one file per contract.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "stock.csv").write_text("warehouse_id")
>>> member_data_file(folder, contract="stock").name
'stock.csv'
>>> member_data_file(folder, contract="legs")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
consortium.errors.ConfigError: invalid data-path: ... holds no legs file
"""

from __future__ import annotations

from pathlib import Path

from consortium.errors import ConfigError

__all__ = ["DATA_SUFFIXES", "member_data_file"]

DATA_SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".parquet", ".pq")
"""File endings a member's contract file may have."""


def member_data_file(path: Path, *, contract: str) -> Path:
    """Return the member's file for ``contract``: ``path`` itself or the contract's file inside it.

    Raises
    ------
    ConfigError
        ``data-path``: a folder without a file for ``contract``.
    """
    path = Path(path)
    if path.is_file():
        return path
    for suffix in DATA_SUFFIXES:
        candidate = path / f"{contract}{suffix}"
        if candidate.is_file():
            return candidate
    raise ConfigError("data-path", f"{path} holds no {contract} file")
