"""A correction that names another authorizer is never silent: the change is audited and the
person first named is told (their link is void)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from flows import api
from models.db import session_scope
from models.tables import AuditEvent, HumanTask, OutboxEmail, utcnow
from notifications.links import make_link_token
from tests.flows.workflow_helpers import unique_request
from tests.models.helpers import resigned


def _sent_back(data: dict) -> tuple[int, str]:
    request_id = api.submit_request(data, actor="test", start=False).request_id
    with session_scope() as s:
        s.add(HumanTask(request_id=request_id, kind="correction", round=1, due_at=utcnow() + timedelta(days=1)))
    return request_id, make_link_token(request_id=request_id, purpose="correct", revision=1).token


def test_a_correction_naming_another_authorizer_tells_the_first_one(app_env):
    data = unique_request()
    former = data["authorizer"]["email"]
    request_id, token = _sent_back(data)
    corrected = dict(data, authorizer=dict(data["authorizer"], first_name="Paul", last_name="Lavoie",
                                           email=former.replace("autorisateur", "autre")))
    api.resubmit_correction(token, resigned(corrected))
    with session_scope() as s:
        events = [e.event for e in s.exec(select(AuditEvent).where(AuditEvent.request_id == request_id))]
        notices = s.exec(select(OutboxEmail).where(OutboxEmail.request_id == request_id,
                                                   OutboxEmail.kind == "authorizer_replaced")).all()
    assert "authorizer_changed" in events
    assert [n.recipient for n in notices] == [former]
    assert "Paul" not in notices[0].body_text  # the new authorizer's name is not given away
    assert "plus la personne désignée" in notices[0].subject


def test_a_correction_keeping_the_authorizer_sends_no_notice(app_env):
    data = unique_request()
    request_id, token = _sent_back(data)
    corrected = dict(data, authorizer=dict(data["authorizer"], email=data["authorizer"]["email"].upper()))
    api.resubmit_correction(token, corrected)
    with session_scope() as s:
        assert not s.exec(select(OutboxEmail).where(OutboxEmail.request_id == request_id,
                                                    OutboxEmail.kind == "authorizer_replaced")).all()
        assert "authorizer_changed" not in [e.event for e in s.exec(
            select(AuditEvent).where(AuditEvent.request_id == request_id))]
