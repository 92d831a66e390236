"""The rules that keep the form from carrying links, look-alikes and invisible characters, and the
signature check that must not touch the process-wide warnings filters."""

from __future__ import annotations

import base64
import io
import struct
import warnings
import zlib
from unittest import mock

import pytest

from models.i18n import exists
from models.messages import message
from models.rules import (
    MAX_SIGNATURE_PIXELS,
    fold,
    has_invisible,
    is_confusable_email,
    looks_like_link,
    mailbox_key,
    mixes_scripts,
    normalize_email,
    normalize_signature_image,
    validate_authorization,
    validate_request,
)
from tests.models.helpers import errors_of, establishment_with_authorization, load_sample

NEW_CODES = ("link_not_allowed", "confusable_email", "invisible_character", "confusable_text")
PLAIN_FIELDS = [
    ("user", "first_name"), ("user", "last_name"), ("user", "function"),
    ("user", "establishment_name"), ("authorizer", "first_name"), ("authorizer", "last_name"),
]


def only(data) -> set[tuple[str, str]]:
    result = validate_request(data)
    assert result.normalized is None if result.errors else result.normalized is not None
    return errors_of(result)


def test_new_codes_have_french_and_english_messages():
    for code in NEW_CODES:
        assert exists(f"errors.rule.{code}")
        assert message(code, "fr") != message(code, "en")


# --- links ---------------------------------------------------------------------------------------

LINKS = [
    "https://evil.example.com", "http://evil", "HTTP://EVIL.CA", "ftp://files", "hxxp://x.y",
    "www.evil.ca", "WWW.EVIL.CA", "voir www2.evil.ca", "evil.example.com", "EVIL.COM",
    "bit.ly/x", "bit.ly", "x.co", "t.co/abc", "cisss.qc.ca", "Marie evil.com.", "(evil.org)",
    "x@y.z", "marie@cisss.qc.ca", "Marie @x", "x @ y . ca", "Marie＠evil.ca", "192.168.0.1", "http://10.0.0.1",
    "ｅｖｉｌ．ｃｏｍ", "evil。com", "javascript:alert(1)", "mailto:x", "data:text/html,x",
    "exämple.com", "xn--exmple-4nf.com", "phish.quebec", "a.b.c.info", "clinique.health",
]
NOT_LINKS = [
    "Marie", "Marie-Ève", "D'Arcy Côté", "O’Neil", "St-Jean", "Ste-Foy", "St. Jean", "Ste.Foy",
    "St.Jean", "CISSS de la Capitale-Nationale", "C.P. 123", "C.P.123", "CP 123", "J.-F. Tremblay",
    "J. Tremblay", "J.Tremblay", "M.Sc.", "M.Sc", "B.Sc. Inf.", "B.Sc.Inf.", "B.Sc.N", "Ph.D.",
    "M.D.", "LL.B.", "M.Ps.", "D.Ps", "Inf. aux.", "Dr.Tremblay", "C.H.U.S.", "C.L.S.C.",
    "CHU de Québec – Université Laval", "Hôtel-Dieu de Lévis", "Agente 2.5", "Pavillon 2.0",
    "Version 1.2.3", "CLSC/CHSLD", "Directeur (DSP)", "Adj.DSP", "Dir.RH", "Coord.TI", "Data: analyste",
    "Tél. 418", "A.-M. Côté", "Ing. jr", "N.B.", "Inc.", "Ltée", "Cie.", "Québec (Québec)",
    "1050, chemin Sainte-Foy", "Nguyễn Văn An", "Иван Петров", "Ζωή", "山田 花子", "Al-Khatib",
    "De La Rosa", "Agent(e) de la paie – 50 %", "Serv.Soc.", "Technicienne en T.I.",
]


@pytest.mark.parametrize("text", LINKS)
def test_looks_like_link(text):
    assert looks_like_link(text)


@pytest.mark.parametrize("text", NOT_LINKS)
def test_does_not_look_like_link(text):
    assert not looks_like_link(text)


@pytest.mark.parametrize("section, key", PLAIN_FIELDS)
@pytest.mark.parametrize("text", ["Voir https://x.ca", "evil.example.com", "x@y.z", "bit.ly/x"])
def test_links_are_refused_in_names_functions_and_establishment(section, key, text):
    data = load_sample()
    data[section][key] = text
    assert only(data) == {(f"{section}.{key}", "link_not_allowed")}


@pytest.mark.parametrize("key", ["function", "organization_name"])
def test_links_are_refused_in_section3(key):
    data = establishment_with_authorization()
    data["authorization"][key] = "Voir www.evil.ca"
    assert only(data) == {(f"authorization.{key}", "link_not_allowed")}
    result = validate_authorization(data["authorization"], load_sample())
    assert errors_of(result) == {(f"authorization.{key}", "link_not_allowed")}
    assert result.normalized is None


@pytest.mark.parametrize("section, key", PLAIN_FIELDS)
@pytest.mark.parametrize("text", ["C.P. 123", "St-Jean", "Capitale-Nationale", "J.-F. D'Arcy",
                                  "M.Sc."])
def test_legitimate_texts_are_accepted(section, key, text):
    data = load_sample()
    data[section][key] = text
    assert validate_request(data).ok


def test_an_address_may_look_dotted():
    """Addresses are not checked for links: 'C.P. 123, succ. St.Jean' is an address."""
    data = load_sample()
    data["user"]["address"] = "C.P. 123, succ. St.Jean, Québec.Qc"
    assert validate_request(data).ok


# --- invisible characters ------------------------------------------------------------------------

INVISIBLE = ["\u202e", "\u202a", "\u200e", "\u200f", "\u2066", "\u200b", "\u200c", "\u200d",
             "\u2060", "\ufeff", "\u00ad", "\u180e", "\u034f", "\u3164", "\ufe0f", "\U000e0041"]


@pytest.mark.parametrize("char", INVISIBLE)
def test_invisible_characters(char):
    assert has_invisible(f"Gag{char}non")
    assert fold(f"Gag{char}non") == fold("GAGNON")  # a comparison does not see them either


def test_no_invisible_character_in_usual_names():
    assert not has_invisible("Marie-Ève D'Arcy Côté O’Neil Nguyễn Văn An 山田")


@pytest.mark.parametrize("section, key", PLAIN_FIELDS + [("user", "address")])
@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\u2060"])
def test_invisible_characters_are_refused_in_every_text(section, key, char):
    data = load_sample()
    data[section][key] = f"Ab{char}cd"
    assert only(data) == {(f"{section}.{key}", "invisible_character")}


def test_invisible_characters_are_refused_in_section3_and_username():
    data = establishment_with_authorization()
    data["authorization"]["address"] = "1050\u200b chemin Sainte-Foy"
    data["authorization"]["board_resolution"]["number"] = "CA\u202e-1"
    data["existing_username"] = "mtrem\u200dblay"
    assert only(data) == {("authorization.address", "invisible_character"),
                          ("authorization.board_resolution.number", "invisible_character"),
                          ("existing_username", "invisible_character")}


def test_control_characters_keep_their_code():
    data = load_sample()
    data["user"]["last_name"] = "Trem\x00blay"
    assert only(data) == {("user.last_name", "unknown_value")}


def test_fullwidth_names_fold_to_the_same_person():
    assert fold("ＪＥＡＮ ＧＡＧＮＯＮ") == fold("Jean Gagnon")


# --- look-alike scripts --------------------------------------------------------------------------

CYR_A = "\u0430"


@pytest.mark.parametrize("text, mixed", [
    ("example", False), ("exämple", False), ("Marie-Ève", False), ("Иван", False),
    ("Ζωή", False), ("山田はなこ", False), ("東京タワー", False), ("서울시청", False), ("a-1_b", False),
    (f"ex{CYR_A}mple", True), ("Alloτ", True), ("Иванx", True), (f"M{CYR_A}rie", True),
])
def test_mixes_scripts(text, mixed):
    assert mixes_scripts(text) is mixed


@pytest.mark.parametrize("email, confusable", [
    ("marie.tremblay@cisss.example.qc.ca", False),
    ("marie-ève.côté@cisss.example.qc.ca", False),
    ("marie@exämple.qc.ca", False),
    ("иван@пример.рф", False),
    (f"marie@cisss.ex{CYR_A}mple.qc.ca", True),
    (f"m{CYR_A}rie@cisss.example.qc.ca", True),
    ("marie@\u0441isss.example.qc.ca", True),  # Cyrillic с starts the label
    ("marie@\u0441\u0456\u0455\u0455.example.qc.ca", True),  # an all-Cyrillic label among Latin
])
def test_is_confusable_email(email, confusable):
    normalized = normalize_email(email)
    assert normalized is not None
    assert is_confusable_email(normalized) is confusable


@pytest.mark.parametrize("email", [
    f"jean@cisss.ex{CYR_A}mple.qc.ca", "jean@cisss.xn--exmple-4nf.qc.ca",
    f"je{CYR_A}n@cisss.example.qc.ca", "jean@\u0441\u0456\u0455\u0455.example.qc.ca",
])
def test_confusable_emails_are_refused(email):
    data = load_sample()
    data["authorizer"]["email"] = email
    assert only(data) == {("authorizer.email", "confusable_email")}


def test_idn_domains_in_one_script_are_accepted():
    data = load_sample()
    data["authorizer"]["email"] = "jean.gagnon@clinique-lévis.qc.ca"
    assert validate_request(data).ok


@pytest.mark.parametrize("section, key", PLAIN_FIELDS)
def test_mixed_script_words_are_refused_in_names(section, key):
    data = load_sample()
    data[section][key] = f"J{CYR_A}n Gagnon"
    assert only(data) == {(f"{section}.{key}", "confusable_text")}


def test_names_in_one_other_script_are_accepted():
    data = load_sample()
    data["user"]["first_name"], data["user"]["last_name"] = "Иван", "Ζωή"
    data["authorizer"]["first_name"], data["authorizer"]["last_name"] = "花子", "山田"
    assert validate_request(data).ok


# --- NFKC addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize("spelled, mailbox", [
    ("\uff4darie@cisss.example.qc.ca", "marie@cisss.example.qc.ca"),  # fullwidth m
    ("marie@\uff43isss.example.qc.ca", "marie@cisss.example.qc.ca"),  # fullwidth c in the domain
    ("\ufb01lion@x.ca", "filion@x.ca"),  # ligature fi
    ("MARIE＠X.CA", "marie@x.ca"),  # fullwidth at sign
])
def test_emails_are_nfkc_normalized(spelled, mailbox):
    assert normalize_email(spelled) == mailbox
    assert mailbox_key(spelled) == mailbox_key(mailbox)


def test_mailbox_key_ignores_width_case_and_tag():
    assert mailbox_key("\uff2darie+rh@CISSS.example.qc.ca") == "marie@cisss.example.qc.ca"


@pytest.mark.parametrize("authorizer", [
    "\uff4darie.tremblay@cisss.example.qc.ca", "marie.tremblay@\uff43isss.example.qc.ca",
    "MARIE.TREMBLAY+x@cisss.example.qc.ca",
])
def test_same_mailbox_in_other_spellings_is_refused(authorizer):
    data = load_sample()
    data["authorizer"]["email"] = authorizer
    assert only(data) == {("authorizer.email", "emails_must_differ")}


# --- signatures: no process-wide warnings filter ----------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares a huge size (a decompression bomb's first bytes)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("width, height", [
    (5000, 5000),  # over our pixel limit, under Pillow's warning threshold
    (10_000, 9_500),  # over Pillow's warning threshold (89 Mpx), under its error
    (10_000, 10_000),
    (20_000, 20_000),  # over Pillow's own error threshold, and over our side limit
])
def test_decompression_bombs_are_refused_without_any_warning(width, height):
    assert width * height > MAX_SIGNATURE_PIXELS
    encoded = base64.b64encode(_png_header_only(width, height)).decode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert normalize_signature_image(encoded) is None
    assert [str(w.message) for w in caught] == []


def test_signature_check_never_touches_the_warnings_filters():
    from PIL import Image

    img = Image.new("L", (300, 100), 255)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    png = base64.b64encode(buf.getvalue()).decode()
    img.save(buf := io.BytesIO(), "JPEG")
    jpeg = base64.b64encode(buf.getvalue()).decode()
    forbidden = AssertionError("the warnings filters are process-wide")
    with mock.patch.object(warnings, "catch_warnings", side_effect=forbidden), \
            mock.patch.object(warnings, "simplefilter", side_effect=forbidden), \
            mock.patch.object(warnings, "filterwarnings", side_effect=forbidden):
        assert normalize_signature_image(png) is not None
        assert normalize_signature_image(jpeg) is not None
