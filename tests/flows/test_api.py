"""The human-step API on its own (no flow run attached: the decision is stored, the resume is
left for when the run exists)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from flows import api
from flows.errors import ActionError
from models.db import session_scope
from models.tables import Authorization, Decision, HumanTask, utcnow
from notifications.links import make_link_token
from tests.flows.workflow_helpers import DATA, section3


def _stored(data: dict) -> int:
    return api.submit_request(data, actor="test", start=False).request_id


def _authorizer_task(request_id: int, round: int = 1) -> None:
    with session_scope() as s:
        s.add(HumanTask(request_id=request_id, kind="authorizer", round=round,
                        due_at=utcnow() + timedelta(days=1)))


def _paper_request() -> dict:
    data = json.loads((DATA / "request-gmf.json").read_text())
    tag = uuid.uuid4().hex[:8]
    data["user"]["email"] = f"usager.{tag}@gmf.example.qc.ca"
    data["authorizer"]["email"] = f"medecin.{tag}@gmf.example.qc.ca"
    return data


def test_signing_through_the_link_replaces_a_paper_section3(app_env):
    data = _paper_request()
    assert data["authorization"] is not None
    request_id = _stored(data)
    _authorizer_task(request_id)
    token = make_link_token(request_id=request_id, purpose="authorize", revision=1).token
    new = section3(data)
    new["function"] = "Médecin responsable"
    decision_id = api.authorizer_decide(token, outcome="authorize", section3=new)
    with session_scope() as s:
        rows = s.exec(select(Authorization).where(Authorization.request_id == request_id)).all()
        assert len(rows) == 1 and rows[0].function == "MÉDECIN RESPONSABLE"
        assert s.get(Decision, decision_id).outcome == "authorize"


def test_invalid_section3_stores_nothing(app_env):
    data = _paper_request()
    data["authorization"] = None
    request_id = _stored(data)
    _authorizer_task(request_id)
    token = make_link_token(request_id=request_id, purpose="authorize", revision=1).token
    bad = section3(data)
    bad["role"] = "dsp"  # not allowed for a GMF
    with pytest.raises(ActionError) as err:
        api.authorizer_decide(token, outcome="authorize", section3=bad)
    assert err.value.code == "invalid_form" and "role_not_allowed" in {e.code for e in err.value.errors}
    with session_scope() as s:
        assert s.exec(select(Decision).where(Decision.request_id == request_id)).first() is None
    api.open_link(token, purpose="authorize")  # the link still works


@pytest.mark.parametrize("make, code", [
    (lambda rid: make_link_token(request_id=rid, purpose="authorize", revision=1,
                                 ttl=timedelta(seconds=-1)).token, "link_expired"),
    (lambda rid: make_link_token(request_id=rid, purpose="correct", revision=1).token, "wrong_purpose"),
    (lambda rid: make_link_token(request_id=rid, purpose="authorize", revision=2).token, "link_void"),
    (lambda rid: make_link_token(request_id=rid + 10**6, purpose="authorize", revision=1).token, "link_invalid"),
    (lambda rid: make_link_token(request_id=rid, purpose="authorize", revision=1).token[:-3] + "abc", "link_invalid"),
])
def test_bad_links_are_refused(app_env, make, code):
    data = _paper_request()
    data["authorization"] = None
    request_id = _stored(data)
    _authorizer_task(request_id)
    with pytest.raises(ActionError) as err:
        api.open_link(make(request_id), purpose="authorize")
    assert err.value.code == code
    assert err.value.message("fr") and err.value.message("en")
