"""Attack 2: whoever reaches the Prefect API. The server requires authentication; a resume that
does not carry a stored decision of the task the run waits on is ignored (recorded), the run
waits again, and the real decision made afterwards still moves the request on."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from uuid import UUID

import pytest
from sqlmodel import select

from flows import api
from flows.recovery import read_run_states
from models.db import session_scope
from models.tables import AccessRequest, Decision, SecurityEvent
from tests.flows.workflow_helpers import mail, open_task, section3, token_in, unique_request, wait_until

pytestmark = pytest.mark.workflow
# The session's runner also serves other tests' runs: under load a resumed run may queue a while.
STEP = 240


def test_the_prefect_server_refuses_a_client_without_the_auth_string(prefect_server):
    url = f"{prefect_server.api_url}/flow_runs/filter"
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    assert os.environ["PREFECT_API_AUTH_STRING"]  # every component of ours carries it


def test_a_forged_resume_is_ignored_and_the_real_decision_still_counts(live, smtp_server):
    from prefect.client.orchestration import get_client

    data = unique_request()
    sub = api.submit_request(data, actor="test")
    token = token_in(mail(smtp_server, data["authorizer"]["email"], "autorisation est requise",
                          timeout=STEP)[-1])
    task_id = open_task(sub.request_id, "authorizer", timeout=STEP)
    with session_scope() as s:
        run_id = s.get(AccessRequest, sub.request_id).flow_run_id
    state = lambda: read_run_states([run_id])[run_id]  # noqa: E731
    wait_until(lambda: state().state_type == "PAUSED", timeout=STEP, what="the run waits for its authorizer")

    with get_client(sync_client=True) as client:  # the attacker: any decision id
        answer = client.resume_flow_run(UUID(run_id), run_input={"decision_id": 987654321})
    assert answer.status.value == "ACCEPT"  # Prefect cannot tell: the flow must

    def ignored():
        with session_scope() as s:
            return s.exec(select(SecurityEvent).where(SecurityEvent.kind == "resume",
                                                      SecurityEvent.request_id == sub.request_id)).first()
    event = wait_until(ignored, timeout=STEP, what="the forged resume recorded")
    assert event.code == "no_stored_decision" and event.detail["decision_id"] == 987654321
    wait_until(lambda: state().state_type == "PAUSED" and state().state_name == "Suspended",
               timeout=STEP, what="the run waiting again")
    with session_scope() as s:
        assert s.exec(select(Decision).where(Decision.request_id == sub.request_id)).first() is None
    assert state().state_type == "PAUSED"

    api.authorizer_decide(token, outcome="authorize", section3=section3(data))
    open_task(sub.request_id, "respondent", timeout=STEP)  # the real decision moved the request on
    with session_scope() as s:
        assert s.get(AccessRequest, sub.request_id).status == "awaiting_respondent"
    assert task_id
