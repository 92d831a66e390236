"""The signed record of one request, as the review, countersign and follow-up screens show it:
whether every signature still matches what was signed, each signature with its hash, the
current revision and the earlier ones."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from models.queries import record_pdf, signed_record
from ui.formatting import fmt_dt
from ui.i18n import label, lang, t


def _when(value: str | None) -> str:
    return fmt_dt(datetime.fromisoformat(value)) if value else "—"


def signed_record_panel(request_id: int) -> None:
    record = signed_record(request_id)
    if record is None:
        return
    st.markdown(f"### {t('signed_record')}")
    language = lang()
    purged = record.get("purged_at")
    if purged:  # the retention purge (models/retention.py): content removed, no form left to print
        st.info(t("record_purged", date=_when(purged)), icon="🗑️")
    else:
        # The PDF is made and sealed when the button is clicked, not on every rerun of the page.
        st.download_button(t("download_pdf"), data=lambda: record_pdf(request_id, language) or b"",
                           file_name=f"{record['reference']}.pdf", mime="application/pdf", on_click="ignore",
                           key=f"pdf_{request_id}", icon="📄")
    if not record["signatures"]:
        st.info(t("record_no_signature"))
    elif record["intact"]:
        if not purged:
            st.success(t("record_intact"), icon="✅")
    else:
        altered = [label("signer_role", s["role"]) for s in record["signatures"] if s["verdict"] == "altered"]
        st.error(t("record_altered", who=", ".join(altered) or t("record_revisions")), icon="⚠️")
    st.dataframe([{
        t("col_section"): s["section"], t("col_signer_role"): label("signer_role", s["role"]),
        t("col_signer"): s["signer"], t("col_signed_at"): _when(s["signed_at"]),
        t("col_revision"): s["revision"], t("col_verdict"): label("signature_verdict", s["verdict"]),
        "SHA-256": s["sha256"]} for s in record["signatures"]], hide_index=True, width="stretch")
    st.caption(t("record_current_revision", revision=record["revision"]))
    earlier = [r for r in record["revisions"] if r["revision"] != record["revision"]]
    if earlier:
        st.caption(t("record_earlier_revisions"))
        st.dataframe([{t("col_revision"): r["revision"], t("col_signed_at"): _when(r["created_at"]),
                       "SHA-256": r["sha256"]} for r in earlier], hide_index=True, width="stretch")
