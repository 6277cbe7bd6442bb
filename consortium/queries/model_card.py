"""One model directory's card, as written: what a member's notebook shows after a run.

See :mod:`consortium.queries.models` for the headline facts of every card under a folder.

Examples
--------
>>> import pathlib, tempfile
>>> model_dir = pathlib.Path(tempfile.mkdtemp())
>>> _ = (model_dir / "model_card.json").write_text('{"kind": "eta", "name": "federated-dp-eta"}')
>>> read_model_card(model_dir)["name"]
'federated-dp-eta'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consortium.models.store import read_card


def read_model_card(model_dir: Path) -> dict[str, Any]:
    """Return the model card of ``model_dir`` (``model_card.json``) as a plain mapping.

    Raises
    ------
    ModelError
        If the card is missing or malformed.
    """
    return read_card(Path(model_dir))
