"""The pages opened from an emailed link (``?t=…``): the token, and the request behind it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from flows.api import open_link
from flows.errors import ActionError
from ui.feedback import unexpected
from ui.i18n import lang, t


def link_token_or_stop() -> tuple[str, str]:
    """The ``?t=`` token of an emailed link and a short id of it for session keys; a clear page
    when the address has no token."""
    token = st.query_params.get("t")
    if not token:
        st.warning(t("link_missing"))
        st.stop()
    return token, hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:16]


T = TypeVar("T")


def opened_or_stop(open_view: Callable[[str], T], token: str) -> T:
    """What ``open_view`` shows of the request behind a signed link, or a clear page (used,
    expired, void, forged, the wrong page) and stop. Opening decides nothing."""
    try:
        return open_view(token)
    except ActionError as exc:
        st.error(exc.message(lang()))
    except Exception as exc:  # noqa: BLE001
        unexpected(exc)
    st.stop()
    raise AssertionError("st.stop() returned")  # never reached: st.stop ends the run


def open_link_or_stop(token: str, purpose: str):
    """The request behind an authorize or correct link, or a clear page and stop."""
    return opened_or_stop(lambda t: open_link(t, purpose=purpose), token)
