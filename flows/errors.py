"""Refusals of the human-step API: a stable code and a message in French (English available).

The messages are ``errors.action.<code>`` in the catalogues (models/locales).
"""

from __future__ import annotations

from models.i18n import exists, translate


class ActionError(Exception):
    """A person's action that cannot be applied; nothing was changed."""

    def __init__(self, code: str, errors: list | None = None, **params: str):
        super().__init__(code)
        self.code = code
        self.errors = errors or []
        self.params = params

    def message(self, lang: str = "fr") -> str:
        key = f"errors.action.{self.code}"
        if not exists(key):
            return self.code
        if not self.params:
            return translate(key, lang).replace("{suggestion}", "—")
        try:
            return translate(key, lang, **self.params)
        except (KeyError, IndexError):
            return translate(key, lang)
