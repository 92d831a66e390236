from sqlalchemy import inspect
from sqlmodel import select

from models.db import session_scope
from models.tables import AccessRequest, AuditEvent


def test_migrations_create_every_table(engine):
    names = set(inspect(engine).get_table_names())
    assert {"access_request", "request_authorization", "ramq_processing", "human_task", "decision",
            "audit_event", "outbox_email", "account", "used_link"} <= names


def test_datetimes_come_back_timezone_aware(engine):
    with session_scope() as s:
        req = AccessRequest(
            organization_type="establishment", register_scope="all_installations",
            user_first_name="A", user_last_name="B", user_sex="F", user_function="F",
            user_email="a@b.example", user_phone="418 555-0123", establishment_name="E",
            establishment_number="01234", user_address="X", user_postal_code="G1S 4L8",
            authorizer_first_name="C", authorizer_last_name="D", authorizer_email="c@d.example",
        )
        s.add(req)
        s.flush()
        s.add(AuditEvent(request_id=req.id, actor="test", event="probe"))
        rid = req.id
    with session_scope() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.request_id == rid)).one()
        assert ev.at.tzinfo is not None
        s.delete(ev)
        s.delete(s.get(AccessRequest, rid))
