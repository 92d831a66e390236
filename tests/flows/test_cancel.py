"""Cancelling a request before it is approved (issue 10, item 5): the user from the link of the
confirmation email, or RAMQ staff (a respondent, a manager or an operator) with a reason. The
cancellation is a decision on the request's open step, whichever it is, so it races an approval
like any decision: one wins. The run then closes the request (``cancelled``), ends in Prefect's
``Cancelled`` state, tells the user and the authorizer once each, and is never restarted."""

from __future__ import annotations

import functools
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import select

from flows import api
from flows.errors import ActionError
from flows.status import open_status
from flows.sweeper import sweep
from models.db import session_scope
from models.enums import RequestStatus, TaskKind
from models.settings import get_settings
from models.tables import AccessRequest, AuditEvent, Decision, HumanTask, OutboxEmail, SecurityEvent, utcnow
from notifications.links import make_link_token, read_link_token
from tests.ui.conftest import (
    approved_request,
    authorized_request,
    open_task,
    request_data,
    staff_account,
    submit,
)


def cancel_token(request_id: int, **kw) -> str:
    return make_link_token(request_id=request_id, purpose="cancel", **kw).token


def refused(code: str, fn, *args, **kwargs) -> None:
    with pytest.raises(ActionError) as err:
        fn(*args, **kwargs)
    assert err.value.code == code, err.value.code
    assert err.value.message("fr") != code and err.value.message("en") != code  # a real message


def race(**calls) -> dict[str, object]:
    """Runs the calls at once (one thread each, released together): each one's result, or the
    code of its refusal."""
    barrier = threading.Barrier(len(calls))
    results: dict[str, object] = {}

    def run(name, fn):
        barrier.wait()
        try:
            results[name] = fn()
        except ActionError as exc:
            results[name] = exc.code

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return results


def decision_of(task_id: int) -> Decision | None:
    with session_scope() as s:
        return s.exec(select(Decision).where(Decision.task_id == task_id)).first()


def events(request_id: int) -> list[AuditEvent]:
    with session_scope() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.request_id == request_id)
                           .order_by(AuditEvent.id)).all())


def set_status(request_id: int, status: RequestStatus) -> None:
    with session_scope() as s:
        req = s.get(AccessRequest, request_id)
        req.status = status.value
        s.add(req)


# --- Who may cancel ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["respondent", "manager", "operator"])
def test_staff_of_these_roles_cancel_with_a_reason(app_env, role):
    sub = submit()
    task_id = open_task(sub.request_id, TaskKind.authorizer)
    staff = staff_account(role)["username"]
    refused("reason_required", api.cancel_request, sub.request_id, staff=staff, reason="  ")
    assert decision_of(task_id) is None
    api.cancel_request(sub.request_id, staff=staff, reason="Demande présentée en double.")
    decision = decision_of(task_id)
    assert decision.outcome == "cancel" and decision.actor == staff
    assert decision.reason == "Demande présentée en double."
    last = events(sub.request_id)[-1]
    assert last.event == "authorizer_cancel" and last.actor == staff
    assert last.detail["cancel_reason"] == "Demande présentée en double."


@pytest.mark.parametrize("role", ["soes", None])
def test_a_soes_or_an_unknown_account_may_not_cancel(app_env, role):
    sub = submit()
    task_id = open_task(sub.request_id, TaskKind.authorizer)
    staff = staff_account(role)["username"] if role else "personne-inconnue"
    refused("not_allowed", api.cancel_request, sub.request_id, staff=staff, reason="Non.")
    assert decision_of(task_id) is None
    with session_scope() as s:  # the refusal is recorded
        assert s.exec(select(SecurityEvent).where(SecurityEvent.kind == "cancel_request",
                                                  SecurityEvent.request_id == sub.request_id,
                                                  SecurityEvent.code == "not_allowed")).first()


def test_staff_never_cancel_a_request_they_are_party_to(app_env):
    data = request_data()
    sub = submit(data)
    open_task(sub.request_id, TaskKind.authorizer)
    staff = staff_account("manager", email=data["authorizer"]["email"].upper())["username"]
    refused("conflict_of_interest", api.cancel_request, sub.request_id, staff=staff, reason="Non.")


def test_the_users_link_cancels_once(app_env):
    sub = submit()
    task_id = open_task(sub.request_id, TaskKind.authorizer)
    token = cancel_token(sub.request_id)
    view = api.open_cancel_link(token)  # opening decides nothing
    assert (view.reference, view.status, view.refusal) == (sub.reference, "awaiting_authorizer", None)
    assert decision_of(task_id) is None
    api.cancel_by_user(token)
    decision = decision_of(task_id)
    assert (decision.outcome, decision.actor, decision.reason) == ("cancel", "utilisateur", None)
    assert events(sub.request_id)[-1].actor == "utilisateur"
    # Twice: refused, whether the run closed the request already or not.
    assert api.open_cancel_link(token).refusal == "already_closed"
    refused("already_closed", api.cancel_by_user, token, reason="encore")
    set_status(sub.request_id, RequestStatus.cancelled)
    refused("already_closed", api.cancel_by_user, token)
    refused("already_closed", api.cancel_request, sub.request_id, staff=staff_account()["username"],
            reason="Aussi.")


def test_other_links_do_not_cancel_and_the_cancel_link_does_nothing_else(app_env):
    sub = submit()
    open_task(sub.request_id, TaskKind.authorizer)
    status = make_link_token(request_id=sub.request_id, purpose="status").token
    authorize = make_link_token(request_id=sub.request_id, purpose="authorize", revision=1).token
    cancel = cancel_token(sub.request_id)
    refused("wrong_purpose", api.cancel_by_user, status)
    refused("wrong_purpose", api.cancel_by_user, authorize)
    refused("wrong_purpose", api.open_cancel_link, status)
    refused("wrong_purpose", api.open_link, cancel, purpose="authorize")
    refused("wrong_purpose", api.authorizer_decide, cancel, outcome="refuse", reason="x")
    with pytest.raises(ActionError) as err:
        open_status(cancel)
    assert err.value.code == "wrong_purpose"
    expired = cancel_token(sub.request_id, ttl=timedelta(seconds=-5))
    refused("link_expired", api.cancel_by_user, expired)
    refused("link_invalid", api.cancel_by_user, cancel[:-3] + ("aaa" if cancel[-3:] != "aaa" else "bbb"))
    refused("link_invalid", api.cancel_by_user, cancel_token(2_000_000_000))  # no such request


def test_the_cancel_link_lives_as_long_as_the_status_link(app_env):
    sub = submit()
    claims = read_link_token(cancel_token(sub.request_id), purpose="cancel")
    assert claims.revision is None  # a correction keeps it
    days = (claims.expires_at - utcnow()).total_seconds() / 86400
    assert abs(days - get_settings().status_link_days) < 0.01


# --- Each open step takes the cancellation -------------------------------------------------------


@pytest.mark.parametrize("kind", [TaskKind.authorizer, TaskKind.respondent, TaskKind.correction])
def test_the_open_step_whatever_it_is_takes_the_cancellation(app_env, kind):
    sub = submit()
    task_id = open_task(sub.request_id, kind)
    api.cancel_by_user(cancel_token(sub.request_id), reason="Je n'en ai plus besoin.")
    with session_scope() as s:
        assert s.get(HumanTask, task_id).status == "done"
    assert decision_of(task_id).outcome == "cancel"
    assert events(sub.request_id)[-1].event == f"{kind}_cancel"
    assert events(sub.request_id)[-1].detail["cancel_reason"] == "Je n'en ai plus besoin."


def test_a_respondents_claimed_task_and_its_decision_after_the_cancellation(app_env):
    sub, task_id = authorized_request()
    respondent = staff_account()["username"]
    api.claim_task(task_id, staff=respondent)
    api.cancel_request(sub.request_id, staff=staff_account("manager")["username"], reason="Doublon.")
    refused("task_closed", api.respondent_decide, task_id, staff=respondent, outcome="refuse", reason="x")


def test_awaiting_countersign_may_still_be_cancelled_but_not_once_countersigned(app_env):
    sub, countersign_task, respondent = approved_request()
    api.cancel_request(sub.request_id, staff=respondent["username"], reason="Le poste est aboli.")
    assert decision_of(countersign_task).outcome == "cancel"

    sub, countersign_task, _ = approved_request()
    soes = staff_account("soes")["username"]
    api.claim_task(countersign_task, staff=soes)
    api.countersign_decide(countersign_task, staff=soes, outcome="countersign")
    # Countersigned: approved for good, even before the run moves on to issue the credentials.
    refused("too_late_to_cancel", api.cancel_by_user, cancel_token(sub.request_id))
    refused("too_late_to_cancel", api.cancel_request, sub.request_id, staff=staff_account()["username"],
            reason="Trop tard.")


@pytest.mark.parametrize("status", [RequestStatus.issuing_credentials, RequestStatus.completed])
def test_refused_once_approved(app_env, status):
    sub = submit()
    set_status(sub.request_id, status)
    refused("too_late_to_cancel", api.cancel_by_user, cancel_token(sub.request_id))
    assert api.open_cancel_link(cancel_token(sub.request_id)).refusal == "too_late_to_cancel"


@pytest.mark.parametrize("status", [RequestStatus.refused_by_authorizer, RequestStatus.refused_by_ramq,
                                    RequestStatus.expired])
def test_refused_once_closed(app_env, status):
    sub = submit()
    set_status(sub.request_id, status)
    refused("already_closed", api.cancel_by_user, cancel_token(sub.request_id))


def test_between_two_steps_the_person_is_asked_to_retry(app_env):
    sub = submit()  # stored, its run has not opened the authorizer's step yet
    refused("cancel_retry_later", api.cancel_by_user, cancel_token(sub.request_id))
    sub, task_id = authorized_request()  # the authorizer's step decided, the respondent's opened…
    with session_scope() as s:  # …but not yet
        s.delete(s.get(HumanTask, task_id))
    refused("cancel_retry_later", api.cancel_request, sub.request_id, staff=staff_account()["username"],
            reason="Doublon.")


def test_cancel_and_approve_racing_one_wins(app_env):
    """The user cancels while the respondent approves, many times over: each time exactly one
    decision is stored and the other gets a clear refusal."""
    respondent = staff_account()["username"]
    for _ in range(6):
        sub, task_id = authorized_request()
        api.claim_task(task_id, staff=respondent)
        section4 = api.proposed_section4(task_id)
        token = cancel_token(sub.request_id)
        results = race(cancel=functools.partial(api.cancel_by_user, token),
                       approve=functools.partial(api.respondent_decide, task_id, staff=respondent,
                                                 outcome="approve", section4=section4))
        won = [name for name, result in results.items() if isinstance(result, int)]
        assert len(won) == 1, results
        loser = next(result for result in results.values() if not isinstance(result, int))
        assert loser in ("task_closed", "cancel_retry_later", "too_late_to_cancel"), results
        with session_scope() as s:
            decisions = s.exec(select(Decision).where(Decision.request_id == sub.request_id,
                                                      Decision.task_id == task_id)).all()
        assert [d.outcome for d in decisions] == ["cancel" if won == ["cancel"] else "approve"]


def test_cancelling_twice_at_once_stores_one_cancellation(app_env):
    sub = submit()
    task_id = open_task(sub.request_id, TaskKind.authorizer)
    token = cancel_token(sub.request_id)
    staff = staff_account()["username"]
    results = list(race(user=lambda: api.cancel_by_user(token),
                        ramq=lambda: api.cancel_request(sub.request_id, staff=staff, reason="Doublon.")).values())
    assert [r for r in results if isinstance(r, str)] == ["already_closed"]
    assert sum(isinstance(r, int) for r in results) == 1
    assert decision_of(task_id).outcome == "cancel"
    with session_scope() as s:
        assert not s.exec(select(OutboxEmail).where(OutboxEmail.request_id == sub.request_id,
                                                    OutboxEmail.kind == "request_cancelled")).all()


# --- A real run ----------------------------------------------------------------------------------


@pytest.mark.workflow
def test_the_user_cancels_from_the_confirmation_email_and_the_run_ends_cancelled(live, smtp_server):
    from tests.flows.workflow_helpers import (
        flow_run,
        mail,
        request_status,
        text_of,
        token_in,
        unique_request,
        wait_run_final,
    )

    data = unique_request()
    user, authorizer = data["user"]["email"], data["authorizer"]["email"]
    sub = api.submit_request(data, actor="test")
    confirmation = mail(smtp_server, user, "accusé de réception")[0]
    link = next(w for w in text_of(confirmation).split() if "/annuler?t=" in w)
    token = parse_qs(urlparse(link).query)["t"][0]
    authorize = token_in(mail(smtp_server, authorizer, "autorisation est requise")[0])
    assert api.open_cancel_link(token).refusal is None
    api.cancel_by_user(token, reason="Je change de poste.")

    run = wait_run_final(sub.request_id)
    assert run.state.is_cancelled(), run.state
    assert request_status(sub.request_id) == "cancelled"
    to_user = mail(smtp_server, user, "annulée")
    to_authorizer = mail(smtp_server, authorizer, "annulée")
    assert "Comme vous l'avez demandé" in text_of(to_user[0]) and "Je change de poste." in text_of(to_user[0])
    assert "à la demande de l'utilisateur" in text_of(to_authorizer[0])
    refused("already_closed", api.cancel_by_user, token)
    with pytest.raises(ActionError):
        api.authorizer_decide(authorize, outcome="refuse", reason="trop tard")
    assert open_status(make_link_token(request_id=sub.request_id, purpose="status").token).steps[-1]["step"] \
        in ("cancelled", "closed")

    # The sweeper leaves it be: the request is closed, its run is not dead but done.
    report = sweep(request_ids=[sub.request_id])
    assert sub.request_id not in report.restarted and sub.request_id not in report.flagged
    assert flow_run(sub.request_id).state.is_cancelled()
    assert len(mail(smtp_server, user, "annulée")) == 1 and len(mail(smtp_server, authorizer, "annulée")) == 1
    with session_scope() as s:
        assert not s.exec(select(AuditEvent).where(AuditEvent.request_id == sub.request_id,
                                                   AuditEvent.event == "run_restarted")).first()


@pytest.mark.workflow
def test_the_ramq_cancels_a_request_sent_back_for_correction(live, smtp_server):
    from tests.flows.workflow_helpers import (
        ensure_respondent,
        mail,
        request_status,
        section3,
        text_of,
        token_in,
        unique_request,
        wait_run_final,
    )
    from tests.flows.workflow_helpers import (
        open_task as wait_task,
    )

    data = unique_request()
    user, authorizer = data["user"]["email"], data["authorizer"]["email"]
    sub = api.submit_request(data, actor="test")
    api.authorizer_decide(token_in(mail(smtp_server, authorizer, "autorisation est requise")[0]),
                          outcome="authorize", section3=section3(data))
    respondent = ensure_respondent()
    task_id = wait_task(sub.request_id, "respondent")
    api.claim_task(task_id, staff=respondent)
    api.respondent_decide(task_id, staff=respondent, outcome="send_back", reason="Précisez la fonction.")
    correct = token_in(mail(smtp_server, user, "correction demandée")[0])
    wait_task(sub.request_id, "correction")
    manager = staff_account("manager")["username"]
    api.cancel_request(sub.request_id, staff=manager, reason="L'établissement a retiré sa demande.")

    run = wait_run_final(sub.request_id)
    assert run.state.is_cancelled(), run.state
    assert request_status(sub.request_id) == "cancelled"
    for who in (user, authorizer):
        told = text_of(mail(smtp_server, who, "annulée")[0])
        assert "par la RAMQ" in told and "L'établissement a retiré sa demande." in told
    with pytest.raises(ActionError):  # the correction link died with the request
        api.resubmit_correction(correct, data)
    assert sub.request_id not in sweep(request_ids=[sub.request_id]).restarted
