"""« Suivi de ma demande » (``/statut?t=…``, the link of the confirmation email).

Read-only: the reference, the current status, the steps with their dates (Québec time) and
what happens next. No personal data (no name, address, username, reason or section content)
and no action: the link is never consumed, so it opens as often as wanted. A forged, expired
or wrong link shows the same French messages as the other link pages.
"""

from __future__ import annotations

import streamlit as st

from flows.status import open_status
from ui.formatting import fmt_date, fmt_dt
from ui.i18n import label, t
from ui.links import link_token_or_stop, opened_or_stop

st.title(t("page_status"))

token, _ = link_token_or_stop()
view = opened_or_stop(open_status, token)

st.header(t("request_reference", reference=view.reference))
st.markdown(t("status_current", status=f"**{label('status', view.status)}**"))
st.info(f"**{t('status_next_title')}** — {label('status_next', view.status)}")

st.markdown(f"### {t('status_steps')}")
st.markdown("\n".join(f"- {fmt_dt(step['at'])} — {label('status_step', step['step'])}" for step in view.steps))

st.caption(t("status_read_only", date=fmt_date(view.link_expires_at)))
