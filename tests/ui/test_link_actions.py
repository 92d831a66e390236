"""The staff's link actions under a request opened in « Rechercher une demande » (issue 10,
item 3): while the authorizer is awaited, « Envoyer un nouveau lien à la personne qui autorise »
and « Demander une autre personne qui autorise » (reason required); while the correction is awaited, « Envoyer un
nouveau lien de correction à l'utilisateur »; nothing for the SOES nor at the other steps."""

from __future__ import annotations

from sqlmodel import select

from flows import api
from flows.errors import ActionError
from models.db import session_scope
from models.enums import RequestStatus, TaskKind
from models.tables import AccessRequest, Decision, OutboxEmail
from tests.ui.conftest import (
    authorized_request,
    errors,
    errors_under,
    goto,
    open_task,
    staff_account,
    submit,
    texts,
    token,
)
from tests.ui.test_access_revocation import opened
from tests.ui.test_correction import k, open_page


def _awaiting(status: RequestStatus = RequestStatus.awaiting_authorizer):
    sub = submit()
    open_task(sub.request_id, TaskKind.authorizer if status is RequestStatus.awaiting_authorizer
              else TaskKind.correction)
    with session_scope() as s:
        req = s.get(AccessRequest, sub.request_id)
        req.status = status.value
        s.add(req)
    return sub


def _sent(request_id: int, kind: str) -> int:
    with session_scope() as s:
        return len(s.exec(select(OutboxEmail).where(OutboxEmail.request_id == request_id,
                                                    OutboxEmail.kind == kind)).all())


def test_a_respondent_resends_the_authorizer_link(app):
    sub = _awaiting()
    old = token(sub.request_id)
    at = opened(app, "respondent", sub.reference)
    go = f"links_resend:{sub.request_id}"
    assert at.button(key=go).label == "Envoyer un nouveau lien à la personne qui autorise"
    at.button(key=go).click().run()
    assert not at.exception
    assert "Un nouveau lien est envoyé" in texts(at)
    assert _sent(sub.request_id, "authorization_resent") == 1
    try:
        api.open_link(old, purpose="authorize")
        raise AssertionError("the old link still opens")
    except ActionError as exc:
        assert exc.code == "link_replaced"
    at.button(key=go).click().run()  # a second click at once: refused, nothing sent
    assert any("vient d'être envoyé" in e for e in errors(at)), errors(at)
    assert _sent(sub.request_id, "authorization_resent") == 1


def test_a_manager_changes_the_authorizer_with_a_reason(app):
    sub = _awaiting()
    at = opened(app, "manager", sub.reference)
    go = f"links_change:{sub.request_id}"
    assert at.button(key=go).label == "Demander une autre personne qui autorise"
    at.button(key=go).click().run()
    assert any("motif" in e.lower() for e in errors(at)), errors(at)
    at.text_area(key=f"links_reason:{sub.request_id}").input("La personne a pris sa retraite.").run()
    at.button(key=go).click().run()
    assert not at.exception
    assert "nomme une autre personne qui autorise" in texts(at)
    with session_scope() as s:
        decision = s.exec(select(Decision).where(Decision.request_id == sub.request_id)).one()
    assert (decision.outcome, decision.reason) == ("reassign_authorizer", "La personne a pris sa retraite.")


def test_the_correction_link_is_resent_and_others_see_no_button(app):
    sub = _awaiting(RequestStatus.correction_requested)
    at = opened(app, "respondent", sub.reference)
    go = f"links_resend:{sub.request_id}"
    assert at.button(key=go).label == "Envoyer un nouveau lien de correction à l'utilisateur"
    assert not [b for b in at.button if b.key == f"links_change:{sub.request_id}"]
    at.button(key=go).click().run()
    assert "Un nouveau lien de correction est envoyé" in texts(at)
    assert _sent(sub.request_id, "correction_resent") == 1
    at = opened(app, "soes", _awaiting().reference)
    assert [b.key for b in at.button] == ["logout"]
    other, _ = authorized_request()  # in the respondents' queue: no link to resend
    with session_scope() as s:
        req = s.get(AccessRequest, other.request_id)
        req.status = RequestStatus.awaiting_respondent.value
        s.add(req)
    at = opened(app, "respondent", other.reference)
    assert not [b.key for b in at.button if b.key.startswith("links_")]  # cancelling stays possible


def test_after_a_change_of_authorizer_the_user_reads_why_and_must_name_another(app):

    sub = _awaiting()
    old = token(sub.request_id)
    api.change_authorizer(sub.request_id, staff=staff_account("respondent")["username"],
                          reason="Cette personne a quitté l'établissement.")
    page = goto(app(query={"t": old}), "authorization.py")
    assert "remplacé par un lien plus récent" in errors(page)[0]
    open_task(sub.request_id, TaskKind.correction)  # what the flow does next
    at = open_page(app, token(sub.request_id, purpose="correct"))
    assert not at.exception
    assert "La RAMQ vous demande de nommer une autre personne qui autorise : Cette personne a quitté" in texts(at)
    at.button(key=f"cor{sub.request_id}r1_resubmit").click().run()
    assert not at.exception
    assert any("autre adresse" in e for e in errors_under(at, k(sub, "authorizer.email"))), errors(at)
