"""The read-only summary of a request in the paper form's order (sections 1, 2, the authorizer,
3, then 5), with the signatures; every value is escaped (typed by someone else)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.formatting import fmt_dt, md_escape
from ui.i18n import label, t
from ui.widgets.signature import show_signature


def fields_table(rows: list[tuple[str, Any]]) -> None:
    """Label/value rows as a two-column table; values are escaped (typed by someone else)."""
    lines = [f"| {t('field')} | {t('value')} |", "|---|---|"]
    for name, value in rows:
        shown = t("none") if value in (None, "", []) else md_escape(value)
        lines.append(f"| {md_escape(name.rstrip(' *:'))} | {shown} |")
    st.markdown("\n".join(lines))


def _phone(number: str | None, extension: str | None) -> str | None:
    if not number:
        return None
    return f"{number} ({t('extension').lower()} {extension})" if extension else number


def request_summary(data: dict, *, user_signed_at=None, authorization_signed_at=None,
                    with_section3: bool = False) -> None:
    """Sections 1, 2 and the authorizer (and section 3 when asked), then 5, with the signatures."""
    st.markdown(f"### {t('section1')}")
    fields_table([
        (t("applications"), ", ".join(label("application", a) for a in data.get("applications") or [])),
        (t("existing_username_summary"), data.get("existing_username") or t("existing_access_none")),
        (t("organization_type"), label("organization_type", data.get("organization_type"))),
        (t("register_scope"), label("register_scope", data.get("register_scope"))),
    ])
    user = data.get("user") or {}
    st.markdown(f"### {t('section2')}")
    fields_table([
        (t("first_name"), user.get("first_name")), (t("last_name"), user.get("last_name")),
        (t("sex"), user.get("sex")), (t("function"), user.get("function")),
        (t("email"), user.get("email")), (t("phone"), _phone(user.get("phone"), user.get("extension"))),
        (t("fax"), user.get("fax")), (t("establishment_name"), user.get("establishment_name")),
        (t("establishment_number"), user.get("establishment_number")),
        (t("address"), user.get("address")), (t("postal_code"), user.get("postal_code")),
        (t("commitments_accepted"), t("yes") if user.get("commitments_accepted") else t("no")),
    ])
    caption = t("user_signature")
    if user_signed_at:
        caption += " — " + t("signed_on", date=fmt_dt(user_signed_at))
    show_signature(user.get("signature"), caption)
    authorizer = data.get("authorizer") or {}
    st.markdown(f"### {t('section_authorizer')}")
    fields_table([
        (t("authorizer_first_name"), authorizer.get("first_name")),
        (t("authorizer_last_name"), authorizer.get("last_name")),
        (t("authorizer_email"), authorizer.get("email")),
    ])
    if with_section3:
        _section3(data.get("authorization"), authorization_signed_at)
    st.markdown(f"### {t('section5')}")
    fields_table([(t("additional_numbers"), ", ".join(data.get("additional_establishment_numbers") or []))])


def _section3(section3: dict | None, authorization_signed_at) -> None:
    st.markdown(f"### {t('section3')}")
    if not section3:
        st.info(t("not_yet_authorized"))
        return
    resolution = section3.get("board_resolution") or {}
    fields_table([
        (t("role"), label("role", section3.get("role"))), (t("sex"), section3.get("sex")),
        (t("function"), section3.get("function")),
        (t("phone"), _phone(section3.get("phone"), section3.get("extension"))),
        (t("fax"), section3.get("fax")), (t("organization_name"), section3.get("organization_name")),
        (t("address"), section3.get("address")), (t("postal_code"), section3.get("postal_code")),
        (t("board_resolution_number"), resolution.get("number")),
        (t("board_resolution_date"), resolution.get("date")),
        (t("commitments_accepted"), t("yes") if section3.get("commitments_accepted") else t("no")),
    ])
    caption = t("authorizer_signature")
    if authorization_signed_at:
        caption += " — " + t("signed_on", date=fmt_dt(authorization_signed_at))
    show_signature(section3.get("signature"), caption)


def person_and_applications(data: dict) -> tuple[str, str]:
    """The user's first and last name and the applications' labels, for a confirmation."""
    user = data.get("user") or {}
    name = f"{user.get('first_name', '')} {user.get('last_name', '')}".strip()
    return name, ", ".join(label("application", a) for a in data.get("applications") or [])
