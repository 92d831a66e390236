"""Cancelling a request on screen (issue 10, item 5): « Annuler ma demande » (/annuler?t=…, the
link of the confirmation email) shows the reference and the state, asks for a confirmation never
ticked in advance and an optional reason, then cancels; a used, expired, forged or closed link
says so in French. RAMQ staff cancel from the request's page in « Rechercher une demande », with
a reason (required) and a confirmation; the SOES cannot, and nothing shows once approved."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from models.db import session_scope
from models.enums import RequestStatus, TaskKind
from models.tables import AccessRequest, Decision
from notifications.links import make_link_token
from tests.ui.conftest import (
    authorized_request,
    errors,
    goto,
    open_task,
    request_row,
    staff_account,
    submit,
    texts,
)
from ui.common import STAFF_KEY

EXPIRED = "Ce lien est expiré. Communiquez avec la RAMQ pour obtenir un nouveau lien."
INVALID = "Ce lien n'est pas valide. Utilisez le lien reçu par courriel, sans le modifier."
WRONG = "Ce lien ne sert pas à cette page."


def cancel_token(request_id: int, **kw) -> str:
    return make_link_token(request_id=request_id, purpose="cancel", **kw).token


def open_page(app, tok: str | None):
    return goto(app(query={"t": tok} if tok else None), "cancel.py")


def decisions(request_id: int) -> list[Decision]:
    with session_scope() as s:
        return list(s.exec(select(Decision).where(Decision.request_id == request_id,
                                                  Decision.outcome == "cancel")).all())


def set_status(request_id: int, status: RequestStatus) -> None:
    with session_scope() as s:
        req = s.get(AccessRequest, request_id)
        req.status = status.value
        s.add(req)


def test_the_user_confirms_then_cancels(app):
    sub = submit()
    open_task(sub.request_id, TaskKind.authorizer)
    tok = cancel_token(sub.request_id)
    at = open_page(app, tok)
    assert not at.exception
    page = texts(at)
    assert sub.reference in page and "En attente d'autorisation" in page
    req = request_row(sub.request_id)
    for personal in (req.user_email, req.user_last_name, req.authorizer_email, req.authorizer_last_name):
        assert personal.casefold() not in page.casefold()
    (confirm,) = at.checkbox
    button = next(b for b in at.button if b.key.startswith("cancel_go:"))
    assert confirm.value is False and button.disabled  # nothing ticked in advance
    assert not decisions(sub.request_id)  # opening decides nothing

    at.text_area[0].input("Je change de poste.").run()
    at.checkbox[0].check().run()
    next(b for b in at.button if b.key.startswith("cancel_go:")).click().run()
    assert not at.exception
    assert f"Votre demande {sub.reference} est annulée" in texts(at)
    (decision,) = decisions(sub.request_id)
    assert (decision.actor, decision.reason) == ("utilisateur", "Je change de poste.")

    again = open_page(app, tok)  # the same link, later: nothing left to cancel
    assert "déjà fermée" in texts(again) and not [b for b in again.button if b.key.startswith("cancel_go:")]
    assert len(decisions(sub.request_id)) == 1


def test_approved_or_closed_requests_say_so_with_nothing_to_click(app):
    for status, words in ((RequestStatus.completed, "ne peut plus être annulée"),
                          (RequestStatus.issuing_credentials, "ne peut plus être annulée"),
                          (RequestStatus.refused_by_ramq, "déjà fermée")):
        sub = submit()
        set_status(sub.request_id, status)
        at = open_page(app, cancel_token(sub.request_id))
        assert not at.exception and words in texts(at), texts(at)
        assert not [b for b in at.button if b.key.startswith("cancel_go:")] and not at.checkbox


def test_bad_links_get_clear_french_messages(app):
    sub = submit()
    open_task(sub.request_id, TaskKind.authorizer)
    tok = cancel_token(sub.request_id)
    cases = {EXPIRED: cancel_token(sub.request_id, ttl=timedelta(seconds=-5)),
             INVALID: tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB"),
             WRONG: make_link_token(request_id=sub.request_id, purpose="status").token}
    for message, bad in cases.items():
        at = open_page(app, bad)
        assert not at.exception and message in errors(at), errors(at)
        assert not at.checkbox
    at = open_page(app, None)
    assert "lien reçu par courriel" in texts(at)
    # The status page stays read-only: the cancel link is refused there, and it has no button.
    at = goto(app(query={"t": tok}), "status.py")
    assert WRONG in errors(at)
    at = goto(app(query={"t": make_link_token(request_id=sub.request_id, purpose="status").token}), "status.py")
    assert [b.key for b in at.button] == [] and not at.checkbox
    assert not decisions(sub.request_id)


def test_the_english_page(app):
    sub = submit()
    open_task(sub.request_id, TaskKind.authorizer)
    at = goto(app(query={"t": cancel_token(sub.request_id), "lang": "en"}), "cancel.py")
    assert "Cancel my request" in texts(at) and at.checkbox[0].label.startswith("I confirm")


# --- RAMQ staff, on the request's page -----------------------------------------------------------


def opened(app, role: str, reference: str):
    at = goto(app(state={STAFF_KEY: staff_account(role)["id"]}), "search.py")
    at.text_input(key="search_q").input(reference).run()
    assert not at.exception
    return at


def test_a_manager_cancels_with_a_reason_and_a_confirmation(app):
    sub, _ = authorized_request()
    at = opened(app, "manager", sub.reference)
    go, reason, confirm = (f"cancel_{k}:{sub.request_id}" for k in ("go", "reason", "confirm"))
    assert at.checkbox(key=confirm).value is False and at.button(key=go).disabled
    at.checkbox(key=confirm).check().run()
    at.button(key=go).click().run()
    assert any("motif" in e.lower() for e in errors(at)), errors(at)
    assert not decisions(sub.request_id)
    at.text_area(key=reason).input("Demande présentée en double").run()
    at.checkbox(key=confirm).check().run()
    at.button(key=go).click().run()
    assert not at.exception
    assert f"La demande {sub.reference} est annulée" in texts(at)
    (decision,) = decisions(sub.request_id)
    assert decision.reason == "Demande présentée en double"
    # Clicked again (a stale page): refused, with the API's French message.
    at.text_area(key=reason).input("Encore").run()
    at.checkbox(key=confirm).check().run()
    at.button(key=go).click().run()
    assert any("déjà fermée" in e for e in errors(at)), errors(at)
    assert len(decisions(sub.request_id)) == 1


def test_the_soes_cannot_and_nothing_shows_once_approved(app):
    sub, _ = authorized_request()
    at = opened(app, "soes", sub.reference)
    assert not [b for b in at.button if b.key.startswith("cancel_go:")]
    done, _ = authorized_request()
    set_status(done.request_id, RequestStatus.completed)
    at = opened(app, "respondent", done.reference)
    assert not [b for b in at.button if b.key.startswith("cancel_go:")]
    at = opened(app, "respondent", sub.reference)
    assert at.button(key=f"cancel_go:{sub.request_id}")
