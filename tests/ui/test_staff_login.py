"""« Connexion RAMQ »: staff sign in and out; a respondent lands on the queue, a manager on the
read-only tracking page; other accounts and wrong passwords are refused."""

from __future__ import annotations

from tests.ui.conftest import STAFF_PASSWORD, errors, goto, issued_account, nav_error, staff_account, submit
from ui.common import STAFF_KEY


def sign_in(app, username, password):
    at = goto(app(), "staff_login.py")
    at.text_input(key="staff_username").input(username)
    at.text_input(key="staff_password").input(password)
    return at.button[[b.label for b in at.button].index("Se connecter")].click().run()


def test_wrong_password_and_non_staff_accounts_are_refused(app):
    staff = staff_account("respondent")
    user = issued_account(submit().request_id, "Temp-Passw0rd-xyz")
    for username, password in ((staff["username"], "mauvais"), (user["username"], "Temp-Passw0rd-xyz"),
                               ("", "")):
        at = sign_in(app, username, password)
        assert not at.exception
        assert errors(at) == ["Nom d'utilisateur ou mot de passe incorrect, ou accès expiré."]
        assert STAFF_KEY not in at.session_state
        assert nav_error(at, "work_queue.py") and nav_error(at, "runs.py")


def test_a_respondent_lands_on_the_queue_and_signs_out(app):
    staff = staff_account("respondent")
    at = sign_in(app, staff["username"], STAFF_PASSWORD)
    assert not at.exception
    assert at.title[0].value == "File de travail"
    assert nav_error(at, "runs.py")  # a respondent is no manager
    at.sidebar.button(key="logout").click().run()
    assert STAFF_KEY not in at.session_state
    assert not at.dataframe and not [b for b in at.button if b.key.startswith("q_")]
    assert nav_error(at, "work_queue.py")


def test_a_manager_lands_on_the_tracking_page(app):
    staff = staff_account("manager")
    at = sign_in(app, staff["username"].upper(), STAFF_PASSWORD)
    assert at.title[0].value == "Suivi des demandes"
    assert nav_error(at, "work_queue.py")
    # Back on the login page, the manager is told they are signed in.
    at = goto(at, "staff_login.py")
    assert "Vous êtes connecté" in at.success[0].value
