"""« Mon accès »: sign in with the username and the temporary password; a new password is
required first; then the access granted (applications, registers, establishments, validity)."""

from __future__ import annotations

from datetime import timedelta

from models.accounts import verify_password
from models.db import session_scope
from models.tables import Account, quebec_today
from tests.ui.conftest import STAFF_PASSWORD, errors, goto, issued_account, staff_account, submit, texts
from ui.common import MY_ACCESS_KEY

TEMP = "Temp-Passw0rd-xyz"
NEW = "Mon-nouveau-mot-2026"


def page(app):
    return goto(app(), "my_access.py")


def sign_in(at, username, password):
    at.text_input(key="ma_username").input(username)
    at.text_input(key="ma_password").input(password)
    return at.button[[b.label for b in at.button].index("Se connecter")].click().run()


def change(at, current, new, confirm):
    at.text_input(key="ma_current").input(current)
    at.text_input(key="ma_new").input(new)
    at.text_input(key="ma_confirm").input(confirm)
    return at.button[[b.label for b in at.button].index("Changer le mot de passe")].click().run()


def test_wrong_password_unknown_user_and_staff_accounts_are_refused(app):
    sub = submit()
    account = issued_account(sub.request_id, TEMP)
    staff = staff_account("respondent")
    for username, password in ((account["username"], "mauvais-mot-de-passe"),
                               ("inconnu", TEMP), (staff["username"], STAFF_PASSWORD)):
        at = sign_in(page(app), username, password)
        assert not at.exception
        assert errors(at) == ["Nom d'utilisateur ou mot de passe incorrect, ou accès expiré."]
        assert MY_ACCESS_KEY not in at.session_state
        assert at.text_input(key="ma_password").value == ""  # never kept


def test_an_expired_access_cannot_sign_in(app):
    sub = submit()
    today = quebec_today()
    account = issued_account(sub.request_id, TEMP, valid_from=today - timedelta(days=400),
                             valid_until=today - timedelta(days=1))
    at = sign_in(page(app), account["username"], TEMP)
    assert errors(at) == ["Nom d'utilisateur ou mot de passe incorrect, ou accès expiré."]


def test_first_sign_in_forces_a_new_password_then_shows_the_access(app):
    sub = submit()
    account = issued_account(sub.request_id, TEMP)
    at = sign_in(page(app), account["username"], TEMP)
    assert not errors(at)
    assert "Première connexion" in texts(at)
    assert "Accès accordé" not in texts(at)

    at = change(at, TEMP, NEW, NEW + "x")
    assert errors(at) == ["Les deux mots de passe ne sont pas identiques."]
    at = change(at, TEMP, "court1", "court1")
    assert errors(at) == ["Le mot de passe doit compter au moins 12 caractères."]
    at = change(at, "pas-le-bon-mot", NEW, NEW)
    assert errors(at) == ["Le mot de passe actuel est incorrect."]
    at = change(at, TEMP, NEW, NEW)
    assert not errors(at), errors(at)
    page_text = texts(at)
    assert "Votre mot de passe est changé." in page_text
    assert "Accès accordé" in page_text
    assert "Autorisation des demandes de paiement en ligne" in page_text
    assert "De certaines installations de l'établissement" in page_text
    assert "12345, 23456" in page_text and sub.reference.replace("-", "\\-") in page_text
    with session_scope() as s:
        stored = s.get(Account, account["id"])
        assert not stored.must_change_password and verify_password(stored.password_hash, NEW)

    at.button(key="ma_logout").click().run()
    assert MY_ACCESS_KEY not in at.session_state
    assert at.text_input(key="ma_username")
    # The temporary password no longer works; the new one does, straight to the access.
    assert errors(sign_in(page(app), account["username"], TEMP))
    at = sign_in(page(app), account["username"], NEW)
    assert "Accès accordé" in texts(at)
