"""Fixtures of the fault suite: each test gets a lab (see harness.py) on a fresh SQLite
application database, the embedded default. The Prefect server is the session's; a test that
kills it starts it again on the same port and database before it ends."""

from __future__ import annotations

import uuid

import pytest

from flows.stack import Stack
from models import db as models_db
from models.settings import get_settings
from tests.faults.harness import Lab
from tests.smtp_server import start_smtp_server


def _reset_caches() -> None:
    get_settings.cache_clear()
    models_db.dispose_engines()


@pytest.fixture
def lab(prefect_server, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    models_db.upgrade(url)
    smtp = start_smtp_server()
    deployment = f"access-request/faults-{uuid.uuid4().hex[:8]}"
    env = {"RAMQ_DATABASE_URL": url, "RAMQ_ENV": "test", "RAMQ_DEPLOYMENT_NAME": deployment,
           "RAMQ_VAR_DIR": str(tmp_path), "RAMQ_SMTP_HOST": "127.0.0.1", "RAMQ_SMTP_PORT": str(smtp.port),
           # the lab's supervisor sweeps every 2 s; the served schedule stays out of the way
           "RAMQ_SWEEP_EVERY_SECONDS": "3600"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    _reset_caches()
    runner = Stack(var_dir=tmp_path, prefect_port=prefect_server.prefect_port, smtp_port=smtp.port,
                   extra_env=env)
    runner.start(("runner",), timeout=180)
    the_lab = Lab(runner=runner, prefect=prefect_server, smtp=smtp, database_url=url, deployment=deployment)
    the_lab.start_supervisor()
    try:
        yield the_lab
    finally:
        the_lab.stop_supervisor()
        runner.stop()
        smtp.stop()
        if not prefect_server.alive().get("prefect"):
            the_lab.start_prefect()  # the next tests need it
        _reset_caches()
