"""The screens' side of the texts: the session's language and ``t``.

Every text lives in the catalogues of :mod:`models.i18n` (``models/locales``); the screens'
own texts are the ``ui`` domain, so ``t("submit")`` is ``translate("ui.submit")`` in the
language of this browser session (``st.session_state["lang"]``, the sidebar toggle). Labels of
the form's values, of statuses and of audit events are the ``labels`` domain, shared with the
CLI and the emails; refusals of the human-step API come from :class:`flows.errors.ActionError`.
"""

from __future__ import annotations

from typing import Any

from models import messages
from models.i18n import DEFAULT_LANGUAGE, LANGUAGES, exists, translate

DEFAULT = DEFAULT_LANGUAGE
LANG_KEY = "lang"


def lang() -> str:
    """The language of this browser session (French unless the toggle says English)."""
    try:
        import streamlit as st

        value = st.session_state.get(LANG_KEY, DEFAULT)
    except Exception:  # outside a Streamlit run
        value = DEFAULT
    return value if value in LANGUAGES else DEFAULT


def t(key: str, **params: Any) -> str:
    """The screen text ``ui.<key>`` in the session's language (``KeyError`` if there is none)."""
    return translate(f"ui.{key}", lang(), **params)


def has(key: str) -> bool:
    """Whether the screens have a text ``ui.<key>`` (for names built from data)."""
    return exists(f"ui.{key}")


def label(kind: str, value: str | None) -> str:
    """The label of an enumerated value (``labels.<kind>.<value>``: an application, a role, a
    request's status, an audit event...); the value itself if it has none."""
    return t("none") if value is None else messages.label(kind, value, lang())


def labels(kind: str) -> dict[str, str]:
    return messages.labels(kind, lang())
