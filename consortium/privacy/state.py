"""Where a member keeps its state: with its data, never under a run's output folder.

A member's state folder holds its privacy accountant (the ε it has spent, summed over every round
and run), the tree heads it has witnessed and its own models (``<state>/models/<kind>/``). It lives
with the member, so that a new output folder, a new run or a new coordinator cannot reset its ε:

* ``MEMBERS/<member>/.consortium/`` when the member's data is a folder;
* ``MEMBERS/.consortium/<member>/`` when it is a single file (``MEMBERS/<member>.csv``);
* ``DIR/<member>`` when ``--state DIR`` overrides both.

Examples
--------
>>> from pathlib import Path
>>> folder, file = Path("members/rhine-road"), Path("members/rhine-road.csv")
>>> member_state_dir(folder, member="rhine-road", is_folder=True).as_posix()
'members/rhine-road/.consortium'
>>> member_state_dir(file, member="rhine-road", is_folder=False).as_posix()
'members/.consortium/rhine-road'
>>> member_state_dir(folder, member="rhine-road", state_dir=Path("/srv/state")).as_posix()
'/srv/state/rhine-road'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["STATE_FOLDER", "member_state_dir"]

STATE_FOLDER = ".consortium"
"""Name of the state folder beside (or inside) a member's data."""


def member_state_dir(
    data_path: Path,
    *,
    member: str,
    state_dir: Path | None = None,
    is_folder: bool | None = None,
) -> Path:
    """Return the state folder of ``member``, whose data is at ``data_path``.

    Parameters
    ----------
    data_path : Path
        The member's data: a folder (one file per contract) or a single contract file.
    member : str
        The member id.
    state_dir : Path | None
        ``--state DIR``: the state goes to ``DIR/<member>`` instead.
    is_folder : bool | None
        Whether ``data_path`` is a folder; ``None`` asks the file system.

    Returns
    -------
    Path
        ``state_dir/<member>``, ``<data_path>/.consortium`` or
        ``<data_path's folder>/.consortium/<member>`` (see the module docstring).
    """
    if state_dir is not None:
        return Path(state_dir) / member
    data_path = Path(data_path)
    folder = data_path.is_dir() if is_folder is None else is_folder
    if folder:
        return data_path / STATE_FOLDER
    return data_path.parent / STATE_FOLDER / member
