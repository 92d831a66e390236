"""The wordings of the form's rules and enumerations, read from the catalogues (models.i18n).

Messages are keyed by the stable error code of SPEC §4 (``errors.rule.<code>``); a few codes
have a more precise variant (``errors.rule_variant.<code>.<variant>``). Labels of enumerated
values are ``labels.<kind>.<value>``, shared by the CLI, the screens and the emails.
"""

from __future__ import annotations

from typing import Any

from models.i18n import DEFAULT_LANGUAGE, exists, family, translate

_RULE = "errors.rule."


def message(code: str, lang: str = DEFAULT_LANGUAGE, variant: str | None = None,
            **params: Any) -> str:
    """The wording of an error code (or its variant), never failing on an unknown code."""
    key = f"errors.rule_variant.{code}.{variant}"
    if not (variant and exists(key)):
        key = _RULE + code
    if not exists(key):
        return code
    try:
        return translate(key, lang, **params)
    except (KeyError, IndexError, ValueError):
        return translate(key, lang)


def label(kind: str, value: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The label of an enumerated value, e.g. ``label("role", "dsp")``; the value if unknown."""
    key = f"labels.{kind}.{value}"
    return translate(key, lang) if exists(key) else str(value)


def labels(kind: str, lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """All labels of one enumeration in canonical order (for select boxes)."""
    prefix = f"labels.{kind}."
    return {key.removeprefix(prefix): translate(key, lang) for key in family(prefix)}
