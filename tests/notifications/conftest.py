"""Fixtures for the notifications tests: a real SMTP server the settings point at, and
application requests to hang outbox rows and used links on."""

from __future__ import annotations

import itertools
import uuid

import pytest

from models.db import session_scope
from models.settings import get_settings
from models.tables import AccessRequest
from tests.smtp_server import SmtpServer, start_smtp_server

_counter = itertools.count(1)


@pytest.fixture
def smtp_server(tmp_path, monkeypatch) -> SmtpServer:
    """A running aiosmtpd server (messages in memory and in ``tmp_path/mail``); the product's
    settings send to it. Stopped after the test."""
    server = start_smtp_server(maildir=tmp_path / "mail")
    try:
        for name, value in {
            "RAMQ_SMTP_HOST": server.host, "RAMQ_SMTP_PORT": str(server.port),
            "RAMQ_SMTP_STARTTLS": "false", "RAMQ_SMTP_TLS": "false",
            "RAMQ_SMTP_USERNAME": "", "RAMQ_SMTP_PASSWORD": "",
            "RAMQ_SMTP_TIMEOUT_SECONDS": "10",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield server
    finally:
        server.stop()
        get_settings.cache_clear()


@pytest.fixture
def make_request(app_env):
    """Factory: store a minimal access request and return its id."""

    def make(**overrides) -> int:
        n = next(_counter)
        values = dict(
            reference=f"T-{uuid.uuid4().hex[:10].upper()}",
            organization_type="establishment", register_scope="all_installations",
            user_first_name="MARIE", user_last_name="TREMBLAY", user_sex="F",
            user_function="AGENTE ADMINISTRATIVE", user_email=f"marie.tremblay{n}@cisss.example.qc.ca",
            user_phone="418 555-0123", establishment_name="CISSS DE LA CAPITALE",
            establishment_number="01234", user_address="1050, CHEMIN SAINTE-FOY",
            user_postal_code="G1S 4L8", applications=["online_payment_authorization"],
            authorizer_first_name="JEAN", authorizer_last_name="GAGNON",
            authorizer_email=f"jean.gagnon{n}@cisss.example.qc.ca",
        )
        values.update(overrides)
        with session_scope() as s:
            req = AccessRequest(**values)
            s.add(req)
            s.flush()
            return req.id

    return make
