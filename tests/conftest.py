"""Shared fixtures: a real application database, SQLite always and PostgreSQL too when
``RAMQ_TEST_DATABASE_URL`` is set. Each test session makes its own database and drops it."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Prefect reads its settings once, at import: point it at the test server before anything
# imports it (the server itself starts lazily, once per session, when a test needs it).
from flows.stack import Stack, free_port  # noqa: E402  (imports no Prefect)

PREFECT_HOME = Path(tempfile.mkdtemp(prefix="ramq-test-prefect-"))
PREFECT_PORT = free_port()
# The test server requires authentication like `make run`'s: every client must carry it.
PREFECT_AUTH = f"ramq-test:{uuid.uuid4().hex}"
os.environ.update({
    "PREFECT_API_AUTH_STRING": PREFECT_AUTH,
    "PREFECT_SERVER_API_AUTH_STRING": PREFECT_AUTH,
    "PREFECT_HOME": str(PREFECT_HOME),
    "PREFECT_API_URL": f"http://127.0.0.1:{PREFECT_PORT}/api",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOCAL_STORAGE_PATH": str(PREFECT_HOME / "storage"),
    "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "RAMQ_ENV": "test",
})

import signal  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402


def _interrupt(signum, frame):
    raise KeyboardInterrupt  # pytest then tears the fixtures down: no server is left behind


signal.signal(signal.SIGTERM, _interrupt)

from models import db as models_db  # noqa: E402
from models.settings import get_settings  # noqa: E402

PG_URL = os.environ.get("RAMQ_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _reset_caches() -> None:
    """Forgets the settings and disposes the engines, so the next lookup reads the environment."""
    get_settings.cache_clear()
    models_db.dispose_engines()


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
            models_db.dispose_engines()
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


# --- The real stack: Prefect server, SMTP server (aiosmtpd), runner --------------------------------


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory) -> Iterator[Stack]:
    """One real Prefect server (SQLite, temporary PREFECT_HOME) for the whole test session."""
    stack = Stack(var_dir=tmp_path_factory.mktemp("stack"), prefect_port=PREFECT_PORT)
    stack.start(("prefect",), timeout=180)
    yield stack
    stack.stop()
    shutil.rmtree(PREFECT_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory):
    """A real SMTP server (aiosmtpd) whose received messages the tests read."""
    from tests.smtp_server import start_smtp_server

    server = start_smtp_server(maildir=tmp_path_factory.mktemp("maildir"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def runner(database_url, prefect_server, smtp_server, tmp_path_factory) -> Iterator[Stack]:
    """The runner serving the deployment, on the session's application database.

    Its scheduled sweeper is slowed to once an hour: over a long session it would otherwise
    start a flow process every 30 s and restart every run other tests left behind (on two
    cores, that load made late tests time out). Tests sweep their own requests explicitly; the
    stack tests in tests/faults run the scheduled sweeper at its real pace."""
    var_dir = tmp_path_factory.mktemp("runner-var")
    stack = Stack(var_dir=var_dir, prefect_port=PREFECT_PORT, smtp_port=smtp_server.port,
                  extra_env={"RAMQ_DATABASE_URL": database_url, "RAMQ_ENV": "test",
                             "RAMQ_DEPLOYMENT_NAME": _deployment_for(database_url),
                             "RAMQ_SWEEP_EVERY_SECONDS": "3600"})
    stack.start(("runner",), timeout=180)
    yield stack
    stack.stop()


def _deployment_for(database_url: str) -> str:
    """One deployment per backend's runner: a runner never picks up another database's runs."""
    return f"access-request/test-{make_url(database_url).get_backend_name()}"


@pytest.fixture
def live(app_env, runner, smtp_server, monkeypatch):
    """Everything a workflow test needs: test DB, Prefect server and runner, SMTP server."""
    monkeypatch.setenv("RAMQ_DEPLOYMENT_NAME", _deployment_for(app_env))
    monkeypatch.setenv("RAMQ_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("RAMQ_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("RAMQ_VAR_DIR", str(runner.var_dir))
    _reset_caches()
    return runner
