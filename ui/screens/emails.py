"""« Courriels » (``/courriels``, development mode with the local mail sink only, signed-in staff): the messages
the local SMTP sink wrote into the Maildir, newest first, with their links clickable, so one
browser can follow a whole request (submission, authorization link, correction link, password,
username). The messages include temporary passwords: without a staff login nothing is shown."""

from __future__ import annotations

import streamlit as st

from models.settings import get_settings
from notifications.maildir import list_messages
from ui.common import current_staff
from ui.formatting import fmt_dt, md_escape
from ui.i18n import t

settings = get_settings()
st.title(t("page_emails"))
if not settings.uses_local_mail_sink:
    st.error(t("emails_dev_only"))
    st.stop()
if current_staff() is None:
    st.warning(t("emails_staff_only"))
    st.stop()

st.caption(t("emails_intro"))
c1, c2 = st.columns([3, 1])
with c1:
    wanted = (st.text_input(t("email_filter"), key="mail_filter") or "").strip().lower()
with c2:
    st.button(t("refresh"), key="mail_refresh")

items = [m for m in list_messages(settings.maildir) if not wanted or wanted in m.to.lower()]
if not items:
    st.info(t("emails_none"))
    st.stop()

for i, item in enumerate(items):
    # The address as code: Markdown would make it a link inside the expander's button (a control
    # in a control, which screen readers cannot use).
    with st.expander(f"{fmt_dt(item.date)} — {item.subject} — `{item.to}`", expanded=(i == 0)):
        st.caption(t("email_to", to=item.to) + " · " + t("email_date", date=fmt_dt(item.date)))
        if item.links:
            st.markdown(f"**{t('email_links')}**")
            for link in item.links:
                st.markdown(f"- [{md_escape(link)}]({link.replace(')', '%29').replace(' ', '%20')})")
        st.text(item.text)
