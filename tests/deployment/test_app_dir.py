"""Flower's config files and the kit's Flower App manifest."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consortium.deployment.app_dir import toml_table
from consortium.errors import ConfigError


def test_toml_table_round_trips_through_tomllib() -> None:
    # Prepare
    values = {"member-id": 'm-"1"', "data-path": "/data/a b\\c", "rounds": 2, "eps": 0.5,
              "secure": False}  # fmt: skip
    # Execute
    parsed = tomllib.loads(toml_table(values))
    # Assert
    assert parsed == values
    with pytest.raises(ConfigError, match="finite"):
        toml_table({"epsilon": float("inf")})
    with pytest.raises(ConfigError, match="letters"):
        toml_table({"a b": 1})


def test_kit_app_is_a_manifest_flower_builds_into_a_fab(tmp_path: Path) -> None:
    import typer
    from flwr.cli.build import build_fab_from_disk

    from consortium.cli.federation import register
    from consortium.federation.instructions import RunConfig

    # Prepare
    app = typer.Typer()
    register(app)
    # Execute
    result = CliRunner().invoke(app, ["federation", "app", "--out", str(tmp_path / "app")])
    manifest = tomllib.loads((tmp_path / "app" / "pyproject.toml").read_text())
    fab = build_fab_from_disk(tmp_path / "app")
    # Assert: the components are the installed kit's apps; the defaults are the ServerApp's
    assert result.exit_code == 0, result.output
    flwr_app = manifest["tool"]["flwr"]["app"]
    assert flwr_app["components"] == {
        "serverapp": "consortium.federation.server_app:app",
        "clientapp": "consortium.federation.client_app:app",
    }
    config = RunConfig.from_config(flwr_app["config"])
    assert config == RunConfig(out_dir=config.out_dir)
    assert len(fab) < 10_000  # the FAB carries the manifest only, no code
