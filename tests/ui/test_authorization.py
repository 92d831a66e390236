"""« Autoriser » (/autoriser?t=…): the summary, section 3 with the roles that fit the
organization, the board resolution when the rules ask for it, authorize or refuse; a bad link
(missing, forged, tampered, expired, used, voided, meant for another page) gets a French page."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from flows import api
from models.db import session_scope
from models.enums import TaskKind
from models.tables import Authorization, Decision, HumanTask, UsedLink, utcnow
from tests.ui.conftest import (
    PNG,
    elements,
    errors,
    errors_under,
    goto,
    open_task,
    request_data,
    submit,
    texts,
    token,
)

INVALID = "Ce lien n'est pas valide. Utilisez le lien reçu par courriel, sans le modifier."


def waiting(kind: str = "establishment", **overrides):
    """A submitted request whose authorizer task (round 1) is open, and its link."""
    data = request_data(kind)
    data.update(overrides)
    sub = submit(data)
    task_id = open_task(sub.request_id, TaskKind.authorizer)
    return sub, task_id, token(sub.request_id)


def open_page(app, tok: str | None):
    at = app(query={"t": tok} if tok else None)
    return goto(at, "authorization.py")


def k(sub, path: str) -> str:
    return f"aut{sub.request_id}r1:{path}"


def fill_section3(at, sub, *, role="dsp", resolution=True):
    at.radio(key=k(sub, "authorization.role")).set_value(role)
    at.run()
    at.radio(key=k(sub, "authorization.sex")).set_value("M")
    for path, value in {"function": "Directeur des services professionnels", "phone": "418 555-0199",
                        "organization_name": "CISSS de la Capitale",
                        "address": "1050, chemin Sainte-Foy, Québec", "postal_code": "G1S 4L8"}.items():
        at.text_input(key=k(sub, f"authorization.{path}")).input(value)
    if resolution:
        at.text_input(key=k(sub, "authorization.board_resolution.number")).input("CA-2024-031")
        at.date_input(key=k(sub, "authorization.board_resolution.date")).set_value(date(2024, 1, 15))
    at.checkbox(key=k(sub, "authorization.commitments_accepted")).check()
    at.radio(key=k(sub, "authorization.signature.choice")).set_value("image")
    at.run()
    at.file_uploader(key=k(sub, "authorization.signature.upload")).set_value(("sig.png", PNG, "image/png"))
    return at.run()


def decisions(task_id: int) -> list[Decision]:
    with session_scope() as s:
        return list(s.exec(select(Decision).where(Decision.task_id == task_id)).all())


def test_without_a_link_the_page_says_to_use_the_email(app):
    at = open_page(app, None)
    assert not at.exception
    assert "lien reçu par courriel" in texts(at)


def test_a_forged_link_gets_a_clear_french_page(app):
    for forged in ("n-importe-quoi", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "a" * 5000):
        at = open_page(app, forged)
        assert not at.exception
        assert errors(at) == [INVALID]


def test_a_tampered_link_is_refused(app):
    sub, _, tok = waiting()
    head, payload, sig = tok.split(".")
    tampered = ".".join([head, payload, ("A" if sig[0] != "A" else "B") + sig[1:]])
    at = open_page(app, tampered)
    assert errors(at) == [INVALID]


def test_an_expired_link_is_refused(app):
    sub = submit()
    open_task(sub.request_id, TaskKind.authorizer)
    old = token(sub.request_id, now=utcnow() - timedelta(days=30), ttl=timedelta(days=1))
    at = open_page(app, old)
    assert not at.exception
    assert "expiré" in errors(at)[0]


def test_a_used_link_is_refused(app):
    sub, _, tok = waiting()
    api.authorizer_decide(tok, outcome="refuse", reason="Pas à mon service")
    at = open_page(app, tok)
    assert errors(at) == ["Ce lien a déjà été utilisé : la décision est enregistrée."]


def test_a_link_of_an_older_revision_is_void(app):
    sub, _, _ = waiting()
    at = open_page(app, token(sub.request_id, revision=2))
    assert "ne correspond plus à la demande" in errors(at)[0]


def test_a_correction_link_does_not_open_the_authorization_page(app):
    sub, _, _ = waiting()
    at = open_page(app, token(sub.request_id, purpose="correct"))
    assert errors(at) == ["Ce lien ne sert pas à cette page."]


def test_opening_the_link_shows_the_request_and_decides_nothing(app):
    sub, task_id, tok = waiting()
    at = open_page(app, tok)
    assert not at.exception and not errors(at)
    page = texts(at)
    assert sub.reference in page
    assert "MARIE" in page and "TREMBLAY" in page and "12345" in page
    assert at.image, "the user's signature is shown"
    assert "Rien n'est décidé" in page
    assert decisions(task_id) == []
    with session_scope() as s:
        assert s.exec(select(UsedLink).where(UsedLink.request_id == sub.request_id)).first() is None
        assert s.get(HumanTask, task_id).status == "open"


def test_an_establishment_offers_dsp_or_dg_and_asks_for_the_board_resolution(app):
    sub, _, tok = waiting()
    at = open_page(app, tok)
    role = at.radio(key=k(sub, "authorization.role"))
    assert role.options == ["Directeur ou directrice des services professionnels",
                            "Directeur général ou directrice générale"]
    assert not [d for d in at.date_input]  # no resolution asked before a role is chosen
    role.set_value("dg").run()
    assert at.text_input(key=k(sub, "authorization.board_resolution.number"))
    assert at.date_input(key=k(sub, "authorization.board_resolution.date"))


def test_a_gmf_offers_its_physicians_and_no_board_resolution(app):
    sub, _, tok = waiting("gmf")
    at = open_page(app, tok)
    role = at.radio(key=k(sub, "authorization.role"))
    assert role.options == ["Médecin responsable du GMF", "Médecin coresponsable du GMF"]
    role.set_value("gmf_responsible_physician").run()
    assert not [d for d in at.date_input]


def test_authorizing_an_incomplete_section3_shows_the_errors_and_decides_nothing(app):
    sub, task_id, tok = waiting()
    at = open_page(app, tok)
    at.radio(key=k(sub, "authorization.role")).set_value("dsp").run()
    at.text_input(key=k(sub, "authorization.phone")).input("555").run()
    at.button(key=f"aut{sub.request_id}r1_authorize").click().run()
    assert not at.exception
    assert errors_under(at, k(sub, "authorization.function")) == ["Ce champ est obligatoire."]
    assert any("10 chiffres" in e for e in errors_under(at, k(sub, "authorization.phone")))
    assert any("résolution du conseil" in e for e in errors(at))
    assert at.text_input(key=k(sub, "authorization.phone")).value == "555"
    assert decisions(task_id) == []


def test_authorizing_stores_section3_and_the_link_then_is_used(app):
    sub, task_id, tok = waiting()
    at = fill_section3(open_page(app, tok), sub)
    at.button(key=f"aut{sub.request_id}r1_authorize").click().run()
    assert not at.exception
    assert not errors(at), errors(at)
    assert f"Votre autorisation est enregistrée pour la demande {sub.reference}" in texts(at)
    [decision] = decisions(task_id)
    assert decision.outcome == "authorize"
    with session_scope() as s:
        auth = s.exec(select(Authorization).where(Authorization.request_id == sub.request_id)).one()
        assert auth.role == "dsp" and auth.function == "DIRECTEUR DES SERVICES PROFESSIONNELS"
        assert auth.board_resolution_number == "CA-2024-031"
        assert auth.signature["method"] == "image"
    again = open_page(app, tok)
    assert errors(again) == ["Ce lien a déjà été utilisé : la décision est enregistrée."]


def test_refusing_requires_a_reason(app):
    sub, task_id, tok = waiting()
    at = open_page(app, tok)
    at.button(key=f"aut{sub.request_id}r1_refuse").click().run()
    assert "Indiquez le motif." in errors(at)
    assert decisions(task_id) == []
    at.text_area(key=k(sub, "refuse_reason")).input("Cette personne ne travaille pas chez nous.")
    at.button(key=f"aut{sub.request_id}r1_refuse").click().run()
    assert "Votre refus est enregistré" in texts(at)
    [decision] = decisions(task_id)
    assert decision.outcome == "refuse" and decision.reason == "Cette personne ne travaille pas chez nous."


def test_a_second_click_after_the_decision_is_not_applied_twice(app):
    sub, task_id, tok = waiting()
    at = open_page(app, tok)
    other = fill_section3(open_page(app, tok), sub)  # the same link open in two tabs
    at.text_area(key=k(sub, "refuse_reason")).input("Non")
    at.button(key=f"aut{sub.request_id}r1_refuse").click().run()
    other.button(key=f"aut{sub.request_id}r1_authorize").click().run()
    assert not other.exception
    assert "déjà été utilisé" in " ".join(errors(other))
    assert [d.outcome for d in decisions(task_id)] == ["refuse"]


def test_a_database_failure_on_opening_shows_a_french_message(app, monkeypatch):
    from models.settings import get_settings

    sub, _, tok = waiting()
    monkeypatch.setenv("RAMQ_DATABASE_URL", "sqlite:////dev/null/impossible/app.db")
    get_settings.cache_clear()
    at = open_page(app, tok)
    assert not at.exception
    assert errors(at)[0].startswith("Une erreur inattendue est survenue.")


def test_the_summary_follows_the_paper_form_order(app):
    """Sections 1, 2 (with the authorizer named), then 5, as on the paper form (issue 11)."""
    sub, _, tok = waiting()
    at = open_page(app, tok)
    headings = [str(el.value) for el in elements(at)
                if getattr(el, "type", "") == "markdown" and str(el.value).startswith("### ")]
    order = [h for h in headings if h[4:6] in ("1.", "2.", "5.") or "Personne qui autorise" in h]
    assert order == ["### 1. Description des services en ligne demandés", "### 2. Utilisateur",
                     "### Personne qui autorise la demande",
                     "### 5. Numéros d'établissement supplémentaires"], headings
