"""« Nouvelle demande »: every field of sections 1, 2 and 5, errors next to their fields in French,
what was typed kept, a signature from an uploaded image, the reference on success."""

from __future__ import annotations

from sqlmodel import select

from models.db import session_scope
from models.tables import AccessRequest
from tests.ui.conftest import PNG, count_requests, errors, errors_under, texts, unique_number


def k(path: str) -> str:
    return f"sub:{path}"


def fill_valid(at, *, email: str = "marie.tremblay@cisss.example.qc.ca",
               authorizer_email: str = "jean.gagnon@cisss.example.qc.ca", number: str | None = None):
    at.checkbox(key=k("applications.online_payment_authorization")).check()
    at.radio(key=k("existing_access")).set_value("no")
    at.radio(key=k("organization_type")).set_value("establishment")
    at.radio(key=k("register_scope")).set_value("all_installations")
    values = {
        "user.first_name": "Marie", "user.last_name": "Tremblay", "user.function": "Agente administrative",
        "user.email": email, "user.phone": "(418) 555-0123", "user.extension": "4567",
        "user.establishment_name": "CISSS de la Capitale",
        "user.establishment_number": number or unique_number(),
        "user.address": "1050, chemin Sainte-Foy, Québec", "user.postal_code": "g1s4l8",
        "authorizer.first_name": "Jean", "authorizer.last_name": "Gagnon",
        "authorizer.email": authorizer_email,
    }
    for path, value in values.items():
        at.text_input(key=k(path)).input(value)
    at.radio(key=k("user.sex")).set_value("F")
    at.checkbox(key=k("user.commitments_accepted")).check()
    at.radio(key=k("user.signature.choice")).set_value("image")
    at.run()
    at.file_uploader(key=k("user.signature.upload")).set_value(("signature.png", PNG, "image/png"))
    return at.run()


def test_the_form_opens_in_french_with_every_section_and_a_label_on_every_field(app):
    at = app()
    assert not at.exception
    assert at.title[0].value == "Demande d'accès aux services en ligne"
    headings = [h.value for h in at.header]
    for title in ("1. Description des services en ligne demandés", "2. Utilisateur",
                  "5. Numéros d'établissement supplémentaires", "Personne qui autorise la demande",
                  "Engagements et signature de l'utilisateur"):
        assert title in headings
    for widget in [*at.text_input, *at.radio, *at.checkbox]:
        assert widget.label.strip(), widget.key
    assert "Je m'engage" in texts(at)  # the form's commitments
    assert at.radio(key=k("user.signature.choice")).value == "drawn"  # the pad by default


def test_an_empty_form_shows_errors_next_to_the_fields_and_stores_nothing(app):
    before = count_requests()
    at = app()
    at.button(key="sub_submit").click().run()
    assert not at.exception
    assert any(e.startswith("Le formulaire contient") for e in errors(at))
    assert errors_under(at, k("user.first_name")) == ["Ce champ est obligatoire."]
    assert errors_under(at, k("authorizer.email")) == ["Ce champ est obligatoire."]
    assert "Vous devez accepter les engagements pour continuer." in errors_under(
        at, k("user.commitments_accepted"))
    assert any("signature est obligatoire" in e for e in errors(at))
    assert count_requests() == before


def test_invalid_values_get_french_messages_under_their_fields_and_what_was_typed_is_kept(app):
    before = count_requests()
    at = fill_valid(app(), email="info@cisss.example.qc.ca")
    at.text_input(key=k("user.postal_code")).input("D1A 1A1")
    at.text_input(key=k("user.phone")).input("123")
    at.button(key="sub_submit").click().run()
    assert not at.exception
    assert any("boîte courriel partagée" in e for e in errors_under(at, k("user.email")))
    assert any("code postal n'est pas valide" in e for e in errors_under(at, k("user.postal_code")))
    assert any("10 chiffres" in e for e in errors_under(at, k("user.phone")))
    assert errors_under(at, k("user.first_name")) == []
    # Nothing typed is lost.
    assert at.text_input(key=k("user.email")).value == "info@cisss.example.qc.ca"
    assert at.text_input(key=k("user.first_name")).value == "Marie"
    assert at.radio(key=k("organization_type")).value == "establishment"
    assert count_requests() == before


def test_same_mailbox_for_user_and_authorizer_is_refused(app):
    at = fill_valid(app(), email="m.t+user@cisss.example.qc.ca", authorizer_email="M.T@cisss.example.qc.ca")
    at.button(key="sub_submit").click().run()
    assert any("adresses électroniques différentes" in e for e in errors_under(at, k("authorizer.email")))


def test_section5_errors_point_at_the_box_that_holds_the_wrong_number(app):
    at = fill_valid(app())
    at.radio(key=k("register_scope")).set_value("some_installations")
    at.text_input(key=k("est.0")).input("12345")
    at.text_input(key=k("est.2")).input("12345")
    at.text_input(key=k("est.4")).input("12a45")
    at.button(key="sub_submit").click().run()
    assert errors_under(at, k("est.0")) == []
    assert any("figure déjà" in e for e in errors_under(at, k("est.2")))
    assert any("5 chiffres" in e for e in errors_under(at, k("est.4")))
    summary = [e for e in errors(at) if e.startswith("Erreurs à corriger")][0]
    assert "Numéro 3" in summary and "Numéro 5" in summary


def test_more_boxes_can_be_added_to_section5(app):
    at = app()
    assert len([w for w in at.text_input if w.key.startswith("sub:est.")]) == 6
    at.button(key="sub:__more__").click().run()
    assert len([w for w in at.text_input if w.key.startswith("sub:est.")]) == 9


def test_a_valid_request_is_submitted_and_the_reference_shown(app):
    before = count_requests()
    number = unique_number()
    at = fill_valid(app(), number=number)
    assert at.image, "the uploaded signature is previewed"
    at.button(key="sub_submit").click().run()
    assert not at.exception, at.exception
    assert not errors(at), errors(at)
    page = texts(at)
    assert "Demande reçue" in page and "Et maintenant?" in page
    assert count_requests() == before + 1
    with session_scope() as s:
        req = s.exec(select(AccessRequest).where(AccessRequest.establishment_number == number)).one()
        assert req.reference in page
        assert req.user_first_name == "MARIE" and req.user_postal_code == "G1S 4L8"
        assert req.user_phone == "418 555-0123"
        assert req.user_signature["method"] == "image"
        assert req.applications == ["online_payment_authorization"]
    # A new request starts from an empty form.
    at.button(key="sub_new").click().run()
    assert at.text_input(key=k("user.first_name")).value == ""


def test_the_english_toggle_translates_the_page_and_the_rules_messages(app):
    at = app(state={"lang": "en"})
    assert at.title[0].value == "Request for access to online services"
    at.button(key="sub_submit").click().run()
    assert errors_under(at, k("user.first_name")) == ["This field is required."]
    at.sidebar.radio(key="lang").set_value("fr").run()
    assert at.title[0].value == "Demande d'accès aux services en ligne"


def test_a_language_in_the_link_applies(app):
    at = app(query={"lang": "en"})
    assert at.title[0].value == "Request for access to online services"


def test_a_database_failure_shows_a_french_message_not_a_traceback(app, monkeypatch):
    from models.settings import get_settings

    at = fill_valid(app())
    monkeypatch.setenv("RAMQ_DATABASE_URL", "sqlite:////dev/null/impossible/app.db")
    get_settings.cache_clear()
    at.button(key="sub_submit").click().run()
    assert not at.exception
    assert "Une erreur inattendue est survenue. Rien n'a été enregistré." in errors(at)[0]
    assert at.text_input(key=k("user.first_name")).value == "Marie"  # nothing typed is lost


def test_section_5_boxes_come_in_reading_order_for_the_keyboard(app):
    """The boxes of section 5 are drawn row by row, so Tab goes Numéro 1, 2, 3, 4… (drawn
    column by column, the DOM, hence Tab, went 1, 4, 2, 5, 3, 6); still so after « more »."""
    from tests.ui.conftest import elements

    def order(at) -> list[str]:
        return [el.label for el in elements(at) if str(getattr(el, "key", "")).startswith(k("est."))]

    at = app()
    assert order(at) == [f"Numéro {i}" for i in range(1, 7)]
    more = next(b for b in at.button if b.key == k("__more__"))
    at = more.click().run()
    assert order(at) == [f"Numéro {i}" for i in range(1, 10)]


def test_errors_are_tied_to_their_fields_for_screen_readers(app):
    """After a refused submit: the summary's lines are links to their fields, each field's
    messages are in a container the page's script finds (``err:`` + the field's key), and that
    script names the fields (by Streamlit's class for their keys), no value typed."""
    at = app()
    at.text_input(key=k("user.email")).input("pas-une-adresse")
    at.button(key="sub_submit").click().run()
    summary = next(e.value for e in at.error if str(e.value).startswith("Erreurs à corriger"))
    assert "](#ramq-sub-user-email)" in summary
    assert "](#ramq-sub-user-first_name)" in summary
    scripts = [str(h.proto.body) for h in at.get("html") if "aria-describedby" in str(h.proto.body)]
    assert len(scripts) == 1
    assert '"st-key-sub-user-email"' in scripts[0] and '"ramq-sub-user-email"' in scripts[0]
    assert "pas-une-adresse" not in scripts[0]
    assert errors_under(at, k("user.email"))  # the message still right under its field
