import sys
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboards.context import parse_args
from tests.dashboards.conftest import RUN_TIMEOUT_S, VIEWS


def _show_config() -> None:
    import streamlit as st

    from dashboards.context import load_config

    config = load_config()
    st.text(config.database_url)
    st.text(str(config.models_dir))
    st.text(str(config.members_dir))


def test_parse_args_takes_only_the_dashboards_options() -> None:
    args = parse_args(["-q", "--db", "sqlite:///c.db", "--members", "m", "--coordinator-key", "k"])
    assert args == {"database_url": "sqlite:///c.db", "members_dir": "m", "coordinator_key": "k"}
    assert parse_args(["--mod", "x", "-p", "no:cacheprovider"]) == {}  # no abbreviations


def test_arguments_win_over_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare
    monkeypatch.setattr(sys, "argv", ["app.py", "--db", "sqlite:///from-argv.db"])
    at = AppTest.from_function(_show_config, default_timeout=RUN_TIMEOUT_S)
    at.secrets["database_url"] = "sqlite:///from-secrets.db"
    at.secrets["models_dir"] = "/srv/models"
    # Execute
    at.run()
    # Assert
    assert [t.value for t in at.text] == ["sqlite:///from-argv.db", "/srv/models", "None"]


def test_the_environment_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: settings are read once per process, so start from an empty resource cache
    monkeypatch.setattr(sys, "argv", ["app.py"])
    monkeypatch.setenv("CONSORTIUM_DATABASE_URL", "sqlite:///from-env.db")
    st.cache_resource.clear()
    at = AppTest.from_function(_show_config, default_timeout=RUN_TIMEOUT_S)
    at.secrets["members_dir"] = "/srv/consortium"  # never the real secrets.toml
    # Execute
    at.run()
    st.cache_resource.clear()
    # Assert
    assert [t.value for t in at.text] == ["sqlite:///from-env.db", "None", "/srv/consortium"]


def test_a_database_without_a_ledger_is_explained(tmp_path: Path) -> None:
    at = AppTest.from_file(str(VIEWS / "overview.py"), default_timeout=RUN_TIMEOUT_S)
    at.secrets["database_url"] = f"sqlite:///{tmp_path / 'empty.db'}"
    at.run()
    assert not at.exception
    assert "holds no ledger yet" in at.warning[0].value
    assert not at.title


def test_an_unsupported_database_url_is_explained() -> None:
    at = AppTest.from_file(str(VIEWS / "ledger.py"), default_timeout=RUN_TIMEOUT_S)
    at.secrets["database_url"] = "mysql://coordinator@localhost/consortium"
    at.run()
    assert not at.exception
    assert "invalid database_url" in at.error[0].value
    assert "coordinator@localhost" not in at.error[0].value  # the URL stays out of the page
