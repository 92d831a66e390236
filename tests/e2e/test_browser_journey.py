"""A request's whole journey in a real browser, against the whole stack (Prefect server, runner,
SMTP sink writing a Maildir, Streamlit), as the people of SPEC §1 would do it:

the user fills sections 1, 2 and 5, names the authorizer, accepts the commitments, signs on the
pad and submits → the authorizer opens the emailed link, completes section 3 (with the board
resolution), signs and authorizes → a respondent signs in, claims the task, reviews it, keeps the
proposed username in section 4 and approves (confirming the person and the applications) → a
SOES signs in and countersigns → the user gets the password, the authorizer the username → the
user signs in on « Mon accès », must choose a new password, and sees the access → the day
after, the respondent finds the request and revokes the access, and « Mon accès » refuses it.

A second, smaller test signs with an uploaded image (user and authorizer), after the RAMQ sent
the authorizer a new link (the first one void).

Widgets are found by their visible labels and roles, in French (the default language). Every
wait is on a condition (Playwright's auto-waiting ``expect``, the Maildir polled until a message
arrives), never a fixed sleep.
"""

from __future__ import annotations

import io
import math
import random
import re
import uuid
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from models.accounts import AccountError, create_staff
from models.db import session_scope
from models.enums import TaskStatus
from models.request_store import get_request_by_reference
from models.tables import Authorization, HumanTask
from notifications.templates import read_secret
from tests.e2e.conftest import STEP_TIMEOUT, wait_for

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"SEL-\d{4}-\d{6}")
FLOW_STEP_MS = STEP_TIMEOUT * 1000
RESPONDENT = "repondante.e2e"
RESPONDENT_PASSWORD = "Repondante-E2E-2026"
MANAGER = "gestion.e2e"
MANAGER_PASSWORD = "Gestion-E2E-2026-suivi"
SOES = "soes.e2e"
NEW_PASSWORD = "Mon-nouveau-mot-de-passe-2026"


# --- People's data ----------------------------------------------------------------------------------


def people() -> dict:
    """A request no other test uses: its own mailboxes and establishment numbers."""
    tag = uuid.uuid4().hex[:8]
    numbers = random.sample(range(10_000, 99_999), 2)
    return {
        "user": {
            "Prénom *": "Marie", "Nom *": "Tremblay", "sex": "F",
            "Fonction *": "Agente administrative",
            "Adresse électronique *": f"marie.tremblay.{tag}@cisss.example.qc.ca",
            "Téléphone *": "418 555-0123", "Poste": "4567",
            "Nom de l'établissement, de l'installation, de la grappe de services (OPTILAB), du "
            "GMF ou du point de service *": "CISSS de la Capitale-Nationale",
            "Numéro de l'établissement *": f"{numbers[0]:05d}",
            "Adresse de correspondance (lieu de travail) *": "1050, chemin Sainte-Foy, Québec (Québec)",
            "Code postal *": "G1S 4L8",
        },
        "section5": f"{numbers[1]:05d}",
        "authorizer": {
            "Prénom de la personne qui autorise *": "Jean",
            "Nom de la personne qui autorise *": "Gagnon",
            "Adresse électronique de la personne qui autorise *":
                f"jean.gagnon.{tag}@cisss.example.qc.ca",
        },
        "section3": {
            "Fonction *": "Directeur des services professionnels",
            "Téléphone *": "418 555-0199",
            "Nom de l'établissement, de l'installation, de la grappe de services (OPTILAB) ou du "
            "GMF *": "CISSS de la Capitale-Nationale",
            "Adresse de correspondance (lieu de travail) *": "2915, avenue du Bourg-Royal, Québec (Québec)",
            "Code postal *": "G1C 3S2",
        },
    }


def user_email(data: dict) -> str:
    return data["user"]["Adresse électronique *"]


def authorizer_email(data: dict) -> str:
    return data["authorizer"]["Adresse électronique de la personne qui autorise *"]


def png_signature() -> bytes:
    """A scanned handwritten signature: a small real PNG with a stroke on it."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (240, 80), "white")
    ImageDraw.Draw(img).line([(10, 60), (60, 15), (110, 55), (160, 20), (230, 50)], fill="navy", width=4)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# --- What a person does with Streamlit's widgets -------------------------------------------------


def fill(page: Page, label: str, value: str) -> None:
    """Types into the text box with this label, then leaves it (Tab): Streamlit commits a text
    input's value on blur, and reruns."""
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Tab")
    expect(box).to_have_value(value)


def choose(page: Page, group: str, option: str) -> None:
    """Clicks an option of the radio group with this label."""
    radios = page.get_by_role("radiogroup", name=group, exact=True)
    radios.get_by_text(option, exact=True).click()
    expect(radios.get_by_role("radio", name=re.compile("^" + re.escape(option)))).to_be_checked()


def tick_starting(page: Page, start: str) -> None:
    """Checks the box whose label starts with ``start`` (a confirmation naming the person and
    the applications), then waits until it is checked."""
    box = page.get_by_role("checkbox", name=re.compile("^" + re.escape(start)))
    page.get_by_test_id("stCheckbox").filter(has=box).locator("label").click()
    expect(box).to_be_checked()


def tick(page: Page, label: str) -> None:
    """Checks a box by clicking its visible label (Streamlit hides the input itself)."""
    box = page.get_by_role("checkbox", name=label, exact=True)
    page.get_by_test_id("stCheckbox").filter(has=box).locator("label").click()
    expect(box).to_be_checked()


def type_date(page: Page, label: str, value: str) -> None:
    """Types a date in Streamlit's date field (year, month and day boxes): digits from the year
    box on, Escape to close the calendar that opened, Tab to leave (which commits it)."""
    field = page.get_by_role("group", name=label, exact=True)
    field.get_by_role("spinbutton").first.click()
    page.keyboard.type(value.replace("-", ""))
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    expect(field).to_have_text(re.compile(r"\s*-\s*".join(value.split("-"))))


def draw_signature(page: Page) -> None:
    """Signs on the pad with the mouse: down, a wavy stroke, up."""
    pad = page.locator("canvas.upper-canvas")
    expect(pad).to_have_count(1)
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    x0, y0 = box["x"] + 40, box["y"] + box["height"] * 0.7
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 41):
        page.mouse.move(x0 + i * 11, y0 - 55 * abs(math.sin(i / 4)), steps=2)
    page.mouse.up()
    # The pad sends the drawing shortly after the mouse is up; the form says when it has it.
    expect(page.get_by_text("Signature captée.")).to_be_visible()


def upload_signature(page: Page) -> None:
    choose(page, "Comment signez-vous? *", "Joindre l'image de ma signature manuscrite (PNG ou JPEG)")
    page.get_by_test_id("stFileUploader").locator("input[type=file]").set_input_files(
        {"name": "signature.png", "mimeType": "image/png", "buffer": png_signature()})
    expect(page.get_by_text("Aperçu de la signature")).to_be_visible()


def open_app(page: Page, url: str, heading: str) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()


# --- The steps ---------------------------------------------------------------------------------------


def submit_request(page: Page, e2e, screens, data: dict, *, sign: str) -> str:
    """The user fills sections 1, 2, 5, the authorizer, commitments and signature; returns the
    reference shown on the success screen."""
    open_app(page, e2e.url, "Demande d'accès aux services en ligne")
    expect(page.get_by_role("heading", name="1. Description des services en ligne demandés")).to_be_visible()
    screens.shot(page, "formulaire vide")

    # Section 1
    tick(page, "Autorisation des demandes de paiement en ligne")
    tick(page, "Association entre le responsable de l'autorisation et le professionnel")
    choose(page, "Possédez-vous un accès pour d'autres services en ligne de la RAMQ?", "Non")
    choose(page, "Type d'organisation *", "Établissement, installation ou point de service")
    choose(page, "L'objet de la demande s'applique aux registres : *",
           "De certaines installations de l'établissement")
    # Section 2
    for label, value in data["user"].items():
        if label == "sex":
            choose(page, "Sexe *", value)
        else:
            fill(page, label, value)
    # Section 5
    fill(page, "Numéro 1", data["section5"])
    # The authorizer
    for label, value in data["authorizer"].items():
        fill(page, label, value)
    # Commitments and signature
    tick(page, "J'accepte ces engagements *")
    if sign == "drawn":
        expect(page.get_by_role("radio", name=re.compile("^Signer à l'écran"))).to_be_checked()
        draw_signature(page)
    else:
        upload_signature(page)
    screens.shot(page, "formulaire rempli")

    page.get_by_role("button", name="Soumettre la demande").click()
    success = page.get_by_text("Votre numéro de référence")
    expect(success).to_be_visible()
    expect(page.get_by_text("Demande reçue")).to_be_visible()
    reference = REFERENCE.search(success.inner_text())
    assert reference, success.inner_text()
    screens.shot(page, "demande recue")
    return reference.group(0)


def authorize(page: Page, e2e, screens, data: dict, reference: str, *, sign: str) -> None:
    """The authorizer opens the link of their email, completes section 3, signs, authorizes."""
    message = e2e.wait_mail(authorizer_email(data), "votre autorisation est requise")
    assert reference in message.subject
    link = next(link for link in message.links if "/autoriser?t=" in link)

    open_app(page, link, "Autoriser une demande")
    expect(page.get_by_role("heading", name=f"Demande {reference}")).to_be_visible()
    expect(page.get_by_text("MARIE", exact=True)).to_be_visible()  # the summary, in capitals
    screens.shot(page, "autorisation ouverte")

    choose(page, "Vous êtes *", "Directeur ou directrice des services professionnels")
    choose(page, "Sexe *", "M")
    for label, value in data["section3"].items():
        fill(page, label, value)
    # DSP + « Autorisation des demandes de paiement en ligne »: the board resolution is asked.
    expect(page.get_by_text("Résolution du conseil d'administration")).to_be_visible()
    fill(page, "Numéro de la résolution *", "CA-2025-117")
    type_date(page, "Date de la résolution *", "2025-03-12")
    tick(page, "J'accepte ces engagements *")
    if sign == "drawn":
        draw_signature(page)
    else:
        upload_signature(page)
    screens.shot(page, "section 3 remplie")

    page.get_by_role("button", name="Autoriser", exact=True).click()
    expect(page.get_by_text(f"Votre autorisation est enregistrée pour la demande {reference}")).to_be_visible()
    screens.shot(page, "autorisation enregistree")


def ensure_respondent() -> None:
    with session_scope() as s:
        try:
            create_staff(s, username=RESPONDENT, role="respondent", password=RESPONDENT_PASSWORD,
                         display_name="Répondante E2E", email="repondante.e2e@ramq.example.qc.ca")
        except AccountError as exc:
            assert exc.code == "username_taken"


def respondent_task_open(reference: str) -> int | None:
    with session_scope() as s:
        request = get_request_by_reference(s, reference)
        return s.exec(select(HumanTask.id).where(
            HumanTask.request_id == request.id, HumanTask.kind == "respondent",
            HumanTask.status == TaskStatus.open.value)).first()


def request_status(reference: str) -> str:
    with session_scope() as s:
        return get_request_by_reference(s, reference).status


def approve(page: Page, e2e, screens, reference: str) -> str:
    """A respondent signs in, claims the task, reviews, keeps the proposed username, approves.
    Returns the username of section 4."""
    ensure_respondent()
    # The flow opens the respondent's task once the runner has resumed it.
    wait_for(lambda: e2e.check_alive() or respondent_task_open(reference),
             what=f"the respondent's task of {reference}")

    open_app(page, f"{e2e.url}/connexion", "Connexion RAMQ")
    fill(page, "Nom d'utilisateur", RESPONDENT)
    page.get_by_label("Mot de passe", exact=True).fill(RESPONDENT_PASSWORD)
    screens.shot(page, "connexion ramq")
    page.get_by_role("button", name="Se connecter").click()

    expect(page.get_by_role("heading", name="File de travail")).to_be_visible()
    expect(page.get_by_text("1 tâche(s)")).to_be_visible()
    # The table is drawn on a canvas; its accessible copy says when it is drawn.
    expect(page.get_by_test_id("stDataFrame").locator("td[role=gridcell]").first).to_have_text(reference)
    expect(page.get_by_role("combobox", name="Ouvrir la demande")).to_have_value(
        re.compile("^" + re.escape(reference) + " — MARIE TREMBLAY"))
    screens.shot(page, "file de travail")
    page.get_by_role("button", name="Ouvrir la demande").click()

    expect(page.get_by_role("heading", name=f"Demande {reference}")).to_be_visible()
    page.get_by_role("button", name="Prendre en charge").click()
    expect(page.get_by_text("Vous avez pris cette tâche en charge.")).to_be_visible()
    # The review shows every section with both signatures.
    expect(page.get_by_text("Signature de l'utilisateur — Signé le")).to_be_visible()
    expect(page.get_by_text("Signature de la personne qui autorise — Signé le")).to_be_visible()
    expect(page.get_by_text("CA-2025-117")).to_be_visible()

    choose(page, "Décision", "Approuver (section 4 remplie)")
    expect(page.get_by_role("heading", name=re.compile("^4. Privilèges d'accès"))).to_be_visible()
    username_field = page.get_by_label("Nom d'utilisateur *", exact=True)
    expect(username_field).to_have_value(re.compile(r"^mtremblay\d{2}$"))  # waits for the rerun
    username = username_field.input_value()
    screens.shot(page, "analyse et section 4")

    tick_starting(page, "Je confirme approuver l'accès de MARIE TREMBLAY à : Autorisation des demandes")
    page.get_by_role("button", name="Confirmer la décision").click()
    expect(page.get_by_text(f"Décision enregistrée pour la demande {reference}.")).to_be_visible()
    screens.shot(page, "decision enregistree")
    return username


def countersign(page: Page, e2e, screens, reference: str) -> None:
    """The SOES signs in, claims the countersign task, reads section 4 as the respondent signed
    it and the signatures' verdict, confirms the person and the applications, countersigns."""
    with session_scope() as s:
        try:
            create_staff(s, username=SOES, role="soes", password=RESPONDENT_PASSWORD,
                         display_name="Contresignataire E2E", email="soes.e2e@ramq.example.qc.ca")
        except AccountError as exc:
            assert exc.code == "username_taken"
    wait_for(lambda: e2e.check_alive() or request_status(reference) == "awaiting_countersign",
             what=f"the countersign task of {reference}")

    open_app(page, f"{e2e.url}/connexion", "Connexion RAMQ")
    fill(page, "Nom d'utilisateur", SOES)
    page.get_by_label("Mot de passe", exact=True).fill(RESPONDENT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Contre-signature (SOES)")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").locator("td[role=gridcell]").first).to_have_text(reference)
    page.get_by_role("button", name="Ouvrir la demande").click()
    expect(page.get_by_role("heading", name=f"Demande {reference}")).to_be_visible()
    page.get_by_role("button", name="Prendre en charge").click()
    expect(page.get_by_text("Vous avez pris cette tâche en charge.")).to_be_visible()
    expect(page.get_by_text("Signatures intactes")).to_be_visible()
    choose(page, "Décision de la SOES", "Contre-signer (section 4)")
    tick_starting(page, "Je confirme contre-signer l'accès de MARIE TREMBLAY à : Autorisation des demandes")
    screens.shot(page, "contre-signature")
    page.get_by_role("button", name="Confirmer la décision").click()
    expect(page.get_by_text(f"Décision enregistrée pour la demande {reference}.")).to_be_visible()


def first_login(page: Page, screens, reference: str, username: str, password: str) -> None:
    """The user opens « Mon accès », signs in, must choose a new password, sees the access."""
    page.get_by_role("link", name="Mon accès").click()
    expect(page.get_by_role("heading", name="Mon accès")).to_be_visible()
    page.get_by_label("Nom d'utilisateur", exact=True).fill(username)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    screens.shot(page, "mon acces connexion")
    page.get_by_role("button", name="Se connecter").click()

    expect(page.get_by_text("Première connexion : choisissez votre propre mot de passe")).to_be_visible()
    expect(page.get_by_role("heading", name="Accès accordé")).to_have_count(0)
    screens.shot(page, "nouveau mot de passe exige")
    page.get_by_label("Mot de passe temporaire (ou actuel) *", exact=True).fill(password)
    page.get_by_label("Nouveau mot de passe *", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmez le nouveau mot de passe *", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Changer le mot de passe").click()

    expect(page.get_by_text("Votre mot de passe est changé.")).to_be_visible()
    expect(page.get_by_role("heading", name="Accès accordé")).to_be_visible()
    table = page.get_by_test_id("stMarkdownContainer").filter(has_text="Période de validité")
    expect(table).to_contain_text(username)
    expect(table).to_contain_text(reference)
    expect(table).to_contain_text("Autorisation des demandes de paiement en ligne")
    expect(table).to_contain_text("De certaines installations de l'établissement")
    screens.shot(page, "acces accorde")


def ensure_staff(username: str, role: str, password: str, display_name: str, email: str) -> None:
    with session_scope() as s:
        try:
            create_staff(s, username=username, role=role, password=password, display_name=display_name, email=email)
        except AccountError as exc:
            assert exc.code == "username_taken"


def download_sealed_form(page: Page, e2e, screens, reference: str, tmp_path) -> bytes:
    """A manager signs in, finds the request on « Suivi des demandes », sees its signed record
    intact and downloads the sealed PDF of the form."""
    ensure_staff(MANAGER, "manager", MANAGER_PASSWORD, "Gestionnaire E2E", "gestion.e2e@ramq.example.qc.ca")
    open_app(page, f"{e2e.url}/connexion", "Connexion RAMQ")
    fill(page, "Nom d'utilisateur", MANAGER)
    page.get_by_label("Mot de passe", exact=True).fill(MANAGER_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="Suivi des demandes").first).to_be_visible()
    fill(page, "Référence contient", reference)
    expect(page.get_by_role("combobox", name="Demande", exact=True)).to_have_value(
        re.compile("^" + re.escape(reference)))
    expect(page.get_by_role("heading", name="Dossier signé")).to_be_visible()
    expect(page.get_by_text("Signatures intactes", exact=False)).to_be_visible()
    screens.shot(page, "dossier signe")
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger le formulaire (PDF scellé)").click()
    assert download.value.suggested_filename == f"{reference}.pdf"
    target = tmp_path / download.value.suggested_filename
    download.value.save_as(target)
    return target.read_bytes()


def check_sealed_form(document: bytes, reference: str, username: str) -> None:
    """The downloaded form: every section, the reference, section 4's username, both RAMQ
    signatures, and a seal that verifies."""
    from pypdf import PdfReader

    from models.seal import verify_seal

    reader = PdfReader(io.BytesIO(document))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert reference in text and username in text
    assert "MARIE" in text and "CA-2025-117" in text
    assert sum(len(page.images) for page in reader.pages) >= 2  # the signatures of sections 2 and 3
    seal = verify_seal(document)
    assert seal["intact"] is True, seal["problem"]


def revoke(page: Page, e2e, screens, data: dict, reference: str) -> None:
    """The signed-in respondent finds the request on « Rechercher une demande » and revokes its
    access with a reason; the user is told by email."""
    page.get_by_role("link", name="Rechercher une demande").click()
    expect(page.get_by_role("heading", name="Rechercher une demande")).to_be_visible()
    fill(page, "Rechercher", reference)
    expect(page.get_by_role("combobox", name="Ouvrir la demande")).to_have_value(
        re.compile("^" + re.escape(reference)))
    expect(page.get_by_text("Actif du", exact=False)).to_be_visible()
    fill(page, "Motif * (communiqué à l'utilisateur et à la personne qui autorise)",
         "L'utilisatrice a quitté l'établissement.")
    screens.shot(page, "revocation")
    page.get_by_role("button", name="Révoquer l'accès").click()
    expect(page.get_by_text(f"L'accès de la demande {reference} est révoqué", exact=False)).to_be_visible()
    expect(page.get_by_text("Révoqué le", exact=False)).to_be_visible()
    notice = e2e.wait_mail(user_email(data), "accès révoqué")
    assert "quitté l'établissement" in notice.text


def sign_in_refused(page: Page, e2e, username: str, password: str) -> None:
    """« Mon accès » refuses a revoked account, with the same words as a wrong password."""
    open_app(page, e2e.url, "Demande d'accès aux services en ligne")
    page.get_by_role("link", name="Mon accès").click()
    expect(page.get_by_role("heading", name="Mon accès")).to_be_visible()
    page.get_by_label("Nom d'utilisateur", exact=True).fill(username)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Nom d'utilisateur ou mot de passe incorrect, ou accès expiré.")).to_be_visible()
    expect(page.get_by_role("heading", name="Accès accordé")).to_have_count(0)


def resend_authorizer_link(page: Page, e2e, screens, data: dict, reference: str) -> str:
    """The authorizer lost the email: the respondent finds the request and sends a new link.
    Returns the first link, which the new one voids."""
    first = e2e.wait_mail(authorizer_email(data), "votre autorisation est requise")
    old_link = next(link for link in first.links if "/autoriser?t=" in link)
    ensure_respondent()
    open_app(page, f"{e2e.url}/connexion", "Connexion RAMQ")
    fill(page, "Nom d'utilisateur", RESPONDENT)
    page.get_by_label("Mot de passe", exact=True).fill(RESPONDENT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name="File de travail")).to_be_visible()
    page.get_by_role("link", name="Rechercher une demande").click()
    fill(page, "Rechercher", reference)
    expect(page.get_by_role("combobox", name="Ouvrir la demande")).to_have_value(
        re.compile("^" + re.escape(reference)))
    screens.shot(page, "renvoi du lien")
    page.get_by_role("button", name="Envoyer un nouveau lien à la personne qui autorise").click()
    expect(page.get_by_text("Un nouveau lien est envoyé à la personne qui autorise", exact=False)).to_be_visible()

    def resent():
        newest = e2e.wait_mail(authorizer_email(data), "votre autorisation est requise")
        return newest if old_link not in newest.links else None

    wait_for(resent, what=f"a new authorization link for {reference}")
    return old_link


def old_link_refused(page: Page, old_link: str) -> None:
    page.goto(old_link)
    expect(page.get_by_text("Ce lien a été remplacé par un lien plus récent", exact=False).first).to_be_visible()
    expect(page.get_by_role("button", name="Autoriser", exact=True)).to_have_count(0)


# --- The tests ---------------------------------------------------------------------------------------


def test_journey_from_submission_to_first_login(e2e, screens, tmp_path):
    data = people()
    user = screens.person()
    reference = submit_request(user, e2e, screens, data, sign="drawn")

    confirmation = e2e.wait_mail(user_email(data), "accusé de réception")
    assert reference in confirmation.text

    authorize(screens.person(), e2e, screens, data, reference, sign="drawn")
    respondent = screens.person()
    username = approve(respondent, e2e, screens, reference)
    countersign(screens.person(), e2e, screens, reference)

    # Credentials: the password to the user only, the username to the authorizer only.
    password_mail = e2e.wait_mail(user_email(data), "votre mot de passe temporaire")
    username_mail = e2e.wait_mail(authorizer_email(data), "nom d'utilisateur à transmettre")
    password = read_secret(password_mail.text)
    assert password and len(password) >= 14
    assert read_secret(username_mail.text) == username
    assert username not in password_mail.text and password not in username_mail.text

    first_login(user, screens, reference, username, password)

    # Development mode: the « Courriels » page shows what the Maildir received, temporary
    # passwords included, so only to signed-in staff: the user's browser is told to sign in.
    user.get_by_role("link", name="Courriels").click()
    expect(user.get_by_role("heading", name="Courriels")).to_be_visible()
    expect(user.get_by_text("réservée au personnel", exact=False).first).to_be_visible()
    expect(user.get_by_text("votre mot de passe temporaire")).to_have_count(0)
    respondent.get_by_role("link", name="Courriels").click()
    expect(respondent.get_by_role("heading", name="Courriels")).to_be_visible()
    expect(respondent.get_by_text(f"Demande d'accès {reference} — votre mot de passe temporaire").first).to_be_visible()
    screens.shot(respondent, "courriels")

    wait_for(lambda: request_status(reference) == "completed", what=f"{reference} completed")
    with session_scope() as s:
        request = get_request_by_reference(s, reference)
        assert request.user_signature["method"] == "drawn"
        section3 = s.exec(select(Authorization).where(Authorization.request_id == request.id)).one()
        assert section3.signature["method"] == "drawn"
        assert section3.board_resolution_number == "CA-2025-117"
        assert section3.board_resolution_date == date(2025, 3, 12)

    # The record an auditor is handed: the sealed PDF, from the managers' follow-up page.
    document = download_sealed_form(screens.person(), e2e, screens, reference, tmp_path)
    check_sealed_form(document, reference, username)

    # The day after: the user leaves the establishment; the respondent revokes the access, and
    # the account stops working at once.
    revoke(respondent, e2e, screens, data, reference)
    sign_in_refused(screens.person(), e2e, username, NEW_PASSWORD)


def test_signatures_as_uploaded_images_after_a_resent_link(e2e, screens):
    """Signed with uploaded images; the authorizer's first email was lost, so the RAMQ sent a new
    link: the first one no longer opens the form, the new one does."""
    data = people()
    reference = submit_request(screens.person(), e2e, screens, data, sign="image")
    old_link = resend_authorizer_link(screens.person(), e2e, screens, data, reference)
    authorizer = screens.person()
    old_link_refused(authorizer, old_link)
    authorize(authorizer, e2e, screens, data, reference, sign="image")

    with session_scope() as s:
        request = get_request_by_reference(s, reference)
        assert request.user_signature["method"] == "image"
        section3 = s.exec(select(Authorization).where(Authorization.request_id == request.id)).one()
        assert section3.signature["method"] == "image"


# --- Accessibility: axe-core on every screen ------------------------------------------------------


def audit(page: Page, screens, step: str) -> None:
    """The screen as shown (saved like the others), checked by axe-core (WCAG 2.x A/AA: no
    serious or critical violation) and for its headings' outline, and for any English text of
    Streamlit's or of a component's (issue 11: none in French mode, on any screen)."""
    from tests.e2e.axe import assert_accessible, settle
    from tests.e2e.english import english_on

    settle(page)
    screens.shot(page, step)
    assert_accessible(page, step)
    assert not (found := english_on(page)), f"{step}: English on a French screen: {found}"


def staff_sign_in(page: Page, e2e, username: str, password: str, heading: str) -> None:
    open_app(page, f"{e2e.url}/connexion", "Connexion RAMQ")
    fill(page, "Nom d'utilisateur", username)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()


@pytest.mark.timeout(1800)  # three people and a round of correction, in a real browser
def test_every_screen_has_no_serious_accessibility_violation(e2e, screens):
    """Every screen, in French, as its people see it: the form (empty, with errors, sent), the
    status and cancel links, the authorizer's page, the staff login, the queue and a review, the
    correction page, « Mon accès », the SOES's page, the managers' history and claimed tasks, the
    search and the emails page. Each is checked by axe-core (tests/e2e/axe.py)."""
    data = people()
    user = screens.person()
    open_app(user, e2e.url, "Demande d'accès aux services en ligne")
    audit(user, screens, "a11y formulaire")
    user.get_by_role("button", name="Soumettre la demande").click()
    expect(user.get_by_text("Le formulaire contient", exact=False).first).to_be_visible()
    audit(user, screens, "a11y formulaire avec erreurs")
    reference = submit_request(screens.person(), e2e, screens, data, sign="drawn")

    received = e2e.wait_mail(user_email(data), "accusé de réception")
    status_link = next(link for link in received.links if "/statut?t=" in link)
    cancel_link = next(link for link in received.links if "/annuler?t=" in link)
    open_app(user, status_link, "Suivi de ma demande")
    expect(user.get_by_role("heading", name=f"Demande {reference}")).to_be_visible()
    audit(user, screens, "a11y statut")
    open_app(user, cancel_link, "Annuler ma demande")
    expect(user.get_by_role("heading", name=f"Demande {reference}")).to_be_visible()
    audit(user, screens, "a11y annulation")

    asked = e2e.wait_mail(authorizer_email(data), "votre autorisation est requise")
    link = next(link for link in asked.links if "/autoriser?t=" in link)
    authorizer = screens.person()
    open_app(authorizer, link, "Autoriser une demande")
    expect(authorizer.get_by_role("heading", name=f"Demande {reference}")).to_be_visible()
    audit(authorizer, screens, "a11y autorisation")
    authorize(authorizer, e2e, screens, data, reference, sign="drawn")

    # A respondent: sign-in, queue, review; sends the request back for correction.
    ensure_respondent()
    wait_for(lambda: e2e.check_alive() or respondent_task_open(reference),
             what=f"the respondent's task of {reference}")
    respondent = screens.person()
    open_app(respondent, f"{e2e.url}/connexion", "Connexion RAMQ")
    audit(respondent, screens, "a11y connexion")
    staff_sign_in(respondent, e2e, RESPONDENT, RESPONDENT_PASSWORD, "File de travail")
    expect(respondent.get_by_role("combobox", name="Ouvrir la demande")).to_be_visible()
    audit(respondent, screens, "a11y file de travail")
    picker = respondent.get_by_role("combobox", name="Ouvrir la demande")
    if not picker.input_value().startswith(reference):  # other tests' tasks may be listed first
        # The list is drawn only in part when long (other tests' tasks): typing the reference
        # narrows it, and the exact match ranks first.
        picker.click()
        picker.press_sequentially(reference)
        respondent.get_by_role("option", name=re.compile("^" + re.escape(reference))).click()
        expect(picker).to_have_value(re.compile("^" + re.escape(reference)))
    respondent.get_by_role("button", name="Ouvrir la demande").click()
    expect(respondent.get_by_role("heading", name=f"Demande {reference}")).to_be_visible()
    respondent.get_by_role("button", name="Prendre en charge").click()
    expect(respondent.get_by_text("Vous avez pris cette tâche en charge.")).to_be_visible()
    choose(respondent, "Décision", "Renvoyer pour correction")
    fill(respondent, "Corrections demandées *", "Le numéro de l'établissement est erroné.")
    audit(respondent, screens, "a11y analyse")
    respondent.get_by_role("button", name="Confirmer la décision").click()
    expect(respondent.get_by_text(f"Décision enregistrée pour la demande {reference}.")).to_be_visible()

    back = e2e.wait_mail(user_email(data), "correction demandée")
    correction_link = next(link for link in back.links if "/corriger?t=" in link)
    open_app(user, correction_link, "Corriger une demande")
    expect(user.get_by_role("heading", name=f"Demande {reference}")).to_be_visible()
    audit(user, screens, "a11y correction")

    user.get_by_role("link", name="Mon accès").click()
    expect(user.get_by_role("heading", name="Mon accès")).to_be_visible()
    audit(user, screens, "a11y mon acces")

    respondent.get_by_role("link", name="Rechercher une demande").click()
    fill(respondent, "Rechercher", reference)
    expect(respondent.get_by_role("heading", name=f"Demande {reference}")).to_be_visible()
    audit(respondent, screens, "a11y recherche")
    respondent.get_by_role("link", name="Courriels").click()
    expect(respondent.get_by_role("heading", name="Courriels")).to_be_visible()
    audit(respondent, screens, "a11y courriels")

    ensure_staff(SOES, "soes", RESPONDENT_PASSWORD, "Contresignataire E2E", "soes.e2e@ramq.example.qc.ca")
    soes = screens.person()
    staff_sign_in(soes, e2e, SOES, RESPONDENT_PASSWORD, "Contre-signature (SOES)")
    audit(soes, screens, "a11y contre-signature")

    ensure_staff(MANAGER, "manager", MANAGER_PASSWORD, "Gestionnaire E2E", "gestion.e2e@ramq.example.qc.ca")
    manager = screens.person()
    staff_sign_in(manager, e2e, MANAGER, MANAGER_PASSWORD, "Suivi des demandes")
    fill(manager, "Référence contient", reference)
    expect(manager.get_by_role("heading", name="Dossier signé")).to_be_visible()
    audit(manager, screens, "a11y suivi")
    manager.get_by_role("link", name="Tâches prises en charge").click()
    expect(manager.get_by_role("heading", name="Tâches prises en charge").first).to_be_visible()
    audit(manager, screens, "a11y taches prises")
