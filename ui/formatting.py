"""How the screens show values: times and dates in Québec, and text someone typed, escaped.

Every time is stored in UTC and shown in the product's timezone (``America/Montreal`` by
default); every value typed by a person is shown as text, never as Markdown.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from models.settings import get_settings
from ui.i18n import t


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(_zone(get_settings().timezone))


def fmt_dt(value: datetime | None) -> str:
    """``2026-03-04 09:15`` in America/Montreal (the product's timezone setting)."""
    local = local_time(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else t("none")


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return t("none")
    if isinstance(value, datetime):
        value = local_time(value).date()
    return value.isoformat()


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def md_escape(value: Any, *, multiline: bool = False) -> str:
    """Text typed by someone, shown as text: no Markdown link, emphasis or HTML can sneak in."""
    escaped = _MD_SPECIAL.sub(r"\\\1", str(value))
    return escaped.replace("\n", "  \n" if multiline else " ")


def bold(text_: str) -> str:
    return f"**{md_escape(text_)}**"
