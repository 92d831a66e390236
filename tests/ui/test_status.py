"""« Suivi de ma demande » (/statut?t=…, the link of the confirmation email): the reference, the
status, the steps with their dates and what happens next; no personal data, no action; the
link opens again and again, survives a correction, and is refused like the others when it is
forged, expired or meant for another page (and refused by those pages and actions in turn)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from sqlmodel import select

from flows import api
from flows.errors import ActionError
from flows.status import open_status
from flows.steps import open_authorizer_step, open_respondent_step, record_submission
from models.db import session_scope
from models.enums import TaskKind
from models.tables import AccessRequest, OutboxEmail, SecurityEvent, UsedLink
from notifications.links import make_link_token, read_link_token
from tests.models.helpers import resigned
from tests.ui.conftest import (
    goto,
    open_task,
    request_data,
    request_row,
    section3,
    sent_back,
    staff_account,
    submit,
    texts,
    token,
)

INVALID = "Ce lien n'est pas valide. Utilisez le lien reçu par courriel, sans le modifier."
EXPIRED = "Ce lien est expiré. Communiquez avec la RAMQ pour obtenir un nouveau lien."
WRONG = "Ce lien ne sert pas à cette page."


def status_token(request_id: int, **kw) -> str:
    return make_link_token(request_id=request_id, purpose="status", **kw).token


def open_page(app, tok: str | None, **query):
    at = app(query={"t": tok, **query} if tok else None)
    return goto(at, "status.py")


def personal_data(req: AccessRequest) -> list[str]:
    """Everything about the people of a request the status page must never show."""
    values = [req.user_first_name, req.user_last_name, req.user_email, req.authorizer_first_name,
              req.authorizer_last_name, req.authorizer_email, req.establishment_name]
    return [v for v in values if v]


def assert_no_personal_data(at, req: AccessRequest, *also: str) -> None:
    page = texts(at).casefold()
    for value in [*personal_data(req), *also]:
        assert value.casefold() not in page, value


def under_ramq_review():
    """A request taken through the flow's own steps (their functions, without a run) up to the
    RAMQ's queue, authorized, its task claimed by a respondent: (submitted, staff account)."""
    data = request_data()
    sub = submit(data)
    record_submission.fn(sub.request_id, str(uuid.uuid4()))
    open_authorizer_step.fn(sub.request_id, 1)
    api.authorizer_decide(token(sub.request_id), outcome="authorize",
                          section3=section3("dsp"))
    task_id = open_respondent_step.fn(sub.request_id, 1)
    staff = staff_account("respondent", display_name="Ginette Répondante")
    api.claim_task(task_id, staff=staff["username"])
    return sub, staff


def test_a_valid_link_shows_the_steps_and_no_personal_data(app):
    sub, staff = under_ramq_review()
    at = open_page(app, status_token(sub.request_id))
    assert not at.exception and not at.error
    page = texts(at)
    assert at.title[0].value == "Suivi de ma demande"
    assert f"Demande {sub.reference}" in page
    assert "En analyse à la RAMQ" in page  # the current status
    assert "La RAMQ analyse votre demande" in page  # what happens next
    steps = [s for s in page.splitlines() if s.startswith("- ")]
    assert [s.split(" — ", 1)[1] for s in steps] == [
        "Demande reçue", "Transmise à la personne désignée pour l'autoriser",
        "Autorisée (section 3 signée)", "En analyse à la RAMQ"]
    assert all(s[2:6].isdigit() for s in steps)  # each step has its date
    assert "Prise en charge" not in page  # staff-internal events are not steps
    assert_no_personal_data(at, request_row(sub.request_id), staff["username"], "Ginette")
    assert not at.button  # no action
    assert "ne permet aucune action" in page


def test_dates_are_in_quebec_time(app):
    sub = submit()
    with session_scope() as s:
        submitted_at = s.get(AccessRequest, sub.request_id).created_at
    at = open_page(app, status_token(sub.request_id))
    from zoneinfo import ZoneInfo

    local = submitted_at.astimezone(ZoneInfo("America/Montreal"))
    assert f"- {local:%Y-%m-%d %H:%M} — Demande reçue" in texts(at)


def test_the_link_opens_again_and_is_never_consumed(app):
    sub = submit()
    tok = status_token(sub.request_id)
    for _ in range(2):
        at = open_page(app, tok)
        assert not at.error and "Demande reçue" in texts(at)
    with session_scope() as s:
        assert s.get(UsedLink, read_link_token(tok, purpose="status").jti) is None


def test_english_when_asked(app):
    sub = submit()
    at = open_page(app, status_token(sub.request_id), lang="en")
    assert at.title[0].value == "Follow my request" and "Request received" in texts(at)


@pytest.mark.parametrize("forged", ["n-importe-quoi", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "a" * 5000])
def test_a_forged_link_is_refused_in_french(app, forged):
    at = open_page(app, forged)
    assert not at.exception and [e.value for e in at.error] == [INVALID]
    assert "Étapes" not in texts(at)


def test_a_tampered_link_is_refused(app):
    sub = submit()
    tok = status_token(sub.request_id)
    at = open_page(app, tok[:-3] + ("abc" if not tok.endswith("abc") else "xyz"))
    assert [e.value for e in at.error] == [INVALID]


def test_an_expired_link_is_refused(app):
    sub = submit()
    old = status_token(sub.request_id, ttl=timedelta(days=1), now=datetime.now(UTC) - timedelta(days=2))
    at = open_page(app, old)
    assert [e.value for e in at.error] == [EXPIRED]
    assert sub.reference not in texts(at)


def test_a_link_for_a_missing_request_is_invalid(app):
    at = open_page(app, status_token(999_999_999))
    assert [e.value for e in at.error] == [INVALID]


def test_no_token_gets_the_missing_link_page(app):
    at = open_page(app, None)
    assert not at.exception and at.warning and not at.error


def test_a_deciding_link_is_refused_here_and_a_status_link_there(app):
    sub = submit()
    open_task(sub.request_id, TaskKind.authorizer)
    at = open_page(app, token(sub.request_id, purpose="authorize"))
    assert [e.value for e in at.error] == [WRONG]
    at = goto(app(query={"t": status_token(sub.request_id)}), "authorization.py")
    assert [e.value for e in at.error] == [WRONG]
    at = goto(app(query={"t": status_token(sub.request_id)}), "correction.py")
    assert [e.value for e in at.error] == [WRONG]


def test_the_actions_refuse_a_status_link_and_the_status_view_a_deciding_link(app_env):
    sub = submit()
    open_task(sub.request_id, TaskKind.authorizer)
    status = status_token(sub.request_id)
    for act in (lambda: api.authorizer_decide(status, outcome="refuse", reason="non"),
                lambda: api.open_link(status, purpose="authorize"),
                lambda: api.resubmit_correction(status, request_data())):
        with pytest.raises(ActionError) as err:
            act()
        assert err.value.code == "wrong_purpose"
    for purpose, revision in (("authorize", 1), ("correct", 1)):
        with pytest.raises(ActionError) as err:
            open_status(token(sub.request_id, purpose=purpose, revision=revision))
        assert err.value.code == "wrong_purpose"
    with session_scope() as s:  # refused, recorded (without the token), like every link
        events = s.exec(select(SecurityEvent).where(SecurityEvent.kind == "open_status",
                                                    SecurityEvent.request_id == sub.request_id)).all()
    assert [e.code for e in events] == ["wrong_purpose", "wrong_purpose"]
    assert request_row(sub.request_id).status == "awaiting_authorizer"


def test_a_correction_does_not_void_the_status_link(app):
    comments = "Le numéro de l'établissement est erroné."
    sub, _, correction = sent_back(comments)
    tok = status_token(sub.request_id)
    at = open_page(app, tok)
    assert "Correction demandée" in texts(at)
    assert comments not in texts(at)  # a reason typed by staff is not shown
    api.resubmit_correction(correction, resigned(request_data()))
    assert request_row(sub.request_id).revision == 2
    at = open_page(app, tok)
    assert not at.error
    page = texts(at)
    assert "Demande corrigée et transmise de nouveau" in page
    assert comments not in page
    assert_no_personal_data(at, request_row(sub.request_id))


def test_the_confirmation_email_carries_a_status_link_that_opens_the_page(app):
    sub = submit()
    record_submission.fn(sub.request_id, str(uuid.uuid4()))
    with session_scope() as s:
        row = s.exec(select(OutboxEmail).where(OutboxEmail.request_id == sub.request_id,
                                               OutboxEmail.kind == "submission_confirmation")).one()
    assert "Suivre ma demande" in row.body_text and "Suivre ma demande</a>" in row.body_html
    link = next(w for w in row.body_text.split() if "/statut?t=" in w)
    assert f'href="{link}"' in row.body_html
    query = parse_qs(urlparse(link).query)
    assert "lang" not in query  # French by default
    at = open_page(app, query["t"][0])
    assert not at.error and f"Demande {sub.reference}" in texts(at) and "Demande reçue" in texts(at)
    # A replayed step sends nothing new (the outbox key) and makes no second link.
    record_submission.fn(sub.request_id, str(uuid.uuid4()))
    with session_scope() as s:
        assert len(s.exec(select(OutboxEmail).where(OutboxEmail.request_id == sub.request_id)).all()) == 1
