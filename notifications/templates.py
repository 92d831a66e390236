"""Email composition: one Jinja2 source per kind and language, rendered twice.

Each ``templates/<lang>/<kind>.j2`` defines a ``subject`` and a ``body`` block. The body is
rendered once as plain text and once as HTML (autoescaped), with helpers (``link``,
``bullets``, ``quote``, ``secret``) that know the output format, so the two parts never drift
apart. Paragraphs are separated by blank lines.

What surrounds every body (signature, footer), month names and the names shared with the
screens (applications, pages: ``t("ui.page_my_access")`` in a template) come from the
catalogues of :mod:`models.i18n`, so an email and a screen call a thing by the same name.

A credential email must never carry both credentials: :func:`compose` refuses a
``temporary_password`` (or ``password_reset``) email given a username and a ``username`` email
given a password.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from markupsafe import Markup, escape

from models import messages
from models.i18n import translate
from models.settings import get_settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
LANGS = ("fr", "en")
RECIPIENT_ROLES = ("user", "authorizer")
KINDS = (
    "submission_confirmation",
    "authorization_request",
    "authorization_reminder",
    "refused_by_authorizer",
    "correction_requested",
    "refused_by_ramq",
    "temporary_password",
    "username",
    "request_expired",
    "request_cancelled",
    "request_stuck",  # to managers: restarting a request's run did not help
    "authorizer_replaced",  # to the authorizer a correction no longer names
    "access_revoked",  # to the user and the authorizer: RAMQ staff disabled the issued account
    "access_restored",  # to the user and the authorizer: the account works again
    "access_expiring",  # to the user and the authorizer: the validity ends soon (how to renew)
    "password_reset",  # « Mot de passe oublié ? »: a new temporary password, to the user only
    "authorizer_late",  # to the user, from the second reminder: the authorizer has not answered
    "correction_reminder",  # to the user: the correction asked is still to be made
    "staff_digest",  # to RAMQ staff, daily: new and overdue tasks (references only)
)
# Optional context, with its default, per kind. Everything else a template uses is required.
_DEFAULTS: dict[str, dict[str, Any]] = {
    # The flow always gives both links (flows/steps.py).
    "submission_confirmation": {"status_url": None, "cancel_url": None},
    "authorization_request": {"corrected": False, "user_email": None, "resent": False},
    "correction_requested": {"resent": False},
    "authorizer_replaced": {"by_ramq": False},
    "authorization_reminder": {"user_email": None},
    "temporary_password": {"valid_until": None},
    "username": {"valid_until": None},
    "request_cancelled": {"reason": None, "cancelled_by": None},  # cancelled_by: "user" or "ramq"
    "access_restored": {"valid_until": None},
    "access_expiring": {"link_url": None},
    "correction_reminder": {"comments": None},
}
# Context keys that must never reach a given kind (one credential per email).
_FORBIDDEN: dict[str, set[str]] = {
    "temporary_password": {"username"},
    "password_reset": {"username"},
    "username": {"temporary_password", "password"},
}
_SECRET_KEYS = {"temporary_password", "password"}

@dataclass(frozen=True)
class Message:
    """A composed email. The bodies stay out of ``repr`` (the password email is one of these)."""

    subject: str
    text: str = field(repr=False)
    html: str = field(repr=False)


def full_name(first: str, last: str) -> str:
    """``MARIE`` ``TREMBLAY`` → ``Marie Tremblay`` (names are stored in capitals, per the form)."""

    def nice(part: str) -> str:
        part = " ".join(part.split())
        return part.title() if part.isupper() else part

    return f"{nice(first)} {nice(last)}".strip()


def request_context(req: Any) -> dict[str, Any]:
    """The context every email about an ``AccessRequest`` needs, and nothing more personal."""
    return {
        "reference": req.reference,
        "user_name": full_name(req.user_first_name, req.user_last_name),
        # Only the authorizer's emails show it: who asked, as typed in the request.
        "user_email": req.user_email,
        "authorizer_name": full_name(req.authorizer_first_name, req.authorizer_last_name),
        "applications": list(req.applications),
        "organization": req.establishment_name,
    }


def login_url() -> str:
    return f"{get_settings().base_url.rstrip('/')}/mon-acces"


def format_when(value: datetime | date | None, lang: str) -> str:
    """A deadline as people read it, in the product's time zone (America/Montreal)."""
    if value is None:
        return ""
    if lang not in LANGS:
        raise ValueError(f"unknown language: {lang!r}")

    def month(number: int) -> str:
        return translate(f"email.month.{number}", lang)

    if not isinstance(value, datetime):
        day = "1er" if value.day == 1 else str(value.day)
        return (f"{day} {month(value.month)} {value.year}" if lang == "fr"
                else f"{month(value.month)} {value.day}, {value.year}")
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass timezone-aware times")
    t = value.astimezone(ZoneInfo(get_settings().timezone))
    if lang == "fr":
        minutes = f" {t.minute:02d}" if t.minute else ""
        day = "1er" if t.day == 1 else str(t.day)
        return f"{day} {month(t.month)} {t.year} à {t.hour} h{minutes}"
    hour = t.hour % 12 or 12
    return f"{month(t.month)} {t.day}, {t.year} at {hour}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


@pass_context
def _when_filter(ctx, value):
    return format_when(value, ctx["lang"])


@pass_context
def _applications_filter(ctx, codes: Iterable[str]) -> list[str]:
    return [messages.label("application", code, ctx["lang"]) for code in codes]


@pass_context
def _translate(ctx, key: str, **params: Any) -> str:
    """``t("ui.page_runs")`` in a template: a catalogue text in the email's language."""
    return translate(key, ctx["lang"], **params)


# French elision before a name: « d'Émilie », « qu'Hélène », but « de Marie », « de Yves ».
# An initial h is taken as mute (« d'Hélène »), as for most first names in Québec.
_ELIDED = {"de": "d'", "que": "qu'"}
_VOWELS = set("aeiouhàâäéèêëîïôöùûüœæAEIOUHÀÂÄÉÈÊËÎÏÔÖÙÛÜŒÆ")


def elide(word: str, name: Any) -> str:
    """``de``/``que`` followed by ``name``, elided before a vowel or a mute h."""
    text = str(name)
    if text[:1] in _VOWELS:
        return f"{_ELIDED[word]}{text}"
    return f"{word} {text}"


# Format-aware helpers: same call in the template, text or HTML out.
_TEXT_HELPERS: dict[str, Callable[..., str]] = {
    "link": lambda url, label=None: url,
    "bullets": lambda items: "\n".join(f"  • {item}" for item in items),
    "quote": lambda s: "\n".join(f"    {line}".rstrip() for line in str(s).strip().splitlines()),
    "secret": lambda s: f"    {s}",
}
_BLOCK = re.compile(r"^<(ul|blockquote|p|div)\b")


def _html_lines(s: Any) -> Markup:
    return Markup("<br>").join(escape(line) for line in str(s).strip().splitlines())


_HTML_HELPERS: dict[str, Callable[..., Markup]] = {
    "link": lambda url, label=None: Markup(
        '<a href="{0}" style="color:#095797;font-weight:bold">{1}</a>').format(url, label or url),
    "bullets": lambda items: Markup("<ul>") + Markup("").join(
        Markup("<li>{0}</li>").format(item) for item in items) + Markup("</ul>"),
    "quote": lambda s: Markup(
        '<blockquote style="margin:12px 0;padding:8px 12px;border-left:4px solid #095797;'
        'background:#f1f5f9">{0}</blockquote>').format(_html_lines(s)),
    "secret": lambda s: Markup(
        '<p style="font-family:Consolas,Menlo,monospace;font-size:18px;letter-spacing:1px;'
        'padding:8px 12px;background:#f1f5f9;display:inline-block">{0}</p>').format(s),
}


def _env(autoescape: bool, helpers: dict) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["when"] = _when_filter
    env.filters["applications"] = _applications_filter
    env.filters["de"] = lambda name: elide("de", name)
    env.filters["que"] = lambda name: elide("que", name)
    env.globals.update(helpers, t=_translate)
    return env


_TEXT_ENV = _env(False, _TEXT_HELPERS)
_HTML_ENV = _env(True, _HTML_HELPERS)


def _render_block(env: Environment, name: str, block: str, context: dict[str, Any]) -> str:
    template = env.get_template(name)
    return "".join(template.blocks[block](template.new_context(context))).strip()


def _paragraphs(text: str) -> list[str]:
    # Keep a paragraph's leading indent (bullets, quotes, the secret line in the text part).
    return [p.strip("\n").rstrip() for p in re.split(r"\n[ \t]*\n", text) if p.strip()]


def _check(kind: str, lang: str, context: dict[str, Any]) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown email kind: {kind!r}")
    if lang not in LANGS:
        raise ValueError(f"unknown language: {lang!r}")
    forbidden = _FORBIDDEN.get(kind, _SECRET_KEYS)
    bad = forbidden & context.keys()
    if bad:
        raise ValueError(f"{kind} email must not receive {sorted(bad)}")
    if "recipient_role" in context and context["recipient_role"] not in RECIPIENT_ROLES:
        raise ValueError(f"unknown recipient_role: {context['recipient_role']!r}")
    if not context.get("reference"):
        raise ValueError("reference is required")


def compose(kind: str, *, lang: str = "fr", **context: Any) -> Message:
    """Render one email (subject, text, HTML). Missing context raises (``StrictUndefined``)."""
    _check(kind, lang, context)
    if kind in ("temporary_password", "password_reset"):
        context.setdefault("login_url", login_url())
    if kind == "password_reset":
        context.setdefault("days", get_settings().temp_password_days)
    ctx = {**_DEFAULTS.get(kind, {}), **context, "lang": lang}
    name = f"{lang}/{kind}.j2"

    subject = " ".join(_render_block(_TEXT_ENV, name, "subject", ctx).split())
    body_text = _render_block(_TEXT_ENV, name, "body", ctx)
    body_html = _render_block(_HTML_ENV, name, "body", ctx)

    signature = translate("email.signature", lang)
    footer = translate("email.footer", lang, ref=context["reference"])
    text = "\n\n".join(_paragraphs(body_text) + [signature, f"--\n{footer}"]) + "\n"
    html_parts = [
        Markup(p) if _BLOCK.match(p.lstrip()) else Markup("<p>{0}</p>").format(
            Markup("<br>\n").join(Markup(line) for line in p.splitlines()))
        for p in _paragraphs(body_html)
    ]
    html = _HTML_ENV.get_template("layout.html.j2").render(
        lang=lang, subject=subject, body=Markup("\n").join(html_parts),
        signature=signature, footer=footer,
    )
    return Message(subject=subject, text=text, html=html)


def read_secret(text: str) -> str | None:
    """The secret line of a text part (the inverse of the ``secret`` helper), for the simulation
    and the tests that log in with an emailed password as a person would."""
    for line in text.splitlines():
        if line.startswith("    ") and line.strip() and " " not in line.strip():
            return line.strip()
    return None
