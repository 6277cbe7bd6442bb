import shutil
from pathlib import Path

import pytest

from consortium.config import REPO_ROOT
from consortium.data import write_declaration

EXAMPLES = REPO_ROOT / "data_schemas" / "examples"


@pytest.fixture
def member_dir(tmp_path: Path) -> Path:
    """A member folder with the valid examples declared for training."""
    shutil.copy(EXAMPLES / "legs.valid.csv", tmp_path / "legs.csv")
    shutil.copy(EXAMPLES / "stock.valid.csv", tmp_path / "stock.csv")
    write_declaration(
        tmp_path,
        member_id="m1",
        path="legs.csv",
        contract="legs",
        purposes=["eta-training", "evaluation"],
    )
    write_declaration(
        tmp_path, member_id="m1", path="stock.csv", contract="stock", purposes=["stock-training"]
    )
    return tmp_path
