"""« Mon accès »: sign in with the username and the temporary password; a new password is
required first; then the access granted (applications, registers, establishments, validity)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from models.accounts import verify_password
from models.db import session_scope
from models.tables import Account, quebec_today, utcnow
from tests.ui.conftest import STAFF_PASSWORD, errors, goto, issued_account, submit, texts
from tests.ui.conftest import staff_account as _staff_account
from ui.common import MY_ACCESS_KEY


def staff_account(role: str) -> dict:
    return _staff_account(role, email=f"agent.{uuid.uuid4().hex[:10]}@ramq.example.qc.ca")

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


def _expire_temporary_password(account_id: int, *, days_ago: float) -> None:
    with session_scope() as s:
        stored = s.get(Account, account_id)
        stored.temp_password_expires_at = utcnow() - timedelta(days=days_ago)
        s.add(stored)


def test_an_unused_temporary_password_expires_with_a_french_message(app):
    sub = submit()
    account = issued_account(sub.request_id, TEMP)
    _expire_temporary_password(account["id"], days_ago=0.01)
    at = sign_in(page(app), account["username"], TEMP)
    assert errors(at) == ["Votre mot de passe temporaire est expiré : il n'a pas été changé dans "
                          "les 7 jours suivant son envoi. Demandez un nouveau mot de passe "
                          "temporaire à la RAMQ."]
    assert MY_ACCESS_KEY not in at.session_state
    # A wrong password on the same account says nothing about the expiry.
    at = sign_in(page(app), account["username"], "pas-le-bon-2026")
    assert errors(at) == ["Nom d'utilisateur ou mot de passe incorrect, ou accès expiré."]


def test_an_expiry_date_does_not_matter_once_the_password_was_changed(app):
    sub = submit()
    account = issued_account(sub.request_id, TEMP, must_change=False)
    _expire_temporary_password(account["id"], days_ago=30)
    at = sign_in(page(app), account["username"], TEMP)
    assert not errors(at) and "Accès accordé" in texts(at)


def test_guessing_on_mon_acces_is_slowed_with_a_french_message(app):
    from datetime import timedelta

    from models import throttle
    from models.tables import utcnow

    sub = submit()
    account = issued_account(sub.request_id, TEMP)
    # Wrong guesses spread over minutes (each one after the previous wait): the username's wait
    # has grown to its cap, so the next sign-in, right password or not, is refused. (Ten guesses
    # in a row left a wait of one second, which a slow machine had passed before the sign-in.)
    when = utcnow()
    for _ in range(throttle.USER.threshold + 6):
        throttle.take_attempt(account["username"], None, now=when)
        when += timedelta(seconds=throttle.USER.cap_seconds + 1)
    at = sign_in(page(app), account["username"], TEMP)
    assert len(errors(at)) == 1 and "Trop de tentatives de connexion." in errors(at)[0]
    assert MY_ACCESS_KEY not in at.session_state


FORGOT_DONE = ("Si un accès correspond, un nouveau mot de passe temporaire a été envoyé à "
               "l'adresse de l'utilisateur.")


def forgot(at, name):
    at.text_input(key="ma_forgot").input(name)
    return at.button[[b.label for b in at.button].index("Envoyer un nouveau mot de passe")].click().run()


def test_forgotten_password_says_the_same_whatever_is_typed(app, smtp_server, monkeypatch):
    from models.settings import get_settings
    from notifications.templates import read_secret
    from tests.ui.conftest import request_data

    monkeypatch.setenv("RAMQ_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("RAMQ_SMTP_PORT", str(smtp_server.port))
    get_settings.cache_clear()
    smtp_server.clear()
    data = request_data()
    sub = submit(data)
    account = issued_account(sub.request_id, TEMP, must_change=False)
    disabled = issued_account(submit().request_id, TEMP, must_change=False)
    with session_scope() as s:
        s.get(Account, disabled["id"]).disabled = True

    at = page(app)
    assert "Mot de passe oublié ?" in [e.label for e in at.expander]
    for name in ("inconnu", disabled["username"], account["username"]):
        at = forgot(at, name)
        assert not at.exception
        assert [str(m.value) for m in at.success] == [FORGOT_DONE]
        assert not errors(at)
        assert at.text_input(key="ma_forgot").value == ""
        assert MY_ACCESS_KEY not in at.session_state
    (msg,) = smtp_server.to(data["user"]["email"])
    assert len(smtp_server.messages) == 1 and not smtp_server.to(data["authorizer"]["email"])
    password = read_secret(msg.get_body(("plain",)).get_content())
    assert password and password not in texts(at)
    assert all(password not in str(w.value) for w in at.text_input)

    at = sign_in(page(app), account["username"], password)  # the new one works, and must be changed
    assert not errors(at) and "Première connexion" in texts(at)
