"""The SuperNodes a deployment starts: one per member with data for the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from consortium.deployment.nodes import MemberNode, member_nodes
from consortium.errors import ConfigError
from tests.deployment.deploy_fixtures import make_consortium


@pytest.fixture(scope="module")
def consortium_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_consortium(tmp_path_factory.mktemp("consortium"))


def test_member_nodes_come_from_the_members_folder(consortium_dir: Path, tmp_path: Path) -> None:
    # Prepare / Execute
    nodes = member_nodes(consortium_dir, model="eta", state_dir=tmp_path, limit=3, epsilon=4.0)
    # Assert: the carriers with a legs file, sorted by id, each with its own state folder
    assert [n.member for n in nodes] == ["aurora-air", "meridian-line", "rhine-road"]
    first = nodes[0].node_config
    assert first["data-path"] == str((consortium_dir / "members" / "aurora-air").resolve())
    assert first["home"] == str((tmp_path / "aurora-air").resolve())
    assert first["epsilon"] == 4.0
    with pytest.raises(ConfigError, match="no member"):
        member_nodes(tmp_path, model="eta", epsilon=4.0, state_dir=tmp_path)


def test_member_node_refuses_an_invalid_member_id() -> None:
    with pytest.raises(ConfigError, match="member id"):
        MemberNode("Not A Token")
