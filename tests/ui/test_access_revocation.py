"""The issued access under a request opened in « Rechercher une demande » (issue 10, item 2):
its state, and for respondents and managers a reason and « Révoquer l'accès » / « Rétablir
l'accès »; the SOES sees the state only. A renewal link opens the public form prefilled."""

from __future__ import annotations

from models.db import session_scope
from models.tables import Account
from notifications.links import make_link_token
from tests.ui.conftest import authorized_request, errors, goto, issued_account, staff_account, texts
from ui.common import STAFF_KEY


def disabled(account_id: int) -> bool:
    with session_scope() as s:
        return s.get(Account, account_id).disabled


def opened(app, role: str, reference: str):
    at = goto(app(state={STAFF_KEY: staff_account(role)["id"]}), "search.py")
    at.text_input(key="search_q").input(reference).run()
    assert not at.exception
    return at


def test_a_manager_revokes_then_restores_with_a_reason(app):
    sub, _ = authorized_request()
    account = issued_account(sub.request_id, "Temporaire-2026!")
    at = opened(app, "manager", sub.reference)
    assert "Actif du" in texts(at)
    go = f"access_go:{sub.request_id}"
    assert at.button(key=go).label == "Révoquer l'accès"
    at.button(key=go).click().run()
    assert any("motif" in e.lower() for e in errors(at)), errors(at)
    assert not disabled(account["id"])
    at.text_area(key=f"access_reason:{sub.request_id}").input("Engagement non respecté").run()
    at.button(key=go).click().run()
    assert not at.exception
    assert disabled(account["id"])
    assert "est révoqué" in texts(at) and "Révoqué le" in texts(at)
    assert at.button(key=go).label == "Rétablir l'accès"
    at.text_area(key=f"access_reason:{sub.request_id}").input("Vérification faite").run()
    at.button(key=go).click().run()
    assert not at.exception and not disabled(account["id"])
    assert "est rétabli" in texts(at)


def test_the_soes_sees_the_state_only_and_no_account_shows_nothing_to_click(app):
    sub, _ = authorized_request()
    issued_account(sub.request_id, "Temporaire-2026!")
    at = opened(app, "soes", sub.reference)
    assert "Actif du" in texts(at)
    assert [b.key for b in at.button] == ["logout"]
    other, _ = authorized_request()
    at = opened(app, "respondent", other.reference)
    assert "Aucun accès n'a été délivré" in texts(at)
    assert [b.key for b in at.button if not b.key.startswith("cancel_go:")] == ["logout"]  # cancel: its own


def test_a_renewal_link_opens_the_form_prefilled_to_check_and_sign(app):
    sub, _ = authorized_request(first_name="Éloïse")
    token = make_link_token(request_id=sub.request_id, purpose="renew").token
    at = app(query={"t": token})
    assert not at.exception
    assert "rempli à partir de votre demande précédente" in texts(at)
    assert at.text_input(key="sub:user.first_name").value.upper() == "ÉLOÏSE"
    assert at.text_input(key="sub:authorizer.email").value
    forged = app(query={"t": token[:-4] + "AAAA"})
    assert "lien n'est pas valide" in texts(forged)
