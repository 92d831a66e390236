"""Staff sign-in through the organization's OpenID Connect provider (``st.login``), in a real
Chromium against ``streamlit run ui/server.py`` and a real OpenID provider (oidc-provider-mock: a
provider server made for tests, with its own authorization form), started by the test on free
ports: a manager whose verified email names their RAMQ account lands on « Suivi des demandes »
with the session cookie, a reload keeps them, « Se déconnecter » ends both sessions; a person the
RAMQ does not know is refused in French and gets no staff page.

Only Streamlit is started (no flow run here), on its own SQLite database the test also writes."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from flows.stack import free_port
from models.accounts import create_staff
from models.db import session_scope
from tests.e2e.conftest import E2EStack, on_stack, streamlit_only, wait_for
from tests.e2e.test_staff_session import STAFF_ONLY, session_cookie

pytestmark = pytest.mark.browser

PROVIDER_LABEL = "Santé Québec (test)"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread(port=free_port()) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def oidc_stack(chromium_path, provider, tmp_path_factory) -> Iterator[E2EStack]:
    with streamlit_only(tmp_path_factory, "oidc-var", {
        "RAMQ_OIDC_METADATA_URL": f"{provider}/.well-known/openid-configuration",
        "RAMQ_OIDC_CLIENT_ID": "ramq-acces", "RAMQ_OIDC_CLIENT_SECRET": "secret-de-test",
        "RAMQ_OIDC_PROVIDER_LABEL": PROVIDER_LABEL}) as stack:
        yield stack


@pytest.fixture
def site(oidc_stack, monkeypatch) -> Iterator[E2EStack]:
    with on_stack(oidc_stack, monkeypatch) as stack:
        yield stack


def person_at_provider(provider: str, email: str, *, verified: bool = True) -> str:
    """The provider knows this person (their claims); returns their subject."""
    sub = f"sub-{uuid.uuid4().hex[:10]}"
    body = json.dumps({"email": email, "email_verified": verified, "name": "Gestionnaire OIDC"}).encode()
    request = urllib.request.Request(f"{provider}/users/{quote(sub)}", data=body, method="PUT",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 204
    return sub


def sign_in_at_provider(page: Page, url: str, sub: str) -> None:
    page.goto(f"{url}/connexion")
    page.get_by_role("button", name=f"Se connecter avec {PROVIDER_LABEL}").click()
    page.wait_for_url("**/oauth2/authorize**")  # the provider's own page
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize", exact=True).click()


def test_a_manager_signs_in_through_the_provider_and_out_of_both(site, provider, screens):
    email = f"gest.{uuid.uuid4().hex[:8]}@ramq.example.qc.ca"
    with session_scope() as s:
        create_staff(s, username=f"oidc{uuid.uuid4().hex[:6]}", role="manager", password="Gestion-Locale-2026",
                     display_name="Gestionnaire OIDC", email=email)
    sub = person_at_provider(provider, email)
    page = screens.person()
    sign_in_at_provider(page, site.url, sub)
    expect(page.get_by_role("heading", name="Suivi des demandes", level=1)).to_be_visible()
    wait_for(lambda: session_cookie(page), what="the staff session cookie", timeout=60)
    screens.shot(page, "suivi apres OIDC")
    page.reload()
    expect(page.get_by_role("heading", name="Suivi des demandes", level=1)).to_be_visible()

    page.get_by_role("button", name="Se déconnecter").click()
    # Streamlit forgets the identity and sends the browser to the provider, which offers to end
    # its own session too (RP-initiated logout).
    page.wait_for_url("**/oauth2/end_session**")
    screens.shot(page, "fin de session chez le fournisseur")
    # Back at the RAMQ, no staff page opens, and « Connexion RAMQ » does not sign in by itself.
    page.goto(f"{site.url}/suivi")
    expect(page.get_by_text(STAFF_ONLY)).to_be_visible()
    page.goto(f"{site.url}/connexion")
    expect(page.get_by_role("button", name=f"Se connecter avec {PROVIDER_LABEL}")).to_be_visible()
    expect(page.get_by_role("heading", name="Suivi des demandes", level=1)).to_have_count(0)


def test_the_same_provider_sign_in_opens_nothing_twice(site, provider, screens):
    """The identity stays in Streamlit's cookie for 30 days: copied into another browser after
    the RAMQ session was closed, it opens no second session."""
    email = f"rep.{uuid.uuid4().hex[:8]}@ramq.example.qc.ca"
    with session_scope() as s:
        create_staff(s, username=f"oidc{uuid.uuid4().hex[:6]}", role="respondent",
                     password="Repondant-Local-2026", display_name="Répondant OIDC", email=email)
    page = screens.person()
    sign_in_at_provider(page, site.url, person_at_provider(provider, email))
    expect(page.get_by_role("heading", name="File de travail")).to_be_visible()
    identity = [c for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]
    assert identity, [c["name"] for c in page.context.cookies()]
    other = screens.person()
    other.context.add_cookies([{k: c[k] for k in ("name", "value", "domain", "path")} for c in identity])
    other.goto(f"{site.url}/file-de-travail")
    expect(other.get_by_text(STAFF_ONLY)).to_be_visible()


def test_a_person_unknown_to_the_ramq_is_refused(site, provider, screens):
    sub = person_at_provider(provider, f"inconnu.{uuid.uuid4().hex[:8]}@cisss.example.qc.ca")
    page = screens.person()
    sign_in_at_provider(page, site.url, sub)
    expect(page.get_by_text("Aucun compte actif du personnel de la RAMQ", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name=f"Se déconnecter de {PROVIDER_LABEL}")).to_be_visible()
    screens.shot(page, "refus OIDC")
    # A staff address opens nothing: while the provider's identity is fresh, the person is sent
    # back to « Connexion RAMQ » with the reason again; later, the page says it is for staff.
    page.goto(f"{site.url}/suivi")
    expect(page.get_by_text("Aucun compte actif du personnel de la RAMQ", exact=False)
           .or_(page.get_by_text(STAFF_ONLY))).to_be_visible()
    expect(page.get_by_role("heading", name="Suivi des demandes", level=1)).to_have_count(0)
