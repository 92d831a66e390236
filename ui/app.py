"""The Streamlit app: its navigation and pages (the screens are in ``ui/screens/``), served by
``streamlit run ui/server.py`` (which adds the routes of the staff session cookie).

The navigation is built on every run from who is signed in: the public pages for everyone
(the email-link pages, authorize, correct, status and cancel, are hidden from the menu), the work
queue for a signed-in respondent, the countersign page for a signed-in SOES,
the read-only tracking page for a signed-in manager or operator, the Maildir viewer (temporary
passwords!) in development mode for signed-in staff only. A staff page that is not in the
navigation cannot be opened, whatever the URL; each staff page also checks the login itself.

Refused settings (production without its own key, relay or Prefect auth) stop every page with
their one-line reason; a development instance says so on every page.
"""

from __future__ import annotations

import streamlit as st

from models.i18n import translate
from models.settings import SettingsError, get_settings
from ui import i18n
from ui.common import HOME, RUNS_ROLES, current_staff, session_cookie_script, sign_out
from ui.i18n import t
from ui.streamlit_texts import streamlit_texts

st.set_page_config(page_title=translate("ui.app_title", i18n.DEFAULT), page_icon="🏥", layout="centered")
# Contrast (WCAG 1.4.3, SGQRI 008): Streamlit fades captions (opacity 0.6) to about 3.9:1 on
# white; ours are a solid grey of 6.5:1 (5.8:1 on the sidebar's grey). No theme setting does it.
st.html("<style>[data-testid='stCaptionContainer'] { opacity: 1 !important; }"
        " [data-testid='stCaptionContainer'], [data-testid='stCaptionContainer'] p"
        " { color: #5e6068 !important; }"
        # Target size (WCAG 2.5.8): the date fields' day and month parts, each a small spin
        # button, are at least 24 px wide and high.
        " [role='spinbutton'] { display: inline-block; min-width: 24px; min-height: 24px;"
        " text-align: center; }</style>")

# A language asked for in the link (?lang=en) applies until the person changes it.
if i18n.LANG_KEY not in st.session_state:
    asked = st.query_params.get("lang")
    st.session_state[i18n.LANG_KEY] = asked if asked in i18n.LANGUAGES else i18n.DEFAULT

st.sidebar.radio(t("language"), list(i18n.LANGUAGES), key=i18n.LANG_KEY, horizontal=True,
                 format_func={"fr": "Français", "en": "English"}.get)

try:
    settings = get_settings()
except SettingsError as exc:  # one line, no secret: never pydantic's error
    st.error(str(exc))
    st.stop()
staff = current_staff()
# Back from the organization's OIDC provider (st.login): the staff session starts here, on
# whichever page Streamlit's callback lands, and the person is then sent where they work.
arrived = None
if staff is None and settings.oidc_enabled:
    from ui.provider_sign_in import sign_in_from_provider

    arrived = sign_in_from_provider()
    staff = current_staff() if arrived == "signed" else None


# Pages whose tables need the whole width of the window (the others stay centred, easier to read).
WIDE_PAGES = ("file-de-travail", "contre-signature", "taches-prises", "suivi", "recherche")


def _screen(name: str) -> str:
    """A screen's script, relative to this file (``st.Page``, ``st.page_link``)."""
    return f"screens/{name}.py"


public = [
    st.Page(_screen("submission"), title=t("page_submission"), url_path="nouvelle-demande",
            default=True, icon=":material/edit_document:"),
    st.Page(_screen("authorization"), title=t("page_authorization"), url_path="autoriser",
            visibility="hidden", icon=":material/approval:"),
    st.Page(_screen("correction"), title=t("page_correction"), url_path="corriger",
            visibility="hidden", icon=":material/edit_note:"),
    st.Page(_screen("status"), title=t("page_status"), url_path="statut",
            visibility="hidden", icon=":material/timeline:"),
    st.Page(_screen("cancel"), title=t("page_cancel"), url_path="annuler",
            visibility="hidden", icon=":material/cancel:"),
    st.Page(_screen("my_access"), title=t("page_my_access"), url_path="mon-acces",
            icon=":material/key:"),
    st.Page(_screen("staff_login"), title=t("page_staff_login"), url_path="connexion",
            icon=":material/login:"),
]
pages: dict[str, list] = {t("nav_public"): public}


def _gate(title_key: str):
    """What a staff address shows without the right login: a French message, no data."""

    def page() -> None:
        st.title(t(title_key))
        st.warning(t("staff_only"))
        st.page_link(_screen("staff_login"), label=t("page_staff_login"), icon=":material/login:")

    return page


role = staff["role"] if staff is not None else None
if role == "respondent":
    pages[t("nav_staff")] = [st.Page(_screen("work_queue"), title=t("page_queue"),
                                     url_path="file-de-travail", icon=":material/inbox:")]
else:
    public.append(st.Page(_gate("page_queue"), title=t("page_queue"), url_path="file-de-travail",
                          visibility="hidden"))
if role == "soes":
    pages[t("nav_staff")] = [st.Page(_screen("countersign"), title=t("page_countersign"),
                                     url_path="contre-signature", icon=":material/verified:")]
else:
    public.append(st.Page(_gate("page_countersign"), title=t("page_countersign"), url_path="contre-signature",
                          visibility="hidden"))
if role in RUNS_ROLES:
    pages[t("nav_staff")] = [st.Page(_screen("runs"), title=t("page_runs"), url_path="suivi",
                                     icon=":material/monitoring:"),
                             st.Page(_screen("claimed_tasks"), title=t("page_claimed"), url_path="taches-prises",
                                     icon=":material/assignment_ind:")]
else:
    public.append(st.Page(_gate("page_runs"), title=t("page_runs"), url_path="suivi",
                          visibility="hidden"))
    public.append(st.Page(_gate("page_claimed"), title=t("page_claimed"), url_path="taches-prises",
                          visibility="hidden"))

if staff is not None:  # every staff role may find any request (read-only)
    pages.setdefault(t("nav_staff"), []).append(st.Page(_screen("search"), title=t("page_search"),
                                                        url_path="recherche", icon=":material/search:"))
else:
    public.append(st.Page(_gate("page_search"), title=t("page_search"), url_path="recherche", visibility="hidden"))

if settings.uses_local_mail_sink:
    # The local mailbox holds temporary passwords: staff only, even in development.
    if staff is not None:
        pages[t("nav_dev")] = [st.Page(_screen("emails"), title=t("page_emails"),
                                       url_path="courriels", icon=":material/mail:")]
    else:
        pages[t("nav_dev")] = [st.Page(_gate("page_emails"), title=t("page_emails"),
                                       url_path="courriels", icon=":material/mail:")]

if staff is not None:
    role_name = t(f"role_{staff['role']}")
    st.sidebar.caption(t("signed_in_as", name=staff["display_name"], role=role_name))

    st.sidebar.button(t("logout"), key="logout", on_click=sign_out)

if settings.is_dev:
    st.sidebar.caption(t("dev_mode"))
    st.warning(t("dev_banner"), icon=":material/science:")

# After a staff sign-in or sign-out: the session cookie, through the server (ui/server.py).
page = st.navigation(pages)
if arrived is not None:
    st.switch_page(HOME[staff["role"]][0] if staff is not None else _screen("staff_login"))
streamlit_texts()  # Streamlit's own English texts, in the page's language
# The staff's tables (arrival, deadline, overdue, owner, dates, the Prefect link) need the width.
if staff is not None and page.url_path in WIDE_PAGES:
    st.set_page_config(layout="wide")
session_cookie_script(page.url_path)
page.run()
