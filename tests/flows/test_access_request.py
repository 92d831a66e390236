"""The request lifecycle on a real Prefect server and runner, with a real SMTP server."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import select

from flows import api
from flows.errors import ActionError
from flows.status import open_status
from flows.sweeper import sweep
from models.accounts import authenticate, change_password
from models.db import session_scope
from models.signatures import verify_request
from models.tables import AccessRequest, Account, AuditEvent, HumanTask, OutboxEmail, RamqProcessing, utcnow
from notifications.links import read_link_token
from notifications.templates import read_secret
from tests.flows.workflow_helpers import (
    SOES,
    countersign,
    ensure_respondent,
    html_of,
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

pytestmark = pytest.mark.workflow


def _authorize(smtp, data, ref, round=1):
    msg = mail(smtp, data["authorizer"]["email"], "autorisation est requise", count=round)[-1]
    token = token_in(msg)
    view = api.open_link(token, purpose="authorize")  # opening decides nothing
    assert view.reference == ref and view.revision == round
    api.authorizer_decide(token, outcome="authorize", section3=section3(data))
    return token


def _approve(request_id, username=None, round=1, *, countersigned=True):
    """The respondent approves (section 4 signed), then the SOES countersigns."""
    staff = ensure_respondent()
    task_id = open_task(request_id, "respondent", round)
    api.claim_task(task_id, staff=staff)
    section4 = api.proposed_section4(task_id)
    if username:
        section4["username"] = username
    api.respondent_decide(task_id, staff=staff, outcome="approve", section4=section4)
    if countersigned:
        countersign(request_id, round)
    return section4


def test_happy_path_ends_with_credentials_in_two_mailboxes(live, smtp_server):
    data = unique_request()
    user, authorizer = data["user"]["email"], data["authorizer"]["email"]
    sub = api.submit_request(data, actor="test")

    confirmation = mail(smtp_server, user, "accusé de réception")[0]
    # The confirmation carries the read-only status link (text and HTML); it follows the request.
    status_link = next(w for w in text_of(confirmation).split() if "/statut?t=" in w)
    assert "Suivre ma demande" in text_of(confirmation) and f'href="{status_link}"' in html_of(confirmation)
    status_token = parse_qs(urlparse(status_link).query)["t"][0]
    assert [s["step"] for s in open_status(status_token).steps][0] == "submitted"
    token = _authorize(smtp_server, data, sub.reference)
    section4 = _approve(sub.request_id, countersigned=False)
    # Section 4 carries two RAMQ signatures: nothing is issued before the SOES countersigns.
    open_task(sub.request_id, "countersign")
    assert request_status(sub.request_id) == "awaiting_countersign"
    assert not [m for m in smtp_server.to(user) if "mot de passe" in str(m["Subject"])]
    countersign(sub.request_id)

    run = wait_run_final(sub.request_id)
    assert run.state.is_completed()
    assert run.name == sub.reference
    assert run.parameters == {"request_id": sub.request_id}
    assert request_status(sub.request_id) == "completed"
    status_view = open_status(status_token)  # the same link, opened again at the end
    assert status_view.status == "completed" and status_view.closed
    steps = [s["step"] for s in status_view.steps]
    assert steps[0] == "submitted" and steps[-1] == "completed"
    assert steps.index("authorized") < steps.index("ramq_review") < steps.index("approved") \
        < steps.index("countersigned") < steps.index("credentials_sent")

    username = section4["username"]
    pw_mails = mail(smtp_server, user, "mot de passe temporaire")
    un_mails = mail(smtp_server, authorizer, "nom d'utilisateur")
    assert len(pw_mails) == 1 and len(un_mails) == 1
    assert not [m for m in smtp_server.to(user) if "nom d'utilisateur" in str(m["Subject"])]
    assert not [m for m in smtp_server.to(authorizer) if "mot de passe" in str(m["Subject"])]
    pw_text = text_of(pw_mails[0])
    assert username not in pw_text and username not in html_of(pw_mails[0])
    assert username in text_of(un_mails[0])

    with session_scope() as s:
        account = s.exec(select(Account).where(Account.username == username)).one()
        account_id = account.id
        assert account.must_change_password and account.valid_until == section4["valid_until"]
    password = read_secret(pw_text)
    assert password and len(password) >= 14 and authenticate_ok(username, password)
    assert password not in text_of(un_mails[0]) and password not in html_of(un_mails[0])

    # Works once: the user must choose a new password, then the temporary one is dead.
    with session_scope() as s:
        change_password(s, account_id=account_id, current=password, new="Nouveau-Mot-2026!")
    assert not authenticate_ok(username, password)
    assert authenticate_ok(username, "Nouveau-Mot-2026!")

    # The link was used: it cannot decide again.
    with pytest.raises(ActionError) as err:
        api.authorizer_decide(token, outcome="refuse", reason="trop tard")
    assert err.value.code == "link_used"

    # Every email of the request was sent, and the SMTP server received each exactly once.
    with session_scope() as s:
        rows = s.exec(select(OutboxEmail).where(OutboxEmail.request_id == sub.request_id)).all()
    assert sorted(r.kind for r in rows) == sorted([
        "submission_confirmation", "authorization_request", "temporary_password", "username"])
    assert {r.status for r in rows} == {"sent"}
    for row in rows:
        received = [m for m in smtp_server.to(row.recipient) if m["Message-ID"] == row.message_id]
        assert len(received) == 1, row.kind
    with session_scope() as s:
        events = [e.event for e in s.exec(select(AuditEvent).where(AuditEvent.request_id == sub.request_id)
                                          .order_by(AuditEvent.id))]
    assert events[0] == "submitted" and events[-1] == "completed"
    assert events.index("respondent_approve") < events.index("countersign_task_opened") \
        < events.index("countersign_countersign") < events.index("password_sent")
    with session_scope() as s:
        req = s.get(AccessRequest, sub.request_id)
        verification = verify_request(s, req)
        section4_row = s.exec(select(RamqProcessing).where(RamqProcessing.request_id == sub.request_id)).one()
        assert section4_row.soes_signed_by == SOES and section4_row.soes_signed_at is not None
    assert verification.intact
    assert {(c.role, c.signer, c.verdict) for c in verification.checks if c.role in ("respondent", "soes")} == {
        ("respondent", ensure_respondent(), "intact"), ("soes", SOES, "intact")}
    assert sum(1 for m in smtp_server.to(user) if "mot de passe" in str(m["Subject"])) == 1


def authenticate_ok(username: str, password: str) -> bool:
    with session_scope() as s:
        return authenticate(s, username=username, password=password) is not None


def test_authorizer_refuses(live, smtp_server):
    data = unique_request()
    sub = api.submit_request(data, actor="test")
    msg = mail(smtp_server, data["authorizer"]["email"], "autorisation est requise")[0]
    token = token_in(msg)
    with pytest.raises(ActionError) as err:
        api.authorizer_decide(token, outcome="refuse", reason="   ")
    assert err.value.code == "reason_required"
    api.authorizer_decide(token, outcome="refuse", reason="Pas de résolution du conseil.")
    run = wait_run_final(sub.request_id)
    assert run.state.is_completed()
    assert request_status(sub.request_id) == "refused_by_authorizer"
    refusal = mail(smtp_server, data["user"]["email"], "refusée")[0]
    assert "Pas de résolution du conseil." in text_of(refusal)


def test_ramq_refuses_and_both_are_told(live, smtp_server):
    data = unique_request()
    sub = api.submit_request(data, actor="test")
    _authorize(smtp_server, data, sub.reference)
    staff = ensure_respondent()
    task_id = open_task(sub.request_id, "respondent")
    api.claim_task(task_id, staff=staff)
    api.respondent_decide(task_id, staff=staff, outcome="refuse", reason="Établissement inconnu.")
    wait_run_final(sub.request_id)
    assert request_status(sub.request_id) == "refused_by_ramq"
    mail(smtp_server, data["user"]["email"], "refusée par la RAMQ")
    mail(smtp_server, data["authorizer"]["email"], "refusée par la RAMQ")
    assert not [m for m in smtp_server.to(data["user"]["email"]) if "mot de passe" in str(m["Subject"])]


def test_correction_voids_earlier_links_and_goes_back_to_the_authorizer(live, smtp_server):
    data = unique_request()
    sub = api.submit_request(data, actor="test")
    first_token = _authorize(smtp_server, data, sub.reference)
    staff = ensure_respondent()
    task_id = open_task(sub.request_id, "respondent")
    api.claim_task(task_id, staff=staff)
    with pytest.raises(ActionError) as err:
        api.respondent_decide(task_id, staff=staff, outcome="send_back", reason="")
    assert err.value.code == "comments_required"
    api.respondent_decide(task_id, staff=staff, outcome="send_back", reason="Précisez la fonction.")

    correction = mail(smtp_server, data["user"]["email"], "correction demandée")[0]
    assert "Précisez la fonction." in text_of(correction)
    correct_token = token_in(correction)
    # The link lives as long as the correction may be made: until the deadline its email gives
    # (it died after 14 days while the email promised 30).
    link = read_link_token(correct_token, purpose="correct")
    with session_scope() as s:
        correction_task = s.exec(select(HumanTask).where(HumanTask.request_id == link.request_id,
                                                         HumanTask.kind == "correction")).one()
    assert abs((link.expires_at - correction_task.due_at).total_seconds()) < 120
    view = api.open_link(correct_token, purpose="correct")
    assert view.comments == "Précisez la fonction."
    data["user"]["function"] = "Technicienne en administration"
    api.resubmit_correction(correct_token, resigned(data))

    # Round 2: a new link to the authorizer; every earlier link is void.
    second = mail(smtp_server, data["authorizer"]["email"], "autorisation est requise", count=2)
    with pytest.raises(ActionError) as err:
        api.open_link(first_token, purpose="authorize")
    assert err.value.code in ("link_used", "link_void")
    with pytest.raises(ActionError) as err:
        api.resubmit_correction(correct_token, data)
    assert err.value.code == "link_used"
    tokens = [token_in(m) for m in second]
    assert len(set(tokens)) == 2
    new_token = next(t for t in tokens if t != first_token)
    assert api.open_link(new_token, purpose="authorize").revision == 2
    api.authorizer_decide(new_token, outcome="authorize", section3=section3(data))
    _approve(sub.request_id, round=2)
    assert wait_run_final(sub.request_id).state.is_completed()
    assert request_status(sub.request_id) == "completed"
    assert len(mail(smtp_server, data["user"]["email"], "mot de passe temporaire")) == 1


def test_authorizer_deadline_expires_the_request(live, smtp_server):
    data = unique_request()
    sub = api.submit_request(data, actor="test")
    msg = mail(smtp_server, data["authorizer"]["email"], "autorisation est requise")[0]
    report = sweep(now=utcnow() + timedelta(days=60), request_ids=[sub.request_id])
    assert sub.request_id in report.expired
    wait_run_final(sub.request_id)
    assert request_status(sub.request_id) == "expired"
    mail(smtp_server, data["user"]["email"], "expirée")
    mail(smtp_server, data["authorizer"]["email"], "expirée")
    with pytest.raises(ActionError) as err:
        api.authorizer_decide(token_in(msg), outcome="authorize", section3=section3(data))
    assert err.value.code in ("link_used", "task_closed")


def test_reminder_goes_to_the_authorizer_once(live, smtp_server):
    data = unique_request()
    sub = api.submit_request(data, actor="test")
    mail(smtp_server, data["authorizer"]["email"], "autorisation est requise")
    later = utcnow() + timedelta(days=4)
    assert sub.request_id in sweep(now=later, request_ids=[sub.request_id]).reminded
    assert sub.request_id not in sweep(now=later, request_ids=[sub.request_id]).reminded
    reminder = mail(smtp_server, data["authorizer"]["email"], "rappel")
    assert len(reminder) == 1
    token = token_in(reminder[0])
    api.authorizer_decide(token, outcome="refuse", reason="Non.")
    wait_run_final(sub.request_id)
    assert request_status(sub.request_id) == "refused_by_authorizer"


def test_double_click_is_applied_once(live, smtp_server):
    data = unique_request()
    sub = api.submit_request(data, actor="test")
    msg = mail(smtp_server, data["authorizer"]["email"], "autorisation est requise")[0]
    token = token_in(msg)
    api.authorizer_decide(token, outcome="authorize", section3=section3(data))
    with pytest.raises(ActionError) as err:
        api.authorizer_decide(token, outcome="authorize", section3=section3(data))
    assert err.value.code == "link_used"
    staff = ensure_respondent()
    task_id = open_task(sub.request_id, "respondent")
    other = ensure_respondent("repondant.deux")
    api.claim_task(task_id, staff=staff)
    with pytest.raises(ActionError) as err:
        api.claim_task(task_id, staff=other)
    assert err.value.code == "already_claimed"
    with pytest.raises(ActionError) as err:
        api.respondent_decide(task_id, staff=other, outcome="refuse", reason="x")
    assert err.value.code == "not_claimed_by_you"
    api.respondent_decide(task_id, staff=staff, outcome="refuse", reason="Non conforme.")
    with pytest.raises(ActionError) as err:
        api.respondent_decide(task_id, staff=staff, outcome="approve", section4={})
    assert err.value.code == "task_closed"
    wait_run_final(sub.request_id)
    assert request_status(sub.request_id) == "refused_by_ramq"


def test_respondent_cannot_process_their_own_request(live, smtp_server):
    data = unique_request()
    sub = api.submit_request(data, actor="test")
    _authorize(smtp_server, data, sub.reference)
    me = ensure_respondent("repondant.conflit", email=data["user"]["email"].replace("@", "+ramq@"))
    task_id = open_task(sub.request_id, "respondent")
    with pytest.raises(ActionError) as err:
        api.claim_task(task_id, staff=me)
    assert err.value.code == "conflict_of_interest"
