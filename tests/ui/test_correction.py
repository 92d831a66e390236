"""« Corriger » (/corriger?t=…): the request pre-filled with the respondent's comments; errors
under their fields; resubmitting makes a new revision (older links void); bad links refused."""

from __future__ import annotations

import base64
from datetime import timedelta

from sqlmodel import select

from models.db import session_scope
from models.tables import Decision, utcnow
from tests.models.helpers import image_b64
from tests.ui.conftest import errors, errors_under, goto, request_row, sent_back, texts, token


def open_page(app, tok):
    return goto(app(query={"t": tok}), "correction.py")


def k(sub, path: str) -> str:
    return f"cor{sub.request_id}r1:{path}"


def test_the_request_comes_prefilled_with_the_respondents_comments(app):
    sub, _, tok = sent_back("Le numéro d'établissement 01234 n'existe pas.\nVérifiez-le.")
    at = open_page(app, tok)
    assert not at.exception and not errors(at)
    page = texts(at)
    assert sub.reference in page
    assert "Corrections demandées par la RAMQ" in page and "n'existe pas" in page
    assert at.text_input(key=k(sub, "user.first_name")).value == "MARIE"
    assert at.text_input(key=k(sub, "user.postal_code")).value == "G1S 4L8"
    assert at.text_input(key=k(sub, "est.0")).value == "12345"
    assert at.text_input(key=k(sub, "est.1")).value == "23456"
    assert at.checkbox(key=k(sub, "applications.online_payment_authorization")).value is True
    assert at.radio(key=k(sub, "organization_type")).value == "establishment"
    assert at.radio(key=k(sub, "register_scope")).value == "some_installations"
    assert at.radio(key=k(sub, "user.signature.choice")).value == "keep"
    assert at.image, "the signature already given is shown"


def test_an_invalid_correction_shows_errors_and_changes_nothing(app):
    sub, task_id, tok = sent_back()
    at = open_page(app, tok)
    at.text_input(key=k(sub, "user.email")).input("pas-une-adresse")
    at.button(key=f"cor{sub.request_id}r1_resubmit").click().run()
    assert not at.exception
    assert any("n'est pas valide" in e for e in errors_under(at, k(sub, "user.email")))
    assert at.text_input(key=k(sub, "user.email")).value == "pas-une-adresse"
    assert request_row(sub.request_id).revision == 1


def test_a_valid_correction_is_resubmitted_as_a_new_revision(app):
    sub, task_id, tok = sent_back()
    at = open_page(app, tok)
    at.text_input(key=k(sub, "user.function")).input("Chef de service")
    at.text_input(key=k(sub, "est.1")).input("")
    # The content changed: the former signature cannot stay under it.
    at.button(key=f"cor{sub.request_id}r1_resubmit").click().run()
    assert not at.exception
    assert any("signez-la de nouveau" in e for e in errors(at))
    assert request_row(sub.request_id).revision == 1
    at.radio(key=k(sub, "user.signature.choice")).set_value("image").run()
    at.file_uploader(key=k(sub, "user.signature.upload")).set_value(
        ("signature.png", base64.b64decode(image_b64(size=(40, 12))), "image/png")).run()
    at.button(key=f"cor{sub.request_id}r1_resubmit").click().run()
    assert not at.exception
    assert not errors(at), errors(at)
    assert "Votre demande corrigée" in texts(at)
    req = request_row(sub.request_id)
    assert req.revision == 2
    assert req.user_function == "CHEF DE SERVICE"
    assert req.additional_establishment_numbers == ["12345"]
    with session_scope() as s:
        assert s.exec(select(Decision).where(Decision.task_id == task_id)).one().outcome == "resubmit"
    # The link is used now, and the authorization link of round 1 is void.
    assert "déjà été utilisé" in errors(open_page(app, tok))[0]
    old = goto(app(query={"t": token(sub.request_id, purpose="authorize", revision=1)}), "authorization.py")
    assert "ne correspond plus" in errors(old)[0]


def test_bad_correction_links_get_french_pages(app):
    sub, _, tok = sent_back()
    assert errors(open_page(app, "faux"))[0].startswith("Ce lien n'est pas valide")
    expired = token(sub.request_id, purpose="correct", now=utcnow() - timedelta(days=90),
                    ttl=timedelta(days=30))
    assert "expiré" in errors(open_page(app, expired))[0]
    assert errors(open_page(app, token(sub.request_id, purpose="authorize"))) == [
        "Ce lien ne sert pas à cette page."]
    at = goto(app(), "correction.py")
    assert not at.exception and "lien reçu par courriel" in texts(at)
