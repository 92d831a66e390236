"""What a screen tells the person about an action, the one way every screen does it.

A button's callback runs before the page is drawn: what it has to say (done, refused, failed) is
kept in the session with :func:`flash` and shown once, on that next run, by :func:`show_flash`.
An action of ``flows.api`` runs in a :func:`refusals` block: a refusal (``ActionError``) is shown
under the fields it names, or as the API's message. An unexpected error shows a plain French
message, never a traceback, and is logged without its data (:func:`guarded`, :func:`unexpected`).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import streamlit as st

from flows.errors import ActionError
from ui.i18n import lang, t
from ui.widgets.errors import set_errors

LOG = logging.getLogger("ramq.ui")

FlashKind = Literal["error", "success"]
_FLASH_KEYS: dict[str, str] = {"error": "_flash_error", "success": "_flash_success"}


def flash(message: str, kind: FlashKind = "error") -> None:
    """Keeps a message for the page's next run (see :func:`show_flash`)."""
    st.session_state[_FLASH_KEYS[kind]] = message


def show_flash(kind: FlashKind = "error") -> None:
    """Shows (once) the message of this kind a callback kept for this run, where it is called."""
    message = st.session_state.pop(_FLASH_KEYS[kind], None)
    if message:
        (st.success if kind == "success" else st.error)(message)


class Refused:
    """Whether the action of a :func:`refusals` block was refused: false until it is."""

    def __init__(self) -> None:
        self.refused = False

    def __bool__(self) -> bool:
        return self.refused


@contextmanager
def refusals(form: str | None = None) -> Iterator[Refused]:
    """Runs a ``flows.api`` action in a button's callback; a refusal (``ActionError``) ends the
    block and is shown on the next run: the errors of the fields it names under their fields of
    ``form`` (the form's widget prefix), or else the API's message at the top of the page::

        with refusals(form=prefix) as refused:
            resubmit_correction(token, data, lang=lang())
        if refused:
            return
    """
    outcome = Refused()
    try:
        yield outcome
    except ActionError as exc:
        outcome.refused = True
        if form is not None:
            set_errors(form, exc.errors)
        if form is None or not exc.errors:
            flash(exc.message(lang()))


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
            flash(t("unexpected_error"))
            return None

    return wrapper
