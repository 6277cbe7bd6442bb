"""Write the synthetic consortium to disk: one folder per member plus a summary.

Layout under ``out_dir``::

    consortium.json                    seed, scale, date range, members and row counts
    members/<member_id>/legs.csv       carriers (or stock.csv for warehouses; .parquet on request)
    members/<member_id>/sources.json   the member's purpose declaration for its table
    members/<member_id>/member.json    who the member is and how many rows it holds

Nothing written depends on the clock, the output path or dictionary order, so the same seed and
scale give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from consortium.errors import ConfigError
from consortium.synth.legs import generate_legs
from consortium.synth.members import (
    MEMBERS,
    CarrierSpec,
    Kind,
    MemberSpec,
    active_sku_groups,
    carrier_rows,
    check_scale,
)
from consortium.synth.stock import generate_stock
from consortium.synth.world import END, START, World, build_world

logger = logging.getLogger(__name__)

GENERATOR = "consortium.synth"
GENERATOR_VERSION = "1"
SOURCES_SCHEMA_VERSION = 1  # data_schemas/sources.v1.schema.json
FileFormat = Literal["csv", "parquet"]
FILE_FORMATS: tuple[FileFormat, ...] = ("csv", "parquet")
PURPOSES: dict[str, tuple[str, ...]] = {
    "legs": ("eta-training", "evaluation", "query-answering", "federated-analytics"),
    "stock": ("stock-training", "evaluation", "query-answering", "federated-analytics"),
}


@dataclass(frozen=True)
class MemberSummary:
    """One generated member: who it is and what was written for it.

    ``file`` is relative to the output folder, with forward slashes.
    """

    member_id: str
    display_name: str
    kind: Kind
    modes: tuple[str, ...]
    contract: Literal["legs", "stock"]
    rows: int
    file: str


@dataclass(frozen=True)
class ConsortiumSummary:
    """Everything :func:`generate_consortium` wrote, with the facts of ``consortium.json``."""

    out_dir: Path
    seed: int
    scale: float
    file_format: FileFormat
    start: dt.date
    end: dt.date
    members: tuple[MemberSummary, ...]
    generator_version: str = GENERATOR_VERSION

    @property
    def total_rows(self) -> int:
        """Rows over every member."""
        return sum(m.rows for m in self.members)

    def member(self, member_id: str) -> MemberSummary:
        """Return the member with this id; raise ``KeyError`` if there is none."""
        for m in self.members:
            if m.member_id == member_id:
                return m
        raise KeyError(member_id)

    def to_json(self) -> dict[str, object]:
        """Return the content of ``consortium.json`` (no absolute paths, fixed key order)."""
        return {
            "generator": GENERATOR,
            "generator_version": self.generator_version,
            "seed": self.seed,
            "scale": self.scale,
            "file_format": self.file_format,
            "date_range": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "total_rows": self.total_rows,
            "members": [
                {
                    "member_id": m.member_id,
                    "display_name": m.display_name,
                    "kind": m.kind,
                    "modes": list(m.modes),
                    "contract": m.contract,
                    "rows": m.rows,
                    "file": m.file,
                }
                for m in self.members
            ],
        }


def generate_consortium(
    out_dir: Path,
    *,
    seed: int = 7,
    scale: float = 1.0,
    file_format: FileFormat = "csv",
    on_progress: Callable[[int, int], None] | None = None,
) -> ConsortiumSummary:
    """Generate the synthetic consortium under ``out_dir`` and return what was written.

    Parameters
    ----------
    out_dir
        Output folder; created if missing. Existing member files of this layout are replaced.
    seed
        Seed of the world and of every member (a non-negative integer).
    scale
        Multiplies the carriers' row counts (1.0: about 60k road legs down to 1.1k air legs);
        warehouses always keep two years of daily rows and report fewer SKU groups below 1.
    file_format
        ``"csv"`` or ``"parquet"``; timestamps are ISO 8601 text with offsets in both.
    on_progress
        Called with ``(members done, members total)`` after each member.

    Returns
    -------
    ConsortiumSummary
        The seed, scale, date range and every member's kind, rows and file.

    Raises
    ------
    ConfigError
        If ``seed``, ``scale`` or ``file_format`` is invalid.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     summary = generate_consortium(Path(tmp), seed=7, scale=0.01)
    ...     (Path(tmp) / "members" / "rhine-road" / "legs.csv").exists()
    True
    >>> summary.member("rhine-road").rows
    600
    """
    _check_arguments(seed, scale, file_format)
    world = build_world(seed)
    out_dir = Path(out_dir)
    members: list[MemberSummary] = []
    for done, spec in enumerate(MEMBERS, start=1):
        frame = _member_frame(world, spec, scale)
        members.append(_write_member(out_dir, spec, frame, file_format))
        logger.info("wrote %s: %d rows", members[-1].file, members[-1].rows)
        if on_progress is not None:
            on_progress(done, len(MEMBERS))
    summary = ConsortiumSummary(
        out_dir=out_dir,
        seed=seed,
        scale=float(scale),
        file_format=file_format,
        start=START,
        end=END,
        members=tuple(members),
    )
    _write_json(out_dir / "consortium.json", summary.to_json())
    return summary


def _check_arguments(seed: int, scale: float, file_format: str) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("seed", f"must be a non-negative integer, got {seed!r}")
    check_scale(scale)
    if file_format not in FILE_FORMATS:
        allowed = ", ".join(FILE_FORMATS)
        raise ConfigError("file_format", f"must be one of {allowed}, got {file_format!r}")


def _member_frame(world: World, spec: MemberSpec, scale: float) -> pd.DataFrame:
    if isinstance(spec, CarrierSpec):
        return generate_legs(world, spec, carrier_rows(spec, scale))
    return generate_stock(world, spec, active_sku_groups(spec, scale))


def _write_member(
    out_dir: Path, spec: MemberSpec, frame: pd.DataFrame, file_format: FileFormat
) -> MemberSummary:
    contract: Literal["legs", "stock"] = "legs" if isinstance(spec, CarrierSpec) else "stock"
    folder = out_dir / "members" / spec.member_id
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{contract}.{file_format}"
    for other in FILE_FORMATS:  # a stale table in the other format would contradict sources.json
        stale = folder / f"{contract}.{other}"
        if other != file_format and stale.exists():
            stale.unlink()
    if file_format == "csv":
        frame.to_csv(folder / name, index=False, lineterminator="\n")
    else:
        frame.to_parquet(folder / name, index=False, engine="pyarrow")
    summary = MemberSummary(
        member_id=spec.member_id,
        display_name=spec.display_name,
        kind=spec.kind,
        modes=tuple(spec.modes),
        contract=contract,
        rows=len(frame),
        file=f"members/{spec.member_id}/{name}",
    )
    sources = {
        "schema_version": SOURCES_SCHEMA_VERSION,
        "member_id": spec.member_id,
        "sources": [{"path": name, "contract": contract, "purposes": list(PURPOSES[contract])}],
    }
    member = {
        "member_id": spec.member_id,
        "display_name": spec.display_name,
        "kind": spec.kind,
        "modes": list(spec.modes),
        "rows": len(frame),
        "file": name,
    }
    if isinstance(spec, CarrierSpec):
        member["carrier"] = spec.carrier_code
    else:
        member["location"] = spec.location
        member["warehouse_id"] = spec.warehouse_id
    _write_json(folder / "sources.json", sources)
    _write_json(folder / "member.json", member)
    return summary


def _write_json(path: Path, content: dict[str, object]) -> None:
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
