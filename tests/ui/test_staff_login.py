"""« Connexion RAMQ »: staff sign in and out; a respondent lands on the queue, a manager on the
read-only tracking page; other accounts and wrong passwords are refused; guessing is slowed with
a French message; an idle session ends with a French message."""

from __future__ import annotations

import time
import uuid

from tests.ui.conftest import STAFF_PASSWORD, errors, goto, issued_account, nav_error, submit, texts
from tests.ui.conftest import staff_account as _staff_account
from ui.common import STAFF_KEY, STAFF_SEEN_KEY, STAFF_SESSION_KEY, TICKET_KEY


def staff_account(role: str) -> dict:
    """A staff account with its (required) professional email."""
    return _staff_account(role, email=f"agent.{uuid.uuid4().hex[:10]}@ramq.example.qc.ca")


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
    # The queue posts the session's one-time ticket to the server, for the cookie (ui/server.py).
    posted = " ".join(el.proto.body for el in at.get("html"))
    assert 'fetch("/session/ouvrir"' in posted and "ticket=" in posted
    assert TICKET_KEY not in at.session_state  # posted once
    at.sidebar.button(key="logout").click().run()
    assert 'fetch("/session/fermer"' in " ".join(el.proto.body for el in at.get("html"))
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


def test_guessing_is_slowed_with_a_french_message_and_no_lockout(app):
    import re
    from datetime import timedelta

    from flows.stack import wait_until
    from models.tables import utcnow
    from models.throttle import USER, take_attempt

    staff = staff_account("respondent")
    at = goto(app(), "staff_login.py")  # the page is open (a slow start must not eat the wait)
    at.text_input(key="staff_username").input(staff["username"])
    at.text_input(key="staff_password").input(STAFF_PASSWORD)
    # Meanwhile a guesser somewhere (client unknown, as in local runs): threshold + 2 failures,
    # a minute apart, the last one now: the username must wait 4 s.
    failures = USER.threshold + 2
    for i in range(failures):
        take_attempt(staff["username"], None, now=utcnow() - timedelta(minutes=failures - 1 - i))
    at = at.button[[b.label for b in at.button].index("Se connecter")].click().run()
    assert not at.exception
    assert len(errors(at)) == 1 and errors(at)[0].startswith("Trop de tentatives de connexion.")
    assert re.search(r"Réessayez dans [1-4] s", errors(at)[0]), errors(at)[0]
    assert STAFF_KEY not in at.session_state
    # The wait is short, not a lockout: the right password soon works again.
    at = wait_until(lambda: (a := sign_in(app, staff["username"], STAFF_PASSWORD)).title
                    and a.title[0].value == "File de travail" and a, timeout=60,
                    what="the right password works again after the wait")
    assert STAFF_KEY in at.session_state


def _idle_for(at, minutes: int) -> None:
    """The login's session was last used ``minutes`` ago (in any tab of the person)."""
    from datetime import timedelta

    from models.db import session_scope
    from models.tables import StaffSession, utcnow

    with session_scope() as s:
        row = s.get(StaffSession, at.session_state[STAFF_SESSION_KEY])
        row.last_seen_at = utcnow() - timedelta(minutes=minutes)


def test_an_idle_staff_session_ends_with_a_french_message(app):
    staff = staff_account("respondent")
    at = sign_in(app, staff["username"], STAFF_PASSWORD)
    assert at.title[0].value == "File de travail"
    _idle_for(at, 29)  # 29 minutes: still signed in
    at = goto(at, "work_queue.py")
    assert at.title[0].value == "File de travail" and STAFF_KEY in at.session_state
    _idle_for(at, 31)  # 31 minutes without a click
    at = goto(at, "staff_login.py")
    assert STAFF_KEY not in at.session_state
    assert "Votre session a pris fin après 30 minutes d'inactivité" in texts(at)
    assert at.text_input(key="staff_username")  # the login form again
    assert nav_error(at, "work_queue.py")
    at = goto(at, "staff_login.py")  # the message is said once
    assert "inactivité" not in texts(at)


def test_a_login_without_a_session_ends_after_the_idle_time_of_its_tab(app):
    staff = staff_account("respondent")
    at = app(state={STAFF_KEY: staff["id"], STAFF_SEEN_KEY: time.time() - 29 * 60})
    at = goto(at, "work_queue.py")
    assert at.title[0].value == "File de travail"
    at.session_state[STAFF_SEEN_KEY] = time.time() - 31 * 60
    at = goto(at, "staff_login.py")
    assert STAFF_KEY not in at.session_state
    assert "Votre session a pris fin après 30 minutes d'inactivité" in texts(at)


def test_signing_out_closes_the_session_for_every_tab(app):
    from models.staff_sessions import check_session

    staff = staff_account("respondent")
    at = sign_in(app, staff["username"], STAFF_PASSWORD)
    session_id = at.session_state[STAFF_SESSION_KEY]
    other_tab = goto(app(state={STAFF_KEY: staff["id"], STAFF_SESSION_KEY: session_id}), "work_queue.py")
    assert other_tab.title[0].value == "File de travail"
    at.sidebar.button(key="logout").click().run()
    assert check_session(session_id, staff["id"]).staff is None
    other_tab = goto(other_tab, "staff_login.py")
    assert STAFF_KEY not in other_tab.session_state
    assert nav_error(other_tab, "work_queue.py")


def test_without_oidc_settings_the_page_offers_the_local_form_only(app):
    at = goto(app(), "staff_login.py")
    assert not at.exception
    assert [b.label for b in at.button] == ["Se connecter"] and not at.expander


def test_with_oidc_settings_the_provider_comes_first_and_the_local_form_stays_behind(app, monkeypatch):
    monkeypatch.setenv("RAMQ_OIDC_METADATA_URL", "https://idp.example/.well-known/openid-configuration")
    monkeypatch.setenv("RAMQ_OIDC_CLIENT_ID", "ramq-acces")
    monkeypatch.setenv("RAMQ_OIDC_CLIENT_SECRET", "secret")
    monkeypatch.setenv("RAMQ_OIDC_PROVIDER_LABEL", "Santé Québec")
    from models.settings import get_settings

    get_settings.cache_clear()
    at = goto(app(), "staff_login.py")
    assert not at.exception
    assert at.button[0].label == "Se connecter avec Santé Québec"
    assert [e.label for e in at.expander] == ["Compte local de la RAMQ (nom d'utilisateur et mot de passe)"]
    staff = staff_account("respondent")  # the local form still works behind it
    at.text_input(key="staff_username").input(staff["username"])
    at.text_input(key="staff_password").input(STAFF_PASSWORD)
    at = at.button[[b.label for b in at.button].index("Se connecter")].click().run()
    assert at.title[0].value == "File de travail"

    monkeypatch.setenv("RAMQ_LOCAL_STAFF_LOGIN", "false")
    get_settings.cache_clear()
    at = goto(app(), "staff_login.py")
    assert [b.label for b in at.button] == ["Se connecter avec Santé Québec"] and not at.expander
    get_settings.cache_clear()
