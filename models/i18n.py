"""Every text people read, in French (default) and English: one lookup, :func:`translate`.

The texts are data: ``models/locales/<lang>/<domain>.toml``, one file per language and domain
(``ui``, ``labels``, ``errors``, ``cli``, ``email``, ``pdf``). A key is ``<domain>.<name>``,
nested TOML tables flattened with dots: ``[status]`` / ``completed = "…"`` in ``labels.toml``
is ``labels.status.completed``. Placeholders are ``str.format`` fields (``{reference}``).
See docs/i18n.md.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
DOMAINS = ("ui", "labels", "errors", "cli", "email", "pdf")
LOCALES_DIR = Path(__file__).resolve().parent / "locales"


def language(lang: object = None) -> str:
    """``lang`` if it is a language of the product (``"en"``, or an enum whose value is), else
    French."""
    value = getattr(lang, "value", lang)
    return value if isinstance(value, str) and value in LANGUAGES else DEFAULT_LANGUAGE


def _flatten(table: Mapping[str, Any], prefix: str, into: dict[str, str]) -> None:
    for name, value in table.items():
        key = f"{prefix}.{name}"
        if isinstance(value, dict):
            _flatten(value, key, into)
        elif isinstance(value, str):
            into[key] = value
        else:
            raise TypeError(f"{key}: a text must be a string, not {type(value).__name__}")


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    """Every text of one language, by key, in the files' order (read once)."""
    texts: dict[str, str] = {}
    for domain in DOMAINS:
        with open(LOCALES_DIR / lang / f"{domain}.toml", "rb") as file:
            _flatten(tomllib.load(file), domain, texts)
    return MappingProxyType(texts)


def translate(key: str, lang: str | None = None, **params: Any) -> str:
    """The text of ``key`` in ``lang`` (French when ``lang`` is not a language of the product),
    its ``{placeholders}`` filled from ``params``. An unknown key is a programming error:
    ``KeyError``."""
    text = catalogue(language(lang))[key]
    return text.format(**params) if params else text


def exists(key: str) -> bool:
    """Whether ``key`` names a text (for values read from data: a status, an error code...)."""
    return key in catalogue(DEFAULT_LANGUAGE)


def family(prefix: str) -> list[str]:
    """The keys that start with ``prefix`` (e.g. ``"labels.role."``), in the files' order."""
    return [key for key in catalogue(DEFAULT_LANGUAGE) if key.startswith(prefix)]
