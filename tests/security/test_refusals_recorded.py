"""Every refused action of the human-step API leaves a security event (what was tried, by whom,
on which request when the link or the task says so), and nothing else: the action's own
transaction rolled back. A plain typo in a form (``invalid_form``, a missing reason) is not an
attack and is not recorded."""

from __future__ import annotations

import pytest

from flows import api
from flows.errors import ActionError
from models.enums import TaskKind
from tests.security.attack_helpers import (
    events_since,
    last_event_id,
    one_event,
    snapshot,
    staff_account,
)
from tests.ui.conftest import authorized_request, open_task, request_data, section3, submit, token


def test_a_refused_link_is_recorded_with_its_request(app_env):
    sub = submit()
    open_task(sub.request_id, TaskKind.authorizer)
    link = token(sub.request_id, purpose="correct")
    before = snapshot(sub.request_id)
    marker = last_event_id()
    with pytest.raises(ActionError) as err:
        api.authorizer_decide(link, outcome="refuse", reason="Inconnu")
    assert err.value.code == "wrong_purpose"
    one_event(marker, kind="authorizer_decide", code="wrong_purpose", request_id=sub.request_id,
              actor="autorisateur")
    assert snapshot(sub.request_id) == before


def test_a_forged_link_is_recorded_without_a_request(app_env):
    marker = last_event_id()
    with pytest.raises(ActionError):
        api.open_link("x.y.z", purpose="authorize")
    one_event(marker, kind="open_link", code="link_invalid", request_id=None)


def test_a_refused_staff_action_is_recorded_with_the_staff_and_the_request(app_env):
    sub, task_id = authorized_request()
    manager = staff_account("manager")
    marker = last_event_id()
    with pytest.raises(ActionError) as err:
        api.claim_task(task_id, staff=manager["username"])
    assert err.value.code == "not_allowed"
    one_event(marker, kind="claim_task", code="not_allowed", request_id=sub.request_id,
              actor=manager["username"])


def test_a_typo_is_not_a_security_event(app_env):
    sub = submit()
    open_task(sub.request_id, TaskKind.authorizer)
    marker = last_event_id()
    with pytest.raises(ActionError) as err:
        api.authorizer_decide(token(sub.request_id), outcome="refuse", reason="  ")
    assert err.value.code == "reason_required"
    bad = request_data()
    bad["user"]["email"] = "pas-une-adresse"
    with pytest.raises(ActionError) as err:
        api.submit_request(bad, start=False)
    assert err.value.code == "invalid_form"
    assert events_since(marker) == []
    # ...and the same link still works afterwards.
    api.authorizer_decide(token(sub.request_id), outcome="authorize", section3=section3())


def test_the_error_is_re_raised_unchanged(app_env):
    with pytest.raises(ActionError) as err:
        api.unclaim_task(10**9, staff="personne")
    assert err.value.code == "not_allowed" and err.value.message("fr")
