"""Properties of the rules over generated requests (Hypothesis).

- normalization is idempotent and is what validation returns;
- ``export(submit(x)) == normalize(x)`` on the real database for any valid request;
- any invalid request (a broken valid one, or arbitrary JSON) gives at least one error and
  stores nothing.
"""

from __future__ import annotations

import base64
import copy
import string
import unicodedata
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from models.canonical import APPLICATIONS, ORGANIZATION_TYPES
from models.db import session_scope
from models.request_store import InvalidRequest, export_request, store_request
from models.rules import (
    allowed_roles,
    board_resolution_required,
    has_invisible,
    is_shared_mailbox,
    looks_like_link,
    mailbox_key,
    normalize_request,
    upper_text,
    validate_request,
)
from models.tables import AccessRequest, AuditEvent, Authorization
from tests.models.helpers import image_b64, png_b64

FAST = settings(max_examples=150, deadline=None)
DB = settings(max_examples=50, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

PNG, JPEG = png_b64(), image_b64("JPEG")

# --- strategies of valid values, in the many spellings people type -------------------------------

LETTERS = string.ascii_letters + "éèêëàâçîïôûüÉÈÀÇÔœ"
name_text = st.text(alphabet=LETTERS + " -'’", min_size=1, max_size=40).filter(str.strip)
# Addresses: any printable text (no control, format or other invisible character).
free_text = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs", "Cf")), min_size=1, max_size=60,
).filter(lambda s: s.strip() and len(upper_text(s)) <= 100 and not has_invisible(s))
# Functions and organization names: printed in the emails, so no link and no mix of scripts
# within a word (the security tests cover those refusals).
plain_text = st.text(
    alphabet=LETTERS + "0123456789 -'’.,()/&:«»–", min_size=1, max_size=60,
).filter(lambda s: s.strip() and not looks_like_link(s))


@st.composite
def spaced(draw, strategy):
    """A value with the stray spaces a form gets."""
    value = draw(strategy)
    return draw(st.sampled_from(["", " ", "  "])) + value + draw(st.sampled_from(["", " ", "\t"]))


digits = lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)  # noqa: E731


@st.composite
def phones(draw):
    area = draw(st.sampled_from("23456789")) + draw(digits(2))
    exchange = draw(st.sampled_from("23456789")) + draw(digits(2))
    line = draw(digits(4))
    template = draw(st.sampled_from([
        "{a} {e}-{l}", "({a}) {e}-{l}", "{a}{e}{l}", "1-{a}-{e}-{l}", "+1 {a} {e} {l}",
        "{a}.{e}.{l}", "+1 ({a}) {e}-{l}", "1{a}{e}{l}",
    ]))
    return template.format(a=area, e=exchange, l=line)


@st.composite
def postal_codes(draw):
    first = "ABCEGHJKLMNPRSTVXY"
    other = "ABCEGHJKLMNPRSTVWXYZ"
    code = (draw(st.sampled_from(first)) + draw(digits(1)) + draw(st.sampled_from(other))
            + " " + draw(digits(1)) + draw(st.sampled_from(other)) + draw(digits(1)))
    style = draw(st.sampled_from(["as_is", "lower", "compact", "spaces"]))
    return {"as_is": code, "lower": code.lower(), "compact": code.replace(" ", ""),
            "spaces": " " + code.replace(" ", "   ") + " "}[style]


local_parts = st.from_regex(r"[a-z][a-z0-9]{1,12}([._-][a-z0-9]{1,10})?", fullmatch=True)


@st.composite
def emails(draw):
    local = draw(local_parts)
    assume(not is_shared_mailbox(f"{local}@x.ca"))
    if draw(st.booleans()):
        local += "+" + draw(st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True))
    domain = draw(st.from_regex(r"[a-z]{2,10}", fullmatch=True)) + draw(
        st.sampled_from([".qc.ca", ".ca", ".com", ".org", ".gouv.qc.ca"]))
    address = f"{local}@{domain}"
    return address.upper() if draw(st.booleans()) else address


@st.composite
def signatures(draw):
    return draw(st.sampled_from([
        {"method": "drawn", "image_png_base64": PNG},
        {"method": "image", "image_png_base64": JPEG},
        {"method": "digital", "image_png_base64": PNG},
    ]) | st.binary(min_size=1, max_size=64).map(
        lambda b: {"method": "digital", "data_base64": base64.b64encode(b).decode()}))


optional_extension = st.none() | st.just("") | st.from_regex(r"[0-9]{1,10}", fullmatch=True)
optional_phone = st.none() | st.just("") | phones()


def _maybe_drop(draw, obj: dict, keys: list[str]) -> None:
    """Optional keys may be left out entirely: normalization puts them back as null."""
    for key in keys:
        if key in obj and obj[key] in (None, "", []) and draw(st.booleans()):
            del obj[key]


@st.composite
def sections3(draw, organization_type: str, applications: list[str]):
    role = draw(st.sampled_from(allowed_roles(organization_type)))
    resolution = None
    past = st.dates(min_value=date(1990, 1, 1), max_value=date.today() - timedelta(days=1))
    if board_resolution_required(applications, role) or draw(st.booleans()):
        resolution = {"number": draw(spaced(st.from_regex(r"[A-Z0-9][A-Z0-9 /-]{0,20}",
                                                          fullmatch=True))),
                      "date": draw(past).isoformat()}
    section = {
        "role": role, "sex": draw(st.sampled_from(["M", "F"])),
        "function": draw(spaced(plain_text)), "phone": draw(phones()),
        "extension": draw(optional_extension), "fax": draw(optional_phone),
        "organization_name": draw(spaced(plain_text)), "address": draw(spaced(free_text)),
        "postal_code": draw(postal_codes()), "commitments_accepted": True,
        "signature": draw(signatures()), "board_resolution": resolution,
    }
    _maybe_drop(draw, section, ["extension", "fax", "board_resolution"])
    return section


@st.composite
def valid_requests(draw, with_authorization: bool | None = None):
    organization_type = draw(st.sampled_from(ORGANIZATION_TYPES))
    if organization_type == "optilab":
        scope = "optilab_cluster"
    else:
        scope = draw(st.sampled_from(["some_installations", "all_installations"]))
    numbers: list[str] = []
    if scope == "some_installations":
        numbers = draw(st.lists(digits(5), min_size=1, max_size=4, unique=True))
    applications = draw(st.lists(st.sampled_from(APPLICATIONS), min_size=1, max_size=3))
    user_email = draw(emails())
    authorizer_email = draw(emails())
    assume(mailbox_key(user_email.lower()) != mailbox_key(authorizer_email.lower()))
    data = {
        "applications": applications,
        "existing_username": draw(st.none() | st.just("") | st.from_regex(r"[a-z][a-z0-9_.]{2,20}",
                                                                          fullmatch=True)),
        "organization_type": organization_type,
        "register_scope": scope,
        "additional_establishment_numbers": numbers,
        "user": {
            "first_name": draw(spaced(name_text)), "last_name": draw(spaced(name_text)),
            "sex": draw(st.sampled_from(["M", "F"])), "function": draw(spaced(plain_text)),
            "email": user_email, "phone": draw(phones()), "extension": draw(optional_extension),
            "fax": draw(optional_phone), "establishment_name": draw(spaced(plain_text)),
            "establishment_number": draw(digits(5)), "address": draw(spaced(free_text)),
            "postal_code": draw(postal_codes()), "commitments_accepted": True,
            "signature": draw(signatures()),
        },
        "authorizer": {"first_name": draw(spaced(name_text)),
                       "last_name": draw(spaced(name_text)), "email": authorizer_email},
        "authorization": None,
    }
    if with_authorization is None:
        with_authorization = draw(st.booleans())
    if with_authorization:
        data["authorization"] = draw(sections3(organization_type, applications))
    _maybe_drop(draw, data, ["existing_username", "additional_establishment_numbers",
                             "authorization"])
    _maybe_drop(draw, data["user"], ["extension", "fax"])
    return data


# --- mutations that always break a rule -----------------------------------------------------------

REQUIRED_PATHS = [
    ("applications",), ("organization_type",), ("register_scope",), ("user",), ("authorizer",),
    *[("user", k) for k in ("first_name", "last_name", "sex", "function", "email", "phone",
                            "establishment_name", "establishment_number", "address",
                            "postal_code", "commitments_accepted", "signature")],
    ("authorizer", "first_name"), ("authorizer", "last_name"), ("authorizer", "email"),
]

BAD_VALUES = {
    ("user", "email"): ["marie", "info@cisss.qc.ca", "a@b", 3, "Réception+x@a.ca"],
    ("authorizer", "email"): ["jean@", "no-reply@a.ca", None],
    ("user", "postal_code"): ["D1A 1A1", "W1A 1A1", "G1S 4L", "123456", "G1S-4L8"],
    ("user", "phone"): ["555-0123", "118 555-0123", "418 055-0123", "+33 1 23 45 67 89"],
    ("user", "fax"): ["555", "abc"],
    ("user", "extension"): ["12a", "12345678901", " x "],
    ("user", "establishment_number"): ["1234", "123456", "abcde", 12345],
    ("user", "sex"): ["X", "m", "", None],
    ("user", "first_name"): ["", "   ", "A" * 101, None, 7, "Ma\u200brie", "Marie www.x.ca",
                             "M\u0430rie"],
    ("authorizer", "last_name"): ["Gag\u202enon", "evil.example.com", "x@y.z"],
    ("user", "establishment_name"): ["bit.ly/x", "CISSS\u2060"],
    ("user", "address"): ["É" * 201, ""],
    ("user", "commitments_accepted"): [False, None, "true", 1],
    ("user", "signature"): [None, {}, {"method": "drawn"}, {"method": "ink"},
                            {"method": "image", "image_png_base64": "aGVsbG8="}],
    ("organization_type",): ["hospital", "", None, 1],
    ("register_scope",): ["everything", None],
    ("applications",): [[], ["nope"], "online_payment_authorization", None],
    ("additional_establishment_numbers",): ["12345", [12345], ["1"]],
    ("user",): [[], "x", None],
}


def _set(data: dict, path: tuple, value) -> None:
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


@st.composite
def invalid_requests(draw):
    data = copy.deepcopy(draw(valid_requests()))
    kind = draw(st.sampled_from(["delete", "bad_value", "unknown_key", "same_email",
                                 "scope", "section5", "role", "board"]))
    if kind == "delete":
        path = draw(st.sampled_from(REQUIRED_PATHS))
        target = data
        for key in path[:-1]:
            target = target[key]
        target.pop(path[-1], None)
    elif kind == "bad_value":
        path = draw(st.sampled_from(sorted(BAD_VALUES)))
        _set(data, path, draw(st.sampled_from(BAD_VALUES[path])))
    elif kind == "unknown_key":
        where = draw(st.sampled_from(["top", "user", "authorizer"]))
        target = data if where == "top" else data[where]
        key = draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in target))
        target[key] = draw(st.none() | st.integers() | st.text(max_size=5))
    elif kind == "same_email":
        data["authorizer"]["email"] = data["user"]["email"].upper()
    elif kind == "scope":
        if data["organization_type"] == "optilab":
            data["register_scope"] = "all_installations"
        else:
            data["register_scope"] = "optilab_cluster"
            data["additional_establishment_numbers"] = []
    elif kind == "section5":
        if data["register_scope"] == "some_installations":
            numbers = data["additional_establishment_numbers"]
            data["additional_establishment_numbers"] = draw(st.sampled_from([[], numbers + numbers[:1]]))
        else:
            data["additional_establishment_numbers"] = ["12345"]
    elif kind == "role":
        allowed = allowed_roles(data["organization_type"])
        other = [r for r in ("dsp", "optilab_representative", "gmf_coresponsible_physician")
                 if r not in allowed]
        section = draw(sections3(data["organization_type"], data["applications"]))
        section["role"] = draw(st.sampled_from(other))
        data["authorization"] = section
    else:  # board resolution missing while required
        data["organization_type"] = "establishment"
        if data["register_scope"] == "optilab_cluster":
            data["register_scope"] = "all_installations"
        data["applications"] = ["online_payment_authorization"]
        section = draw(sections3("establishment", data["applications"]))
        section["board_resolution"] = draw(st.sampled_from([
            None, {"number": "", "date": "2020-01-01"},
            {"number": "CA-1", "date": (date.today() + timedelta(days=5)).isoformat()}]))
        data["authorization"] = section
    return data


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
# Arbitrary JSON, and arbitrary values under the request's own keys (more likely to go deep).
request_like = st.fixed_dictionaries({}, optional={
    "applications": json_values, "organization_type": json_values, "register_scope": json_values,
    "additional_establishment_numbers": json_values, "existing_username": json_values,
    "user": st.fixed_dictionaries({}, optional={k: json_values for k in (
        "first_name", "last_name", "sex", "email", "phone", "postal_code", "signature")}),
    "authorizer": json_values, "authorization": json_values,
})


# --- pure properties ------------------------------------------------------------------------------


@FAST
@given(valid_requests())
def test_valid_requests_validate_to_the_persons_data_in_canonical_spelling(data):
    """An oracle written here, not the rules' own code: each value the person typed comes back
    with the same letters and digits, in the form's spelling."""
    result = validate_request(data)
    assert result.ok, result.errors
    normalized, user = result.normalized, result.normalized["user"]
    raw = data["user"]
    for key in ("first_name", "last_name", "function", "establishment_name", "address"):
        assert user[key] == unicodedata.normalize("NFC", " ".join(raw[key].split()).upper())
    assert user["email"] == raw["email"].strip().lower()
    assert normalized["authorizer"]["email"] == data["authorizer"]["email"].strip().lower()
    digits = "".join(c for c in raw["phone"] if c.isdigit())
    digits = digits[1:] if len(digits) == 11 else digits
    assert user["phone"] == f"{digits[:3]} {digits[3:6]}-{digits[6:]}"
    compact = "".join(raw["postal_code"].split()).upper()
    assert user["postal_code"] == f"{compact[:3]} {compact[3:]}"
    assert user["establishment_number"] == raw["establishment_number"]
    assert normalized["organization_type"] == data["organization_type"]
    assert normalized["applications"] == [a for a in APPLICATIONS if a in data["applications"]]


@FAST
@given(valid_requests())
def test_normalization_is_idempotent(data):
    once = normalize_request(data)
    assert normalize_request(once) == once
    again = validate_request(once)
    assert again.ok and again.normalized == once


@FAST
@given(valid_requests())
def test_normal_form_shape(data):
    normalized = normalize_request(data)
    user = normalized["user"]
    for key in ("first_name", "last_name", "function", "establishment_name", "address"):
        assert user[key] == user[key].strip() and "  " not in user[key]
        assert user[key] == upper_text(user[key])
    assert user["email"] == user["email"].lower()
    assert user["commitments_accepted"] is True
    assert normalized["applications"] == [a for a in APPLICATIONS if a in data["applications"]]


@FAST
@given(invalid_requests())
def test_broken_requests_always_give_an_error(data):
    result = validate_request(data)
    assert result.errors
    assert result.normalized is None


@FAST
@given(json_values | request_like)
def test_arbitrary_json_never_raises(data):
    result = validate_request(data)
    assert not result.ok
    assert result.normalized is None
    once = normalize_request(data)  # never raises either, and keeps what it cannot fix
    assert normalize_request(once) == once


# --- on the real database ---------------------------------------------------------------------------


def _counts(session) -> tuple[int, int, int]:
    return tuple(session.exec(select(func.count()).select_from(table)).one()
                 for table in (AccessRequest, Authorization, AuditEvent))


@DB
@given(data=valid_requests())
def test_export_of_submit_is_the_normal_form(engine, data):
    with session_scope() as session:
        reference = store_request(session, normalized=data, actor="test").reference
    with session_scope() as session:
        exported = export_request(session, reference=reference)
    assert exported == normalize_request(data)


@DB
@given(data=invalid_requests() | json_values | request_like)
def test_invalid_requests_store_nothing(engine, data):
    with session_scope() as session:
        before = _counts(session)
    assert not validate_request(data).ok
    with pytest.raises(InvalidRequest):
        with session_scope() as session:
            store_request(session, normalized=data, actor="test")
    with session_scope() as session:
        assert _counts(session) == before
