"""What `make install` leaves: the packages compiled to bytecode, so that no process (a flow
run's, the Prefect server's, a test's) compiles their sources again when it imports them (on a
machine that writes no bytecode at import, each flow run compiled graphviz and SQLAlchemy's
dialects, a third of its CPU)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


@pytest.mark.parametrize("module", ["prefect.flow_engine", "graphviz", "sqlalchemy.dialects.sqlite.aiosqlite",
                                    "pydantic_settings.main", "streamlit"])
def test_installed_packages_are_compiled(module):
    source = importlib.util.find_spec(module).origin
    assert source and source.endswith(".py")
    assert Path(importlib.util.cache_from_source(source)).exists(), f"{module} is not compiled"
