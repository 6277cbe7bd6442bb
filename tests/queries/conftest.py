"""Fixtures of the projection tests: one filled coordinator database per backend."""

from __future__ import annotations

import pytest

from tests.queries.world import Models, World, build_world, shared_models, world_url


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    return shared_models(tmp_path_factory)


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, models: Models, tmp_path_factory: pytest.TempPathFactory
) -> World:
    """A filled coordinator database (read-only for the tests that use it)."""
    root = tmp_path_factory.mktemp(f"world-{request.param}")
    return build_world(world_url(request, root), models, root)
