"""What a screen tells the person when something goes wrong: a plain French message instead of a
traceback (the error is logged, without its data), and, for a button's callback (it runs before
the page is drawn), the message kept for the page's next run."""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

import streamlit as st

from ui.i18n import t

LOG = logging.getLogger("ramq.ui")


def _log(where: str, exc: BaseException) -> None:
    """Logs the error's type and where it happened, not its message: a database error's message
    may quote the personal data it was given."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    LOG.error("unexpected %s in %s\n%s", type(exc).__name__, where, frames)


def unexpected(exc: BaseException) -> None:
    """Shows a plain French message instead of a traceback, and logs the error (no data)."""
    _log("a screen", exc)
    st.error(t("unexpected_error"))


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """For button callbacks: an unexpected error becomes a message stored for the next run."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the person must never see a traceback
            _log(getattr(fn, "__name__", "a callback"), exc)
            st.session_state["_flash_error"] = t("unexpected_error")
            return None

    return wrapper


def flash_errors() -> None:
    """Shows (once) an error a callback stored for this run."""
    message = st.session_state.pop("_flash_error", None)
    if message:
        st.error(message)
