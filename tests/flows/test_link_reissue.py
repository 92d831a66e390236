"""Resend and reissue (issue 10, item 3): a respondent or a manager sends the waiting step's link
again (the authorizer's, or the user's correction link) and the earlier one is void at once; or
asks the user to name another authorizer (with a reason): the request goes back to the user,
who names and signs for the new one, the former one is told and their link refused."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlmodel import select

from flows import api
from flows.errors import ActionError
from models.db import read_scope, session_scope
from models.enums import RequestStatus, TaskKind
from models.queries import request_status_view
from models.tables import AccessRequest, AuditEvent, HumanTask, OutboxEmail, SecurityEvent, utcnow
from notifications.links import make_link_token
from tests.flows.workflow_helpers import (
    countersign,
    ensure_respondent,
    mail,
    open_task,
    request_status,
    section3,
    text_of,
    token_in,
    unique_request,
    wait_run_final,
)
from tests.models.helpers import resigned
from tests.ui.conftest import staff_account


def refused(code: str, fn, *args, **kwargs) -> None:
    with pytest.raises(ActionError) as err:
        fn(*args, **kwargs)
    assert err.value.code == code, err.value.code


def waiting(data: dict, kind: TaskKind = TaskKind.authorizer) -> tuple[int, str]:
    """A stored request (no flow run) whose authorizer (or, ``correction``, user) is awaited,
    with the link the step's first email carried."""
    request_id = api.submit_request(data, actor="test", start=False).request_id
    status = RequestStatus.awaiting_authorizer if kind is TaskKind.authorizer else RequestStatus.correction_requested
    with session_scope() as s:
        s.add(HumanTask(request_id=request_id, kind=kind.value, round=1, due_at=utcnow() + timedelta(days=5)))
        req = s.get(AccessRequest, request_id)
        req.status = status.value
        s.add(req)
    purpose = "authorize" if kind is TaskKind.authorizer else "correct"
    return request_id, make_link_token(request_id=request_id, purpose=purpose, revision=1).token


def outbox(request_id: int, kind: str) -> list[OutboxEmail]:
    with session_scope() as s:
        return list(s.exec(select(OutboxEmail).where(OutboxEmail.request_id == request_id,
                                                     OutboxEmail.kind == kind)).all())


def link_of(row: OutboxEmail) -> str:
    found = re.search(r"\?t=([^\s&<>)\"]+)", row.body_text or "")
    assert found, "no link in the email"
    return unquote(found.group(1))


def events(request_id: int, event: str) -> list[AuditEvent]:
    with session_scope() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.request_id == request_id,
                                                    AuditEvent.event == event)).all())


def test_a_resent_authorizer_link_voids_the_old_one_at_once(app_env):
    data = unique_request()
    request_id, old = waiting(data)
    assert api.open_link(old, purpose="authorize").request_id == request_id
    staff = staff_account("respondent")["username"]
    api.resend_link(request_id, staff=staff, purpose="authorize")

    [row] = outbox(request_id, "authorization_resent")
    assert row.recipient == data["authorizer"]["email"]
    assert "nouveau lien" in row.body_text and "n'est plus valide" in row.body_text
    refused("link_replaced", api.open_link, old, purpose="authorize")
    refused("link_replaced", api.authorizer_decide, old, outcome="refuse", reason="Inconnu")
    assert "remplacé par un lien plus récent" in ActionError("link_replaced").message("fr")
    new = link_of(row)
    assert api.open_link(new, purpose="authorize").request_id == request_id
    api.authorizer_decide(new, outcome="authorize", section3=section3(data))

    [event] = events(request_id, "link_resent")
    assert event.actor == staff and event.detail["purpose"] == "authorize"
    assert set(event.detail) == {"task_id", "purpose", "round"}  # ids only, no personal data
    with session_scope() as s:  # the refused old link is recorded, with its purpose
        kinds = {(e.kind, e.code) for e in s.exec(select(SecurityEvent).where(SecurityEvent.request_id == request_id))}
    assert ("open_link", "link_replaced") in kinds and ("authorizer_decide", "link_replaced") in kinds


def test_a_resent_correction_link_voids_the_old_one(app_env):
    data = unique_request()
    request_id, old = waiting(data, TaskKind.correction)
    manager = staff_account("manager")["username"]
    api.resend_link(request_id, staff=manager, purpose="correct")
    [row] = outbox(request_id, "correction_resent")
    assert row.recipient == data["user"]["email"]
    refused("link_replaced", api.open_link, old, purpose="correct")
    refused("link_replaced", api.resubmit_correction, old, resigned(data))
    new = link_of(row)
    api.resubmit_correction(new, resigned(data))
    refused("task_closed", api.resend_link, request_id, staff=manager, purpose="correct")  # just used


def test_who_may_resend_and_what(app_env):
    data = unique_request()
    request_id, old = waiting(data)
    for role in ("soes",):
        refused("not_allowed", api.resend_link, request_id, staff=staff_account(role)["username"], purpose="authorize")
    refused("not_allowed", api.resend_link, request_id, staff="nobody-at-all", purpose="authorize")
    party = staff_account("respondent", email=data["authorizer"]["email"])["username"]
    refused("conflict_of_interest", api.resend_link, request_id, staff=party, purpose="authorize")
    refused("conflict_of_interest", api.change_authorizer, request_id, staff=party, reason="Absent")
    respondent = staff_account("respondent")["username"]
    refused("nothing_to_resend", api.resend_link, request_id, staff=respondent, purpose="correct")
    refused("nothing_to_resend", api.resend_link, request_id, staff=respondent, purpose="status")
    refused("nothing_to_resend", api.resend_link, 10**9, staff=respondent, purpose="authorize")
    refused("reason_required", api.change_authorizer, request_id, staff=respondent, reason="  ")
    assert not outbox(request_id, "authorization_resent")
    assert api.open_link(old, purpose="authorize")  # nothing refused changed the link


def test_two_tabs_resending_at_once_send_one_link(app_env):
    request_id, _ = waiting(unique_request())
    staff = [staff_account("respondent")["username"], staff_account("manager")["username"]]
    start = threading.Barrier(2)
    results: list[str] = []

    def click(who: str) -> None:
        start.wait()
        try:
            api.resend_link(request_id, staff=who, purpose="authorize")
            results.append("sent")
        except ActionError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=click, args=(who,)) for who in staff]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["link_just_resent", "sent"]
    assert len(outbox(request_id, "authorization_resent")) == 1
    assert len(events(request_id, "link_resent")) == 1
    # A second click a moment later sends nothing either.
    refused("link_just_resent", api.resend_link, request_id, staff=staff[0], purpose="authorize")
    assert len(outbox(request_id, "authorization_resent")) == 1


def test_a_resend_after_the_interval_voids_the_first_resent_link(app_env, monkeypatch):
    request_id, _ = waiting(unique_request())
    staff = staff_account("respondent")["username"]
    api.resend_link(request_id, staff=staff, purpose="authorize")
    monkeypatch.setattr(api, "RESEND_INTERVAL", timedelta(seconds=-5))  # as if a minute had passed
    api.resend_link(request_id, staff=staff, purpose="authorize")
    first, second = sorted(outbox(request_id, "authorization_resent"), key=lambda r: r.round)
    assert (first.round, second.round) == (1, 2)
    refused("link_replaced", api.open_link, link_of(first), purpose="authorize")
    assert api.open_link(link_of(second), purpose="authorize").request_id == request_id


def test_a_correction_after_another_authorizer_was_asked_must_name_another(app_env):
    data = unique_request()
    request_id, old = waiting(data)
    staff = staff_account("respondent")["username"]
    api.change_authorizer(request_id, staff=staff, reason="Cette personne a quitté l'établissement.")
    refused("link_replaced", api.open_link, old, purpose="authorize")
    refused("task_closed", api.change_authorizer, request_id, staff=staff, reason="Encore")
    [notice] = outbox(request_id, "authorizer_reassigned")
    assert notice.recipient == data["authorizer"]["email"]
    assert "La RAMQ a demandé" in notice.body_text and "quitté" not in notice.body_text
    # The flow would open the correction step; here it is opened by hand.
    with session_scope() as s:
        s.add(HumanTask(request_id=request_id, kind="correction", round=1, due_at=utcnow() + timedelta(days=5)))
    correct = make_link_token(request_id=request_id, purpose="correct", revision=1).token
    assert request_status_view(request_id)["steps"][-1]["step"] == "correction_requested"
    view = api.open_link(correct, purpose="correct")
    assert view.comments == ("La RAMQ vous demande de nommer une autre personne qui autorise : "
                             "Cette personne a quitté l'établissement.")
    with pytest.raises(ActionError) as err:
        api.resubmit_correction(correct, resigned(data))
    assert err.value.code == "authorizer_unchanged" and err.value.errors[0].path == "authorizer.email"
    data["authorizer"] = dict(data["authorizer"], first_name="Paule", last_name="Nouvelle",
                              email=data["authorizer"]["email"].replace("autorisateur", "nouvelle"))
    api.resubmit_correction(correct, resigned(data))
    assert len(events(request_id, "authorizer_changed")) == 1
    assert not outbox(request_id, "authorizer_replaced")  # told once, when the RAMQ asked


@pytest.mark.workflow
def test_resend_then_change_the_authorizer_through_the_real_flow(live, smtp_server):
    data = unique_request()
    former = data["authorizer"]["email"]
    sub = api.submit_request(data, actor="test")
    first = token_in(mail(smtp_server, former, "autorisation est requise")[0])
    staff = ensure_respondent()

    # Resent: the first link is void at once, the new one works.
    api.resend_link(sub.request_id, staff=staff, purpose="authorize")
    resent = token_in(mail(smtp_server, former, "autorisation est requise", count=2)[-1])
    refused("link_replaced", api.open_link, first, purpose="authorize")
    assert api.open_link(resent, purpose="authorize").request_id == sub.request_id

    # Another authorizer: the request goes back to the user, the former authorizer is told.
    decision_id = api.change_authorizer(sub.request_id, staff=staff, reason="La personne est en congé.")
    assert decision_id > 0
    told = mail(smtp_server, former, "plus la personne désignée")[0]
    assert "La RAMQ a demandé" in text_of(told)
    correction = mail(smtp_server, data["user"]["email"], "correction demandée")[0]
    assert "nommer une autre personne qui autorise : La personne est en congé." in text_of(correction)
    refused("link_replaced", api.authorizer_decide, resent, outcome="authorize", section3=section3(data))
    correct = token_in(correction)
    refused("authorizer_unchanged", api.resubmit_correction, correct, resigned(data))

    new = former.replace("autorisateur", "remplacant")
    data["authorizer"] = dict(data["authorizer"], first_name="Rémi", last_name="Remplaçant", email=new)
    api.resubmit_correction(correct, resigned(data))
    token = token_in(mail(smtp_server, new, "autorisation est requise")[0])
    assert api.open_link(token, purpose="authorize").revision == 2
    refused("link_void", api.open_link, resent, purpose="authorize")
    api.authorizer_decide(token, outcome="authorize", section3=section3(data))

    task_id = open_task(sub.request_id, "respondent", 2)
    api.claim_task(task_id, staff=staff)
    api.respondent_decide(task_id, staff=staff, outcome="approve", section4=api.proposed_section4(task_id))
    countersign(sub.request_id, 2)
    assert wait_run_final(sub.request_id).state.is_completed()
    assert request_status(sub.request_id) == "completed"
    assert len(mail(smtp_server, new, "nom d'utilisateur")) == 1
    assert not [m for m in smtp_server.to(former) if "nom d'utilisateur" in str(m["Subject"]).lower()]
    assert len(mail(smtp_server, former, "plus la personne désignée")) == 1


def test_a_decision_racing_a_resend_with_the_old_link_is_refused(app_env):
    """The old link was checked before the resend committed: the decision's conditional update
    still sees the resend and takes nothing."""
    from notifications.links import read_link_token

    request_id, old = waiting(unique_request())
    claims = read_link_token(old, purpose="authorize")
    with read_scope() as s:
        task = s.exec(select(HumanTask).where(HumanTask.request_id == request_id)).one()  # checked: open
    api.resend_link(request_id, staff=staff_account("manager")["username"], purpose="authorize")
    with pytest.raises(ActionError) as err, session_scope() as s:
        api.record_decision(s, task, outcome="authorize", reason=None, actor="autorisateur", link=claims)
    assert err.value.code == "link_replaced"
    with session_scope() as s:
        assert s.get(HumanTask, task.id).status == "open"
