"""The form's rules (SPEC §4): one implementation, used by the CLI, the screens and the flow.

``validate_request`` checks a whole canonical request (SPEC §3) and reports *every* error with its
stable code; it never raises, whatever it is given (the input comes from files and web forms).
When the request is valid it also returns the normalized request, which is what gets stored.
The small normalizers below are public so the screens can format values the same way.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from models.canonical import (
    APPLICATIONS,
    BOARD_RESOLUTION_NUMBER_MAX,
    EXTENSION_MAX,
    NAME_MAX,
    ORGANIZATION_TYPES,
    REGISTER_SCOPES,
    ROLES,
    SEXES,
    SIGNATURE_METHODS,
    TEXT_MAX,
    USERNAME_MAX,
)
from models.messages import message
from models.settings import get_settings
from models.tables import quebec_today

SHARED_MAILBOXES_FILE = Path(__file__).resolve().parent / "data" / "shared_mailboxes.txt"
LINK_TLDS_FILE = Path(__file__).resolve().parent / "data" / "link_tlds.txt"

MAX_SIGNATURE_BYTES = 1024 * 1024  # 1 MiB decoded
TYPED_NAME_MAX = 2 * NAME_MAX + 1  # a first and a last name, a space between
MAX_SIGNATURE_SIDE = 10_000  # pixels
MAX_SIGNATURE_PIXELS = 16_000_000  # keeps decoding memory bounded
_MAX_B64_CHARS = 4 * ((MAX_SIGNATURE_BYTES + 2) // 3)
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_DATA_URL = re.compile(r"data:image/(?:png|jpe?g);base64,", re.IGNORECASE)
_B64_ALPHABET = re.compile(r"[A-Za-z0-9+/]*={0,2}")

TOP_LEVEL_KEYS = (
    "applications", "existing_username", "organization_type", "register_scope",
    "additional_establishment_numbers", "user", "authorizer", "authorization",
)
USER_KEYS = (
    "first_name", "last_name", "sex", "function", "email", "phone", "extension", "fax",
    "establishment_name", "establishment_number", "address", "postal_code",
    "commitments_accepted", "signature",
)
AUTHORIZER_KEYS = ("first_name", "last_name", "email")
AUTHORIZATION_KEYS = (
    "role", "sex", "function", "phone", "extension", "fax", "organization_name", "address",
    "postal_code", "commitments_accepted", "signature", "board_resolution",
)
SIGNATURE_KEYS = ("method", "image_png_base64", "data_base64", "typed_name", "attested")
BOARD_RESOLUTION_KEYS = ("number", "date")

ROLES_BY_ORGANIZATION = {
    "establishment": ["dsp", "dg"],
    "gmf": ["gmf_responsible_physician", "gmf_coresponsible_physician"],
    "optilab": ["optilab_representative"],
}
# The board resolution is only asked of an establishment's directors (form note, section 1).
ROLES_NEEDING_BOARD_RESOLUTION = ("dsp", "dg")
ONLINE_PAYMENT = "online_payment_authorization"

_MISSING = object()


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class FieldError:
    """One broken rule: where (``user.email``), which rule (stable code) and what to tell."""

    path: str
    code: str
    message: str


@dataclass
class ValidationResult:
    errors: list[FieldError] = field(default_factory=list)
    normalized: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.errors]

    @property
    def data(self) -> dict:
        """The normalized input of a result that is ``ok``; asking a failed result is a bug."""
        if self.normalized is None:
            raise ValueError("the input broke the rules: there is no normalized data")
        return self.normalized


# --------------------------------------------------------------------------------------------
# Small normalizers (None means "not a valid value")


def collapse_whitespace(value: str) -> str:
    return " ".join(value.split())


def upper_text(value: str) -> str:
    """Capitals with accents kept (``é`` → ``É``), whitespace collapsed: the form's directive."""
    return unicodedata.normalize("NFC", collapse_whitespace(value).upper())


def normalize_phone(value: object) -> str | None:
    """A 10-digit North American number as ``418 555-0123`` (optional leading 1 or +1)."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    compact = "".join(value.split())
    if not re.fullmatch(r"\+?[0-9().\-]+", compact, re.ASCII):
        return None
    digits = re.sub(r"[^0-9]", "", compact)
    if compact.startswith("+") and not (len(digits) == 11 and digits[0] == "1"):
        return None
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01" or digits[3] in "01":
        return None
    return f"{digits[:3]} {digits[3:6]}-{digits[6:]}"


def normalize_extension(value: object) -> str | None:
    """The ``poste``: digits only, at most 10."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if re.fullmatch(rf"[0-9]{{1,{EXTENSION_MAX}}}", value, re.ASCII) else None


def normalize_postal_code(value: object) -> str | None:
    """A Canadian postal code as ``G1S 4L8`` (no D F I O Q U; no W or Z first)."""
    if not isinstance(value, str) or len(value) > 30 or not value.isascii():
        return None
    compact = "".join(value.split()).upper()
    if not re.fullmatch(
        r"[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z][0-9][ABCEGHJ-NPRSTV-Z][0-9]", compact
    ):
        return None
    return f"{compact[:3]} {compact[3:]}"


def normalize_establishment_number(value: object) -> str | None:
    """Exactly 5 digits, kept as text (leading zeros matter)."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if re.fullmatch(r"[0-9]{5}", value, re.ASCII) else None


def normalize_email(value: object) -> str | None:
    """A valid address, NFKC-normalized and lowercase; None when it is not an address.

    NFKC first: a fullwidth or otherwise "compatible" letter (``ｍ``, ``ﬁ``) is the letter it
    stands for, so the same mailbox cannot be spelled two ways (``emails_must_differ``)."""
    if not isinstance(value, str):
        return None
    value = unicodedata.normalize("NFKC", value.strip()).lower()
    if not value or len(value) > 320:
        return None
    try:
        from email_validator import validate_email

        return validate_email(value, check_deliverability=False, strict=True).normalized.lower()
    except Exception:  # EmailNotValidError, or anything odd in exotic input
        return None


def fold(text: str) -> str:
    """Case-, accent- and width-insensitive form (``Réception`` → ``reception``), without the
    invisible characters (a zero-width space does not make another name)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed
                   if not unicodedata.combining(c) and not _is_invisible(c)).casefold()


def _tokens(local_part: str) -> list[str]:
    return [t for t in re.split(r"[.\-_]+", fold(local_part)) if t]


@lru_cache(maxsize=1)
def _shared_mailbox_patterns() -> tuple[frozenset[str], frozenset[str]]:
    """(whole local parts without separators, single role words) from the data file."""
    compacts: set[str] = set()
    words: set[str] = set()
    for line in SHARED_MAILBOXES_FILE.read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip()
        tokens = _tokens(entry)
        if not tokens:
            continue
        compacts.add("".join(tokens))
        if len(tokens) == 1:
            words.add(tokens[0])
    return frozenset(compacts), frozenset(words)


def is_shared_mailbox(email: str) -> bool:
    """True for role addresses (info@, Réception+x@, ne_pas_repondre@, info.rh@, info2@...)."""
    local = email.rsplit("@", 1)[0].split("+", 1)[0]
    tokens = _tokens(local)
    if not tokens:
        return False
    compacts, words = _shared_mailbox_patterns()
    compact = "".join(tokens)
    if compact in compacts or compact.rstrip("0123456789") in compacts:
        return True
    stems = [t.rstrip("0123456789") for t in tokens]
    return any(stems) and all(s in words or not s for s in stems)


def mailbox_key(email: str) -> str:
    """The mailbox an address reaches: compatibility forms (NFKC), case and ``+tag`` ignored."""
    local, _, domain = unicodedata.normalize("NFKC", email).rpartition("@")
    return f"{local.split('+', 1)[0].casefold()}@{domain.casefold()}"



# --------------------------------------------------------------------------------------------
# Invisible characters, look-alike scripts and links (what a form must not carry)

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties) outside category Cf: characters
# that render as nothing. Category Cf (bidi controls, zero-width, soft hyphen...) is read from
# unicodedata.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0xE0000, 0xE0FFF),
)


def _is_invisible(char: str) -> bool:
    if unicodedata.category(char) == "Cf":
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _INVISIBLE_RANGES)


def has_invisible(text: str) -> bool:
    """Format characters (bidi overrides, zero-width...) and other default-ignorable ones:
    they make a text print differently from what it is."""
    return any(_is_invisible(c) for c in text)


# Mixes that real writing uses (UTS #39 "highly restrictive"); any other mix is a look-alike.
_SCRIPT_MIXES = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_NEUTRAL_SCRIPTS = frozenset({"COMMON", "INHERITED"})


def _scripts(text: str) -> frozenset[str]:
    from confusable_homoglyphs import categories

    return frozenset(categories.unique_aliases(text)) - _NEUTRAL_SCRIPTS


def mixes_scripts(text: str) -> bool:
    """True when ``text`` mixes writing systems the way look-alikes do (``exаmple`` with a
    Cyrillic ``а``); digits and punctuation belong to every script."""
    scripts = _scripts(text)
    return len(scripts) > 1 and not any(scripts <= mix for mix in _SCRIPT_MIXES)


def is_confusable_email(email: str) -> bool:
    """A (normalized) address whose local part or domain mixes scripts: within a label
    (``cisss.exаmple.qc.ca``), or across labels (``сisss.example.qc.ca``, a Cyrillic label
    next to Latin ones)."""
    local, _, domain = email.rpartition("@")
    if mixes_scripts(local):
        return True
    labels = [label for label in domain.split(".") if label]
    if any(mixes_scripts(label) for label in labels):
        return True
    return mixes_scripts(" ".join(labels))


@lru_cache(maxsize=1)
def _link_tlds() -> frozenset[str]:
    words: set[str] = set()
    for line in LINK_TLDS_FILE.read_text(encoding="utf-8").splitlines():
        words.update(line.split("#", 1)[0].split())
    return frozenset(w.lower() for w in words)


# Degrees whose dotted abbreviation ends like a country code (Seychelles, Palestine).
_DOTTED_ABBREVIATIONS = frozenset({"b.sc", "m.sc", "d.sc", "b.ps", "m.ps", "d.ps"})
_SCHEME = re.compile(r"(?:://|\b(?:mailto|javascript|vbscript|data):\S)", re.IGNORECASE)
_WWW = re.compile(r"(?<!\w)www\d{0,3}\.\w", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")
# label.label[.label...]: letters, digits and inner hyphens (IDN letters too)
_DOMAIN = re.compile(r"(?<![\w.-])((?:[^\W_](?:[\w-]*[^\W_])?\.)+)([^\W\d_]{2,63}|xn--[\w-]+)"
                     r"(?![\w-]|\.[^\W_])")


def looks_like_link(text: str) -> bool:
    """True for texts that mail clients would turn into links or addresses: ``http(s)://``,
    ``www.``, an at sign (``x@y.z``, ``x @ y``), an IP address or a domain (``evil.example.com``,
    ``bit.ly/x``). Initials, ``C.P. 123``, ``St-Jean``, ``M.Sc.`` and the like are not links.
    Checked after NFKC, with the ideographic full stop as a dot (browsers read it so)."""
    text = unicodedata.normalize("NFKC", text).replace("\u3002", ".")
    if _SCHEME.search(text) or _WWW.search(text) or "@" in text or _IPV4.search(text):
        return True
    for match in _DOMAIN.finditer(text):
        tld = match.group(2).lower()
        if match.group(0).lower() in _DOTTED_ABBREVIATIONS:
            continue
        if tld.startswith("xn--"):
            return True
        if tld in _link_tlds():
            return True
    return False

def _b64decode(value: object) -> tuple[str, bytes] | None:
    """(canonical base64, bytes) of a non-empty base64 text of at most 1 MiB decoded."""
    if not isinstance(value, str) or len(value) > 2 * _MAX_B64_CHARS:
        return None
    compact = "".join(value.split())
    match = _DATA_URL.match(compact)
    if match:
        compact = compact[match.end():]
    if not compact or len(compact) > _MAX_B64_CHARS or not _B64_ALPHABET.fullmatch(compact):
        return None
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw or len(raw) > MAX_SIGNATURE_BYTES:
        return None
    return base64.b64encode(raw).decode("ascii"), raw


def _header_size(raw: bytes, fmt: str) -> tuple[int, int]:
    """The size a PNG/JPEG header declares, read without decoding and without Pillow's
    decompression-bomb check (which warns through the process-wide ``warnings`` machinery)."""
    from PIL import JpegImagePlugin, PngImagePlugin

    plugin = PngImagePlugin.PngImageFile if fmt == "PNG" else JpegImagePlugin.JpegImageFile
    with plugin(io.BytesIO(raw)) as img:
        return img.size


def _is_image(raw: bytes) -> bool:
    """A PNG or JPEG that Pillow can decode, of a sane size.

    The declared size is checked against our own limits *before* ``Image.open``: our pixel
    limit is below Pillow's warning threshold, so a decompression bomb is refused here and
    Pillow never warns. Nothing touches the ``warnings`` filters: they are process-global and
    validations run side by side in threads (Streamlit sessions)."""
    if raw.startswith(_PNG_MAGIC):
        fmt = "PNG"
    elif raw.startswith(_JPEG_MAGIC):
        fmt = "JPEG"
    else:
        return False
    try:
        from PIL import Image

        width, height = _header_size(raw, fmt)
        if not (0 < width <= MAX_SIGNATURE_SIDE and 0 < height <= MAX_SIGNATURE_SIDE):
            return False
        if width * height > MAX_SIGNATURE_PIXELS:
            return False
        with Image.open(io.BytesIO(raw), formats=[fmt]) as img:
            if img.size != (width, height):
                return False
            img.verify()
        with Image.open(io.BytesIO(raw), formats=[fmt]) as img:
            if fmt == "JPEG":
                img.draft("L", (max(1, width // 8), max(1, height // 8)))
            img.load()
        return True
    except Exception:  # truncated, corrupt, unsupported: not a usable image
        return False


def normalize_signature_image(value: object) -> str | None:
    """Canonical base64 of a PNG/JPEG signature image (≤ 1 MiB), else None."""
    decoded = _b64decode(value)
    if decoded is None or not _is_image(decoded[1]):
        return None
    return decoded[0]


def normalize_signature_data(value: object) -> str | None:
    """Canonical base64 of digital-signature data (non-empty, ≤ 1 MiB), else None."""
    decoded = _b64decode(value)
    return None if decoded is None else decoded[0]


def _today() -> date:
    """Today in Québec: a resolution adopted 'today' there is not in the future."""
    return quebec_today()


def normalize_past_date(value: object) -> str | None:
    """An ISO date ``YYYY-MM-DD`` that is not in the future, else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value, re.ASCII):
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return None
    return parsed.isoformat() if parsed <= _today() else None


# --------------------------------------------------------------------------------------------
# Rules shared with the screens


def allowed_roles(organization_type: object) -> list[str]:
    """Who may authorize for this kind of organization (section 3)."""
    if not isinstance(organization_type, str):
        return []
    return list(ROLES_BY_ORGANIZATION.get(organization_type, []))


def board_resolution_required(applications: object, role: object) -> bool:
    """Online payment authorization signed by a DSP or DG needs a board resolution."""
    if not isinstance(applications, (list, tuple, set, frozenset)):
        return False
    has_payment = any(isinstance(a, str) and a == ONLINE_PAYMENT for a in applications)
    return has_payment and isinstance(role, str) and role in ROLES_NEEDING_BOARD_RESOLUTION


def validity_period(start: date | None = None) -> tuple[date, date]:
    """The validity section 4 proposes for new credentials: from ``start`` (today in Québec
    unless told) for the configured number of days."""
    start = start or quebec_today()
    return start, start + timedelta(days=get_settings().credential_validity_days)


# --------------------------------------------------------------------------------------------
# The checker


def _blank(value: object) -> bool:
    return value is _MISSING or value is None or (isinstance(value, str) and not value.strip())


def _has_control(text: str) -> bool:
    """Control characters and lone surrogates cannot be stored or printed safely."""
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def _key_label(key: object) -> str:
    """A printable rendering of a key that came from the input (may be any text)."""
    text = key if isinstance(key, str) else repr(key)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= 60 else text[:59] + "…"


def _join(prefix: str, key: object) -> str:
    label = _key_label(key)
    return f"{prefix}.{label}" if prefix else label


class _Checker:
    """Collects every error; each method returns the normalized value (or the raw one)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.errors: list[FieldError] = []

    def error(self, path: str, code: str, variant: str | None = None, **params: Any) -> None:
        self.errors.append(FieldError(path, code, message(code, self.lang, variant, **params)))

    # -- structure

    def obj(self, value: object, path: str, keys: tuple[str, ...]) -> dict | None:
        """A JSON object with known keys; reports the unknown ones."""
        if not isinstance(value, dict):
            return None
        for key in value:
            if key not in keys:
                self.error(_join(path, key), "unknown_value", "key")
        return value

    @staticmethod
    def get(obj: dict, key: str) -> object:
        return obj.get(key, _MISSING)

    @staticmethod
    def out(obj: dict, keys: tuple[str, ...], values: dict) -> dict:
        """The normalized object: known keys in canonical order, then unknown keys kept as is."""
        result = {k: values[k] for k in keys}
        result.update({k: v for k, v in obj.items() if k not in keys})
        return result

    # -- values

    def text(self, value: object, path: str, max_len: int, *, upper: bool = True,
             optional: bool = False, plain: bool = False) -> object:
        """A free text. ``plain`` texts (names, functions, organization names) are printed in
        the emails and compared with each other: no link, no look-alike mix of scripts."""
        if _blank(value):
            if not optional:
                self.error(path, "required")
            return None if value is _MISSING else (None if optional else value)
        if not isinstance(value, str):
            self.error(path, "unknown_value")
            return value
        normalized = upper_text(value) if upper else collapse_whitespace(value)
        if _has_control(normalized):
            self.error(path, "unknown_value")
            return value
        if has_invisible(normalized):
            self.error(path, "invisible_character")
            return value
        if len(normalized) > max_len:
            self.error(path, "too_long", max=max_len)
            return value
        if plain and looks_like_link(normalized):
            self.error(path, "link_not_allowed")
            return value
        if plain and any(mixes_scripts(word) for word in normalized.split()):
            self.error(path, "confusable_text")
            return value
        return normalized

    def enum(self, value: object, path: str, allowed: tuple[str, ...]) -> object:
        if _blank(value):
            self.error(path, "required")
            return None if value is _MISSING else value
        if not isinstance(value, str) or value not in allowed:
            self.error(path, "unknown_value")
        return value

    def formatted(self, value: object, path: str, normalizer, code: str, *,
                  optional: bool = False, variant: str | None = None) -> object:
        """A value with a format (phone, postal code...): blank optional values become null."""
        if _blank(value):
            if optional:
                return None
            self.error(path, "required")
            return None if value is _MISSING else value
        normalized = normalizer(value)
        if normalized is None:
            self.error(path, code, variant)
            return value
        return normalized

    def email(self, value: object, path: str) -> object:
        result = self.formatted(value, path, normalize_email, "invalid_email")
        if isinstance(result, str) and result == normalize_email(result):
            if is_confusable_email(result):
                self.error(path, "confusable_email")
            elif is_shared_mailbox(result):
                self.error(path, "shared_mailbox")
        return result

    def commitments(self, value: object, path: str) -> object:
        if value is not True:
            self.error(path, "commitments_required")
        return None if value is _MISSING else value

    def signature(self, value: object, path: str) -> object:
        if _blank(value) or not isinstance(value, dict):
            self.error(path, "signature_required")
            return None if value is _MISSING else value
        self.obj(value, path, SIGNATURE_KEYS)
        method = self.get(value, "method")
        if _blank(method):
            self.error(path, "signature_required")
            return value
        if not isinstance(method, str) or method not in SIGNATURE_METHODS:
            self.error(f"{path}.method", "unknown_value")
            return value
        if method == "typed":
            return self.typed_signature(value, path)
        image, data = self.get(value, "image_png_base64"), self.get(value, "data_base64")
        result: dict[str, object] = {"method": method}
        usable = True
        if not _blank(image):
            result["image_png_base64"] = normalize_signature_image(image)
            usable = result["image_png_base64"] is not None
        if not _blank(data):
            if method != "digital":
                self.error(f"{path}.data_base64", "unknown_value")
            result["data_base64"] = normalize_signature_data(data)
            usable = usable and result["data_base64"] is not None
        has_image = "image_png_base64" in result
        present = has_image if method != "digital" else (has_image or "data_base64" in result)
        if not (present and usable):
            self.error(path, "signature_required")
            return value
        for extra in ("typed_name", "attested"):  # a typed signature's fields only
            if extra in value:
                self.error(f"{path}.{extra}", "unknown_value")
        result.update({k: v for k, v in value.items() if k not in SIGNATURE_KEYS})
        return result

    def typed_signature(self, value: dict, path: str) -> object:
        """A name typed on the keyboard, worth a signature only with its signer's attestation
        (the keyboard path to sign, beside the pad and the image): no image, no data."""
        for other in ("image_png_base64", "data_base64"):
            if other in value:
                self.error(f"{path}.{other}", "unknown_value")
        name = self.get(value, "typed_name")
        if _blank(name):
            self.error(path, "signature_required")
            return value
        typed = self.text(name, f"{path}.typed_name", TYPED_NAME_MAX, plain=True)
        if self.get(value, "attested") is not True:
            self.error(f"{path}.attested", "signature_required", "attestation")
        result: dict[str, object] = {"method": "typed", "typed_name": typed, "attested": True}
        result.update({k: v for k, v in value.items() if k not in SIGNATURE_KEYS})
        return result


# --------------------------------------------------------------------------------------------
# Sections


def _check_section1(c: _Checker, data: dict) -> dict:
    values: dict[str, object] = {}

    apps = c.get(data, "applications")
    if apps is _MISSING or apps is None or (isinstance(apps, list) and not apps):
        c.error("applications", "required")
        values["applications"] = None if apps is _MISSING else apps
    elif not isinstance(apps, list):
        c.error("applications", "unknown_value")
        values["applications"] = apps
    else:
        bad = False
        for i, app in enumerate(apps):
            if not isinstance(app, str) or app not in APPLICATIONS:
                c.error(f"applications[{i}]", "unknown_value")
                bad = True
        values["applications"] = apps if bad else [a for a in APPLICATIONS if a in apps]

    values["existing_username"] = c.text(
        c.get(data, "existing_username"), "existing_username", USERNAME_MAX,
        upper=False, optional=True)
    values["organization_type"] = c.enum(
        c.get(data, "organization_type"), "organization_type", ORGANIZATION_TYPES)
    values["register_scope"] = c.enum(
        c.get(data, "register_scope"), "register_scope", REGISTER_SCOPES)
    return values


def _check_section5(c: _Checker, data: dict, scope: object, org: object) -> object:
    numbers = c.get(data, "additional_establishment_numbers")
    if numbers is _MISSING or numbers is None:
        numbers = []
    elif not isinstance(numbers, list):
        c.error("additional_establishment_numbers", "unknown_value")
        return numbers
    normalized: list[object] = []
    seen: set[str] = set()
    for i, raw in enumerate(numbers):
        path = f"additional_establishment_numbers[{i}]"
        number = normalize_establishment_number(raw)
        if number is None:
            c.error(path, "invalid_establishment_number")
            normalized.append(raw)
            continue
        if number in seen:
            c.error(path, "duplicate_establishment")
        seen.add(number)
        normalized.append(number)

    if scope == "some_installations" and not numbers:
        c.error("additional_establishment_numbers", "establishments_required")
    if scope in ("all_installations", "optilab_cluster") and numbers:
        c.error("additional_establishment_numbers", "establishments_not_allowed")
    if org in ORGANIZATION_TYPES and scope in REGISTER_SCOPES:
        if (scope == "optilab_cluster") != (org == "optilab"):
            c.error("register_scope", "scope_mismatch")
    return normalized


def _check_user(c: _Checker, value: object) -> object:
    path = "user"
    user = c.obj(value, path, USER_KEYS)
    if user is None:
        c.error(path, "required" if _blank(value) else "unknown_value")
        return None if value is _MISSING else value
    g = lambda key: c.get(user, key)  # noqa: E731
    values = {
        "first_name": c.text(g("first_name"), "user.first_name", NAME_MAX, plain=True),
        "last_name": c.text(g("last_name"), "user.last_name", NAME_MAX, plain=True),
        "sex": c.enum(g("sex"), "user.sex", SEXES),
        "function": c.text(g("function"), "user.function", TEXT_MAX, plain=True),
        "email": c.email(g("email"), "user.email"),
        "phone": c.formatted(g("phone"), "user.phone", normalize_phone, "invalid_phone"),
        "extension": c.formatted(g("extension"), "user.extension", normalize_extension,
                                 "invalid_phone", optional=True, variant="extension"),
        "fax": c.formatted(g("fax"), "user.fax", normalize_phone, "invalid_phone", optional=True),
        "establishment_name": c.text(g("establishment_name"), "user.establishment_name",
                                     TEXT_MAX, plain=True),
        "establishment_number": c.formatted(
            g("establishment_number"), "user.establishment_number",
            normalize_establishment_number, "invalid_establishment_number"),
        "address": c.text(g("address"), "user.address", TEXT_MAX),
        "postal_code": c.formatted(g("postal_code"), "user.postal_code", normalize_postal_code,
                                   "invalid_postal_code"),
        "commitments_accepted": c.commitments(g("commitments_accepted"),
                                              "user.commitments_accepted"),
        "signature": c.signature(g("signature"), "user.signature"),
    }
    return c.out(user, USER_KEYS, values)


def _check_authorizer(c: _Checker, value: object) -> object:
    path = "authorizer"
    authorizer = c.obj(value, path, AUTHORIZER_KEYS)
    if authorizer is None:
        c.error(path, "required" if _blank(value) else "unknown_value")
        return None if value is _MISSING else value
    values = {
        "first_name": c.text(c.get(authorizer, "first_name"), "authorizer.first_name",
                             NAME_MAX, plain=True),
        "last_name": c.text(c.get(authorizer, "last_name"), "authorizer.last_name",
                            NAME_MAX, plain=True),
        "email": c.email(c.get(authorizer, "email"), "authorizer.email"),
    }
    return c.out(authorizer, AUTHORIZER_KEYS, values)


def _check_board_resolution(c: _Checker, value: object, path: str, required: bool) -> object:
    """Required: one ``board_resolution_required`` unless number and a past date are given.
    Optional but given: its parts are checked like any other field."""
    if _blank(value):
        if required:
            c.error(path, "board_resolution_required")
        return None
    if not isinstance(value, dict):
        c.error(path, "board_resolution_required" if required else "unknown_value")
        return value
    c.obj(value, path, BOARD_RESOLUTION_KEYS)
    raw_number, raw_date = c.get(value, "number"), c.get(value, "date")
    number: object = raw_number
    if isinstance(raw_number, str) and not _blank(raw_number):
        number = c.text(raw_number, f"{path}.number", BOARD_RESOLUTION_NUMBER_MAX, upper=False)
    elif not required:
        c.error(f"{path}.number", "required" if _blank(raw_number) else "unknown_value")
    when = normalize_past_date(raw_date)
    if when is None and not required:
        c.error(f"{path}.date", "required" if _blank(raw_date) else "unknown_value",
                None if _blank(raw_date) else "date")
    if required and (when is None or not isinstance(raw_number, str) or _blank(raw_number)):
        c.error(path, "board_resolution_required")
    result = {"number": number if number is not _MISSING else None,
              "date": when if when is not None else (None if raw_date is _MISSING else raw_date)}
    result.update({k: v for k, v in value.items() if k not in BOARD_RESOLUTION_KEYS})
    return result


def _check_authorization(c: _Checker, value: object, organization_type: object,
                         applications: object, path: str = "authorization") -> object:
    section = c.obj(value, path, AUTHORIZATION_KEYS)
    if section is None:
        c.error(path, "required" if _blank(value) else "unknown_value")
        return None if value is _MISSING else value
    g = lambda key: c.get(section, key)  # noqa: E731
    p = lambda key: f"{path}.{key}"  # noqa: E731
    role = c.enum(g("role"), p("role"), ROLES)
    if organization_type in ORGANIZATION_TYPES and role in ROLES:
        if role not in allowed_roles(organization_type):
            c.error(p("role"), "role_not_allowed")
    values = {
        "role": role,
        "sex": c.enum(g("sex"), p("sex"), SEXES),
        "function": c.text(g("function"), p("function"), TEXT_MAX, plain=True),
        "phone": c.formatted(g("phone"), p("phone"), normalize_phone, "invalid_phone"),
        "extension": c.formatted(g("extension"), p("extension"), normalize_extension,
                                 "invalid_phone", optional=True, variant="extension"),
        "fax": c.formatted(g("fax"), p("fax"), normalize_phone, "invalid_phone", optional=True),
        "organization_name": c.text(g("organization_name"), p("organization_name"), TEXT_MAX,
                                    plain=True),
        "address": c.text(g("address"), p("address"), TEXT_MAX),
        "postal_code": c.formatted(g("postal_code"), p("postal_code"), normalize_postal_code,
                                   "invalid_postal_code"),
        "commitments_accepted": c.commitments(g("commitments_accepted"),
                                              p("commitments_accepted")),
        "signature": c.signature(g("signature"), p("signature")),
        "board_resolution": _check_board_resolution(
            c, g("board_resolution"), p("board_resolution"),
            board_resolution_required(applications, role)),
    }
    return c.out(section, AUTHORIZATION_KEYS, values)


def _check_request(c: _Checker, data: object) -> object:
    if not isinstance(data, dict):
        c.error("$", "unknown_value")
        return data
    c.obj(data, "", TOP_LEVEL_KEYS)
    values = _check_section1(c, data)
    values["additional_establishment_numbers"] = _check_section5(
        c, data, values["register_scope"], values["organization_type"])
    values["user"] = _check_user(c, c.get(data, "user"))
    values["authorizer"] = _check_authorizer(c, c.get(data, "authorizer"))

    user_email = values["user"].get("email") if isinstance(values["user"], dict) else None
    auth_email = (values["authorizer"].get("email")
                  if isinstance(values["authorizer"], dict) else None)
    if (isinstance(user_email, str) and isinstance(auth_email, str)
            and normalize_email(user_email) == user_email
            and normalize_email(auth_email) == auth_email
            and mailbox_key(user_email) == mailbox_key(auth_email)):
        c.error("authorizer.email", "emails_must_differ")

    authorization = c.get(data, "authorization")
    if authorization is _MISSING or authorization is None:
        values["authorization"] = None
    else:
        values["authorization"] = _check_authorization(
            c, authorization, values["organization_type"], values["applications"])
    return c.out(data, TOP_LEVEL_KEYS, values)


# --------------------------------------------------------------------------------------------
# Public entry points


def validate_request(data: object, lang: str = "fr") -> ValidationResult:
    """Every broken rule of a whole request; the normalized request when there is none."""
    checker = _Checker(lang)
    try:
        normalized = _check_request(checker, data)
    except Exception:  # a bug must not turn into a traceback for the person filling the form
        checker.error("$", "unknown_value")
        normalized = None
    if checker.errors:
        return ValidationResult(errors=checker.errors)
    return ValidationResult(errors=[], normalized=normalized)  # type: ignore[arg-type]


def validate_authorization(section3: object, request: object, lang: str = "fr") -> ValidationResult:
    """Section 3 alone, against an already-normalized request (the authorizer's screen)."""
    checker = _Checker(lang)
    request = request if isinstance(request, dict) else {}
    try:
        normalized = _check_authorization(
            checker, section3 if section3 is not None else _MISSING,
            request.get("organization_type"), request.get("applications"))
    except Exception:
        checker.error("authorization", "unknown_value")
        normalized = None
    if checker.errors:
        return ValidationResult(errors=checker.errors)
    return ValidationResult(errors=[], normalized=normalized)  # type: ignore[arg-type]


def normalize_request(data: dict) -> dict:
    """The normalized form of a request (idempotent). Values that break a rule are kept as
    given, so normalizing never hides an error from a later validation."""
    try:
        return _check_request(_Checker("fr"), data)  # type: ignore[return-value]
    except Exception:
        return data
