from sqlalchemy import inspect
from sqlmodel import select

from models.db import session_scope
from models.tables import AccessRequest, AuditEvent
from tests.models.helpers import bare_request


def test_migrations_create_every_table(engine):
    names = set(inspect(engine).get_table_names())
    assert {"access_request", "request_authorization", "ramq_processing", "human_task", "decision",
            "audit_event", "outbox_email", "account", "used_link"} <= names


def test_datetimes_come_back_timezone_aware(engine):
    with session_scope() as s:
        req = bare_request()
        s.add(req)
        s.flush()
        s.add(AuditEvent(request_id=req.id, actor="test", event="probe"))
        rid = req.id
    with session_scope() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.request_id == rid)).one()
        assert ev.at.tzinfo is not None
        s.delete(ev)
        s.delete(s.get(AccessRequest, rid))
