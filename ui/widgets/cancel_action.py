"""RAMQ staff cancel a request not approved yet (« Annuler la demande »), on the request's page:
a reason (required, told to the user and the authorizer), a confirmation never ticked in
advance, then ``flows.api.cancel_request``, which checks the role, the conflict of interest and
the request's state. Shown to the roles that may (``CANCEL_ROLES``) while the request may still
be cancelled; a refusal (approved meanwhile, between two steps…) is the API's French message."""

from __future__ import annotations

import streamlit as st

from flows.api import CANCEL_ROLES, cancel_request
from models.enums import FINAL_STATUSES, RequestStatus
from ui.feedback import flash, guarded, refusals
from ui.i18n import t

# Approved for good (or closed): nothing to cancel any more.
_NOT_CANCELLABLE = {*FINAL_STATUSES, RequestStatus.issuing_credentials}


def cancel_action(request_id: int, reference: str, status: str, staff: dict) -> None:
    """The « cancel » block of the request ``request_id`` for the signed-in ``staff``."""
    if staff["role"] not in CANCEL_ROLES or status in _NOT_CANCELLABLE:
        return
    reason_key, confirm_key = f"cancel_reason:{request_id}", f"cancel_confirm:{request_id}"
    with st.expander(t("cancel_heading")):
        st.text_area(t("cancel_reason_required"), key=reason_key, max_chars=500)
        confirmed = st.checkbox(t("cancel_staff_confirm", reference=reference), key=confirm_key, value=False)
        st.button(t("cancel_staff_go"), key=f"cancel_go:{request_id}", type="primary", disabled=not confirmed,
                  on_click=_cancel, args=(request_id, reference, staff["username"]))


@guarded
def _cancel(request_id: int, reference: str, username: str) -> None:
    reason_key, confirm_key = f"cancel_reason:{request_id}", f"cancel_confirm:{request_id}"
    if not st.session_state.get(confirm_key):
        return
    with refusals() as refused:
        cancel_request(request_id, staff=username, reason=st.session_state.get(reason_key, ""))
    if not refused:
        st.session_state[reason_key] = ""
        st.session_state[confirm_key] = False
        flash(t("cancel_staff_done", reference=reference), "success")
