"""Attacks on the staff side (already refused): staff pages without a login, a manager (or an
operator) trying a respondent's actions, a respondent processing a request in which they are the
user or the authorizer. Real database, real app under Streamlit's AppTest, real API. (The
development mailbox « Courriels » is covered by tests/security/test_safe_defaults.py and
tests/ui/test_emails.py.)"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from flows import api
from flows.errors import ActionError
from tests.security.attack_helpers import last_event_id, one_event, open_tasks, snapshot, staff_account
from tests.ui.conftest import (
    ROOT,
    TIMEOUT,
    authorized_request,
    nav_error,
    request_row,
    texts,
)
from ui.common import STAFF_KEY

SECTION4 = {"username": "attaque01", "valid_from": "2026-01-01", "valid_until": "2027-01-01"}


def _refused(request_id: int, action, code: str, *, kind: str, actor: str) -> None:
    before = snapshot(request_id)
    marker = last_event_id()
    with pytest.raises(ActionError) as err:
        action()
    assert err.value.code == code
    assert snapshot(request_id) == before  # no claim, no decision, no section 4, task open
    one_event(marker, kind=kind, code=code, request_id=request_id, actor=actor)


@pytest.mark.parametrize("page", ["work_queue.py", "runs.py"])
def test_staff_pages_without_a_login_show_no_data(app, page):
    sub, _ = authorized_request()
    reference = request_row(sub.request_id).reference
    for state in ({}, {STAFF_KEY: 10**9}):  # nobody; a forged or revoked account id
        at = app(state=state)
        assert nav_error(at, page)  # not in the navigation: cannot be opened, whatever the URL
        assert reference not in texts(at)
    # The page checks the login itself too: run on its own, it stops before reading anything.
    alone = AppTest.from_file(str(ROOT / "ui" / "screens" / page), default_timeout=TIMEOUT).run()
    assert not alone.exception
    assert reference not in texts(alone) and not alone.dataframe
    assert any("personnel" in str(w.value) for w in alone.warning)


def test_a_respondent_cannot_open_the_managers_page_nor_a_manager_the_queue(app):
    respondent, manager = staff_account("respondent"), staff_account("manager")
    assert nav_error(app(state={STAFF_KEY: respondent["id"]}), "runs.py")
    assert nav_error(app(state={STAFF_KEY: manager["id"]}), "work_queue.py")


@pytest.mark.parametrize("role", ["manager", "operator"])
def test_a_manager_cannot_act_as_a_respondent(app_env, role):
    sub, task_id = authorized_request()
    who = staff_account(role)["username"]
    rid = sub.request_id
    _refused(rid, lambda: api.claim_task(task_id, staff=who), "not_allowed", kind="claim_task", actor=who)
    _refused(rid, lambda: api.respondent_decide(task_id, staff=who, outcome="approve", section4=SECTION4),
             "not_allowed", kind="respondent_decide", actor=who)
    _refused(rid, lambda: api.respondent_decide(task_id, staff=who, outcome="refuse", reason="Non"),
             "not_allowed", kind="respondent_decide", actor=who)
    _refused(rid, lambda: api.unclaim_task(task_id, staff=who), "not_allowed", kind="unclaim_task", actor=who)
    assert open_tasks(rid) == [("respondent", 1)]


def test_an_unknown_or_disabled_staff_cannot_act(app_env):
    from models.db import session_scope
    from models.tables import Account

    sub, task_id = authorized_request()
    _refused(sub.request_id, lambda: api.claim_task(task_id, staff="inconnu"), "not_allowed",
             kind="claim_task", actor="inconnu")
    staff = staff_account("respondent")
    with session_scope() as s:
        s.get(Account, staff["id"]).disabled = True
    _refused(sub.request_id, lambda: api.claim_task(task_id, staff=staff["username"]), "not_allowed",
             kind="claim_task", actor=staff["username"])


@pytest.mark.parametrize("who", ["user", "authorizer"])
def test_a_respondent_cannot_process_a_request_in_which_they_are_named(app_env, who):
    sub, task_id = authorized_request()
    req = request_row(sub.request_id)
    email = req.user_email if who == "user" else req.authorizer_email
    local, domain = email.split("@")
    staff = staff_account("respondent", email=f"{local.upper()}+ramq@{domain}")["username"]
    rid = sub.request_id
    _refused(rid, lambda: api.claim_task(task_id, staff=staff), "conflict_of_interest",
             kind="claim_task", actor=staff)
    _refused(rid, lambda: api.respondent_decide(task_id, staff=staff, outcome="approve", section4=SECTION4),
             "conflict_of_interest", kind="respondent_decide", actor=staff)
    assert open_tasks(rid) == [("respondent", 1)]


def test_a_respondent_named_like_the_user_cannot_process_the_request(app_env):
    sub, task_id = authorized_request()
    req = request_row(sub.request_id)
    staff = staff_account("respondent", display_name=f"{req.user_first_name.title()} "
                                                     f"{req.user_last_name.lower()}")["username"]
    _refused(sub.request_id, lambda: api.claim_task(task_id, staff=staff), "conflict_of_interest",
             kind="claim_task", actor=staff)


def test_a_respondent_cannot_decide_a_task_claimed_by_another(app_env):
    sub, task_id = authorized_request()
    first, second = staff_account("respondent")["username"], staff_account("respondent")["username"]
    api.claim_task(task_id, staff=first)
    _refused(sub.request_id, lambda: api.respondent_decide(task_id, staff=second, outcome="refuse",
                                                           reason="Non"),
             "not_claimed_by_you", kind="respondent_decide", actor=second)
    _refused(sub.request_id, lambda: api.unclaim_task(task_id, staff=second), "not_claimed_by_you",
             kind="unclaim_task", actor=second)
