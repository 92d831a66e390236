"""French all the way down (issue 11, item 3), in a real Chromium: on the French screens no
English text of Streamlit's or of a component's shows, neither in the visible text nor in what
screen readers read (aria-label, placeholder, title); the uploader states our own limit and
refuses a file over it with our French message; dates are typed as AAAA-MM-JJ and the calendar
speaks French whatever the browser's language.

Only Streamlit is started (these screens need no flow run), on its own SQLite database which the
test process also reads to make the staff accounts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from models.accounts import create_staff
from models.db import session_scope
from models.rules import MAX_SIGNATURE_BYTES
from tests.e2e.conftest import E2EStack, on_stack, streamlit_only
from tests.e2e.english import english_on
from tests.e2e.test_browser_journey import choose, png_signature

pytestmark = pytest.mark.browser

PASSWORD = "Personnel-Francais-2026"


@pytest.fixture(scope="module")
def ui_stack(chromium_path, tmp_path_factory) -> Iterator[E2EStack]:
    with streamlit_only(tmp_path_factory, "french-var", None) as stack:
        yield stack


@pytest.fixture
def site(ui_stack, monkeypatch) -> Iterator[E2EStack]:
    with on_stack(ui_stack, monkeypatch) as stack:
        yield stack


def staff(role: str) -> str:
    name = f"fr{uuid.uuid4().hex[:8]}"
    with session_scope() as s:
        create_staff(s, username=name, role=role, password=PASSWORD, display_name="Personne Française",
                     email=f"{name}@ramq.example.qc.ca")
    return name


def open_form(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Demande d'accès aux services en ligne")).to_be_visible()
    expect(page.get_by_role("radio", name=re.compile("^Signer à l'écran"))).to_be_checked()


def sign_in(page: Page, url: str, username: str, heading: str) -> None:
    page.goto(f"{url}/connexion")
    page.get_by_label("Nom d'utilisateur", exact=True).fill(username)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible()


def test_the_french_screens_show_no_english(site, screens):
    page = screens.person()
    open_form(page, site.url)
    page.locator("canvas.upper-canvas").hover()  # the pad's own toolbar showed on hover
    expect(page.get_by_role("button", name="Effacer la signature")).to_be_visible()
    assert not (found := english_on(page)), f"the form, drawn signature: {found}"
    screens.shot(page, "formulaire signature dessinee")

    choose(page, "Comment signez-vous? *", "Joindre l'image de ma signature manuscrite (PNG ou JPEG)")
    expect(page.get_by_test_id("stFileUploader")).to_be_visible()
    expect(page.get_by_text("1 Mo au maximum", exact=False).first).to_be_visible()
    assert not (found := english_on(page)), f"the form, uploaded signature: {found}"
    screens.shot(page, "formulaire televersement")

    choose(page, "Comment signez-vous? *", "Taper mon nom (signature au clavier)")
    name = page.get_by_label("Votre nom complet, comme signature", exact=True)
    name.fill("Marie Tremblay")  # not left yet: Streamlit says how to apply it
    expect(page.get_by_test_id("InputInstructions").first).to_contain_text("Entrée")
    assert not (found := english_on(page)), f"the form, typed signature: {found}"

    queue = screens.person()
    sign_in(queue, site.url, staff("respondent"), "File de travail")
    assert not (found := english_on(queue)), f"the work queue: {found}"
    screens.shot(queue, "file de travail")

    runs = screens.person()
    sign_in(runs, site.url, staff("manager"), "Suivi des demandes")
    assert not (found := english_on(runs)), f"the managers' page: {found}"
    screens.shot(runs, "suivi")
    # The period's calendar, opened in a browser set to English (whose language the calendar
    # would otherwise speak): its month, days and buttons, and what is read aloud, in French.
    english_browser = screens.person(locale="en-US")
    sign_in(english_browser, site.url, staff("manager"), "Suivi des demandes")
    english_browser.get_by_role("button", name="Choisir une période").first.click()
    calendar = english_browser.get_by_test_id("stDateInputCalendar")
    expect(calendar.get_by_role("button", name="Mois précédent")).to_be_visible()
    expect(calendar.locator("thead th")).to_have_text(["D", "L", "M", "M", "J", "V", "S"])
    expect(calendar.get_by_role("button", name=re.compile(r"^Période choisie : du \w+ \d+ \w+ \d{4} au "))
           ).to_have_count(1)
    assert not (found := english_on(english_browser)), f"the managers' page, calendar open: {found}"
    screens.shot(english_browser, "suivi calendrier")
    english_browser.get_by_role("button", name="Choisir une période prédéfinie").click()
    expect(english_browser.get_by_role("option", name="Les 3 derniers mois")).to_be_visible()
    assert not (found := english_on(english_browser)), f"the period's shortcuts: {found}"
    english_browser.keyboard.press("Escape")
    english_browser.keyboard.press("Escape")
    expect(calendar).to_have_count(0)


def test_a_file_over_the_limit_is_refused_in_french(site, screens):
    page = screens.person()
    open_form(page, site.url)
    choose(page, "Comment signez-vous? *", "Joindre l'image de ma signature manuscrite (PNG ou JPEG)")
    big = png_signature() + b"\0" * (MAX_SIGNATURE_BYTES + 1)  # a real PNG, padded past 1 Mo
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(
        {"name": "grosse-signature.png", "mimeType": "image/png", "buffer": big})
    expect(page.get_by_text("Ce fichier dépasse 1 Mo", exact=False).first).to_be_visible()
    expect(page.get_by_text("Aperçu de la signature")).to_have_count(0)
    expect(page.get_by_test_id("stFileUploader").get_by_text("1,0\u00a0Mo")).to_be_visible()  # not « 1.0MB »
    assert not (found := english_on(page)), found
    screens.shot(page, "fichier trop gros")

    # A file a little under the limit goes through.
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(
        {"name": "signature.png", "mimeType": "image/png", "buffer": png_signature()})
    expect(page.get_by_text("Aperçu de la signature")).to_be_visible()
