"""Shared fixtures: a real application database, SQLite always and PostgreSQL too when
``RAMQ_TEST_DATABASE_URL`` is set. Each test session makes its own database and drops it."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.engine import make_url

from models import db as models_db
from models.settings import get_settings

PG_URL = os.environ.get("RAMQ_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _reset_caches() -> None:
    get_settings.cache_clear()
    models_db.get_engine.cache_clear()


def _create_pg_database(base_url: str) -> tuple[str, str]:
    import psycopg

    name = f"ramq_test_{uuid.uuid4().hex[:12]}"
    url = make_url(models_db._normalize_url(base_url))
    with psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        dbname=url.database or "postgres", autocommit=True,
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, url.set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(base_url: str, name: str) -> None:
    import psycopg

    url = make_url(models_db._normalize_url(base_url))
    with psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        dbname=url.database or "postgres", autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated, empty application database of each backend, for the whole session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'app.db'}"
        models_db.upgrade(url)
        yield url
    else:
        name, url = _create_pg_database(PG_URL)
        try:
            models_db.upgrade(url)
            yield url
        finally:
            models_db.get_engine.cache_clear()
            _drop_pg_database(PG_URL, name)


@pytest.fixture
def app_env(database_url, var_dir, monkeypatch) -> str:
    """Points the settings (and so every engine lookup) at the test database."""
    monkeypatch.setenv("RAMQ_DATABASE_URL", database_url)
    monkeypatch.setenv("RAMQ_VAR_DIR", str(var_dir))
    monkeypatch.setenv("RAMQ_ENV", "test")
    _reset_caches()
    yield database_url
    _reset_caches()


@pytest.fixture
def engine(app_env):
    return models_db.get_engine()
