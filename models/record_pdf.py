"""The signed record of a request printed like the paper form (SPEC §7b: ``ramq-access pdf``).

Why a PDF laid out like the paper form: the RAMQ's clerks, archivists and auditors know that
form; the printout must read the same, sections 1 to 5 in order, with the commitments people
signed, their signatures, and on the last page who signed what, when, and the SHA-256 of
exactly what was signed (what ``ramq-access verify`` recomputes). Labels come from the
catalogue (French by default), coded values print as their labels, dates as AAAA-MM-JJ and
times in Québec. The record is a plain dict built by the caller from the database (shape in
docs/architecture.md); anything optional may be missing. Sealing is ``models.seal``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from models.canonical import APPLICATIONS, ORGANIZATION_TYPES, REGISTER_SCOPES, ROLES, SEXES
from models.i18n import exists, language, translate
from models.messages import label
from models.pdf_layout import Cell, FormPdf, checks
from models.settings import get_settings

ROLE_KEYS = {"user": "pdf.role_user", "authorizer": "pdf.role_authorizer",
             "respondent": "pdf.role_respondent", "soes": "pdf.role_soes"}


class _Form:
    """One printing: the language, the record's pieces and the page being drawn."""

    def __init__(self, record: dict, lang: str) -> None:
        self.lang = language(lang)
        self.record = record
        self.request: dict = record.get("request") or {}
        self.s3: dict | None = record.get("authorization")
        self.s4: dict | None = record.get("section4")
        self.signatures: list[dict] = list(record.get("signatures") or [])
        self.zone = ZoneInfo(get_settings().timezone)
        self.pdf = FormPdf(self.footer)

    # -- words and values ---------------------------------------------------------------------

    def t(self, key: str, **params: Any) -> str:
        """A text; a screen's field label prints without its "required" star."""
        return translate(key, self.lang, **params).rstrip(" *:")

    def value(self, value: Any) -> str:
        return self.t("ui.none") if value in (None, "", []) else str(value)

    def when(self, value: Any, *, with_time: bool = True) -> str:
        """AAAA-MM-JJ (and HH:MM in Québec) from an ISO text, a datetime or a date."""
        if value in (None, ""):
            return self.t("ui.none")
        try:
            if isinstance(value, str):
                value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            return str(value)
        if isinstance(value, datetime):
            local = value.astimezone(self.zone)
            return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
        return value.isoformat() if isinstance(value, date) else str(value)

    def method(self, method: Any, role: Any = None) -> str:
        """Staff sign with their authenticated account's name; a user or an authorizer types
        theirs with an attestation (the label says which)."""
        if method == "typed" and (role in ("respondent", "soes") or not exists("labels.signature_method.typed")):
            return self.t("pdf.method_typed")
        return label("signature_method", str(method), self.lang) if method else self.t("ui.none")

    def choice(self, kind: str, values: tuple[str, ...], chosen: Any, *, inline: bool = False) -> str:
        picked = set(chosen) if isinstance(chosen, list) else {chosen}
        return checks([(label(kind, v, self.lang), v in picked) for v in values], inline=inline)

    def yes_no(self, flag: Any) -> str:
        return checks([(self.t("ui.yes"), bool(flag)), (self.t("ui.no"), not flag)], inline=True)

    # -- signatures ---------------------------------------------------------------------------

    def signature(self, role: str) -> dict | None:
        """The latest signature of ``role`` (the current revision's, when there are several)."""
        mine = [s for s in self.signatures if s.get("role") == role]
        return max(mine, key=lambda s: (s.get("revision") or 0, str(s.get("signed_at") or ""))) if mine else None

    def image(self, role: str, fallback: dict | None) -> bytes | None:
        entry = self.signature(role) or {}
        encoded = entry.get("image_png_base64") or (fallback or {}).get("image_png_base64")
        if not encoded:
            return None
        try:
            return base64.b64decode(str(encoded).split(",", 1)[-1], validate=False)
        except (binascii.Error, ValueError):
            return None

    def signature_box(self, role: str, caption_key: str, signed: dict | None) -> None:
        entry = self.signature(role) or {}
        method = entry.get("method") or (signed or {}).get("method")
        # A typed signature has no image: its name is printed where a drawing would be.
        typed = entry.get("typed_name") or (signed or {}).get("typed_name")
        fallback = self.t("pdf.typed_signature", name=typed) if method == "typed" and typed \
            else self.t("ui.no_signature_image")
        self.pdf.signature_box(
            self.t(caption_key), self.image(role, signed), self.method(method), self.t("pdf.date"),
            self.when(entry.get("signed_at"), with_time=False), fallback)

    # -- the page -----------------------------------------------------------------------------

    def footer(self, page: int) -> str:
        parts = [str(self.record.get("reference") or ""), self.t("pdf.footer_revision", revision=self.revision)]
        current = [r for r in self.record.get("revisions") or [] if r.get("revision") == self.record.get("revision")]
        if current and current[0].get("sha256"):
            parts.append(self.t("pdf.footer_sha256", sha256=current[0]["sha256"]))
        parts.append(self.t("pdf.footer_page", page=page, pages="{nb}"))
        return " · ".join(parts)

    @property
    def revision(self) -> str:
        return self.value(self.record.get("revision"))

    def header(self) -> None:
        r = self.record
        self.pdf.title_block(self.t("ui.form_title"), self.t("ui.form_subtitle"), [
            Cell(self.t("pdf.reference"), self.value(r.get("reference")), 1.2, 9),
            Cell(self.t("pdf.status"), label("status", str(r.get("status") or ""), self.lang), 1.6, 9),
            Cell(self.t("pdf.created_at"), self.when(r.get("created_at")), 1.1, 9),
            Cell(self.t("pdf.closed_at"), self.when(r.get("closed_at")), 1.1, 9),
            Cell(self.t("pdf.revision"), self.revision, 0.6, 9),
        ])

    def section1(self) -> None:
        q, f = self.request, self.pdf
        f.section(self.t("ui.section1"))
        f.fields([Cell(self.t("ui.applications"), self.choice("application", APPLICATIONS, q.get("applications")))])
        f.fields([Cell(self.t("ui.has_existing_access"), self.yes_no(q.get("existing_username")), 1.2),
                  Cell(self.t("ui.existing_username"), self.value(q.get("existing_username")), 0.8)])
        f.fields([Cell(self.t("ui.organization_type"),
                       self.choice("organization_type", ORGANIZATION_TYPES, q.get("organization_type")))])
        scope = q.get("register_scope")
        f.fields([Cell(self.t("ui.register_scope"), "\n".join(
            checks([(label("register_scope", s, self.lang), s == scope)]) + " — " + self.t(f"ui.scope_hint_{s}")
            for s in REGISTER_SCOPES))])

    def person(self, names: dict, details: dict) -> None:
        """The rows sections 2 and 3 share: names, sex and function, email, phones."""
        f = self.pdf
        f.fields([Cell(self.t("ui.first_name"), self.value(names.get("first_name"))),
                  Cell(self.t("ui.last_name"), self.value(names.get("last_name")))])
        f.fields([Cell(self.t("ui.sex"), self.choice("sex", SEXES, details.get("sex"), inline=True), 0.25),
                  Cell(self.t("ui.function"), self.value(details.get("function")), 0.75)])
        f.fields([Cell(self.t("ui.email"), self.value(names.get("email")))])
        f.fields([Cell(self.t("ui.phone"), self.value(details.get("phone")), 0.4),
                  Cell(self.t("ui.extension"), self.value(details.get("extension")), 0.2),
                  Cell(self.t("ui.fax"), self.value(details.get("fax")), 0.4)])

    def commitments(self, key: str, accepted: Any) -> None:
        self.pdf.paragraph(translate(key, self.lang))
        self.pdf.paragraph(checks([(self.t("ui.accept_commitments"), bool(accepted))]), size=9)

    def section2(self) -> None:
        user, f = self.request.get("user") or {}, self.pdf
        f.section(self.t("ui.section2"))
        self.person(user, user)
        f.fields([Cell(self.t("ui.establishment_name"), self.value(user.get("establishment_name")), 0.75),
                  Cell(self.t("ui.establishment_number"), self.value(user.get("establishment_number")), 0.25)])
        f.fields([Cell(self.t("ui.address"), self.value(user.get("address")), 0.75),
                  Cell(self.t("ui.postal_code"), self.value(user.get("postal_code")), 0.25)])
        self.commitments("ui.user_commitments", user.get("commitments_accepted"))
        f.paragraph(translate("ui.commitments_note", self.lang), size=7.5)
        self.signature_box("user", "ui.user_signature", user.get("signature"))

    def section3(self) -> None:
        s3, f = self.s3, self.pdf
        f.section(self.t("ui.section3"))
        authorizer = self.request.get("authorizer") or {}
        if not s3:
            f.fields([Cell(self.t("ui.first_name"), self.value(authorizer.get("first_name"))),
                      Cell(self.t("ui.last_name"), self.value(authorizer.get("last_name")))])
            f.fields([Cell(self.t("ui.email"), self.value(authorizer.get("email")))])
            f.paragraph(self.t("ui.not_yet_authorized"), size=9)
            return
        f.fields([Cell(self.t("pdf.authorizer_role"), self.choice("role", ROLES, s3.get("role")))])
        self.person(authorizer, s3)
        f.fields([Cell(self.t("ui.organization_name"), self.value(s3.get("organization_name")))])
        f.fields([Cell(self.t("ui.address"), self.value(s3.get("address")), 0.75),
                  Cell(self.t("ui.postal_code"), self.value(s3.get("postal_code")), 0.25)])
        resolution = s3.get("board_resolution") or {}
        f.fields([Cell(self.t("ui.board_resolution_number"), self.value(resolution.get("number"))),
                  Cell(self.t("ui.board_resolution_date"), self.when(resolution.get("date"), with_time=False))])
        self.commitments("ui.authorizer_commitments", s3.get("commitments_accepted"))
        self.signature_box("authorizer", "ui.authorizer_signature", s3.get("signature"))

    def section4(self) -> None:
        s4, f = self.s4, self.pdf
        f.section(self.t("ui.section4"))
        if not s4:
            f.paragraph(self.t("pdf.section4_empty"), size=9)
            return
        f.fields([Cell(self.t("ui.registration_date"), self.when(s4.get("registration_date"), with_time=False)),
                  Cell(self.t("ui.reference_number"), self.value(s4.get("reference_number"))),
                  Cell(self.t("ui.s4_username"), self.value(s4.get("username")))])
        validity = self.t("ui.validity_value", start=self.when(s4.get("valid_from"), with_time=False),
                          end=self.when(s4.get("valid_until"), with_time=False))
        f.fields([Cell(self.t("ui.validity"), validity, 0.6),
                  Cell(self.t("ui.respondent_id"), self.value(s4.get("respondent_id")), 0.4)])
        respondent = self.signature("respondent") or {}
        soes = self.signature("soes") or {}
        for key, signer, at in (
                ("pdf.respondent_signature", respondent.get("signer") or s4.get("respondent_id"),
                 s4.get("respondent_signed_at") or respondent.get("signed_at")),
                ("pdf.soes_signature", s4.get("soes_signed_by") or soes.get("signer"),
                 s4.get("soes_signed_at") or soes.get("signed_at"))):
            f.fields([Cell(self.t(key), self.value(signer) if signer else self.t("pdf.not_signed"), 0.7),
                      Cell(self.t("pdf.sig_time"), self.when(at), 0.3)])

    def section5(self) -> None:
        numbers, f = list(self.request.get("additional_establishment_numbers") or []), self.pdf
        f.section(self.t("ui.section5"))
        if not numbers:
            f.fields([Cell(self.t("ui.additional_numbers"), self.t("ui.none"))])
        for start in range(0, len(numbers), 3):
            f.fields([Cell(self.t("ui.number_n", n=start + i + 1), n) for i, n in enumerate(numbers[start:start + 3])]
                     + [Cell("", "") for _ in range(3 - len(numbers[start:start + 3]))])

    def signatures_block(self) -> None:
        f = self.pdf
        f.add_page()  # the last page(s): who signed what, and every version's hash
        f.section(self.t("pdf.signatures"))
        f.paragraph(self.t("pdf.times_note", zone=self.zone.key), size=7.5)
        if not self.signatures:
            f.paragraph(self.t("pdf.no_signatures"), size=9)
        for s in sorted(self.signatures, key=lambda s: (s.get("revision") or 0, str(s.get("signed_at") or ""))):
            role = str(s.get("role") or "")
            f.fields([Cell(self.t("pdf.sig_role"), self.t(ROLE_KEYS[role]) if role in ROLE_KEYS else role, 1.0, 9),
                      Cell(self.t("pdf.sig_signer"), self.value(s.get("signer")), 1.0, 9),
                      Cell(self.t("pdf.sig_method"), self.method(s.get("method"), s.get("role")), 1.2, 9),
                      Cell(self.t("pdf.sig_time"), self.when(s.get("signed_at")), 0.8, 9)])
            f.fields([Cell(self.t("pdf.revision"), self.value(s.get("revision")), 0.12),
                      Cell(self.t("pdf.sig_sha256"), self.value(s.get("sha256")), 0.88, size=8.5)])
            f.ln(1.5)
        revisions = self.record.get("revisions") or []
        if revisions:
            f.section(self.t("pdf.revisions"))
        for rev in sorted(revisions, key=lambda r: r.get("revision") or 0):
            current = rev.get("revision") == self.record.get("revision")
            number = self.value(rev.get("revision")) + (f" ({self.t('pdf.current')})" if current else "")
            f.fields([Cell(self.t("pdf.revision"), number, 0.13, 9),
                      Cell(self.t("pdf.created_at"), self.when(rev.get("created_at")), 0.2, 8.5),
                      Cell(self.t("pdf.rev_sha256"), self.value(rev.get("sha256")), 0.67, 8)])

    def render(self) -> bytes:
        pdf = self.pdf
        pdf.set_title(translate("ui.request_reference", self.lang, reference=self.value(self.record.get("reference"))))
        pdf.set_author("Régie de l'assurance maladie du Québec")
        pdf.set_creator("ramq-access")
        pdf.set_lang("fr-CA" if self.lang == "fr" else "en-CA")
        pdf.add_page()
        self.header()
        for part in (self.section1, self.section2, self.section3, self.section4, self.section5,
                     self.signatures_block):
            part()
        return bytes(pdf.output())


def render_record_pdf(record: dict, lang: str = "fr") -> bytes:
    """The request's record as a PDF laid out like the paper form, in ``lang`` (French unless
    ``"en"``); not sealed (``models.seal.seal_pdf``)."""
    return _Form(record, lang).render()
