"""Attacks through the public form's input ("Nothing lost, nobody let in").

One test per attack: each sends a request that is otherwise valid, with one hostile value, and
checks the refusal code and that no normalized request (nothing to store) comes back.
"""

from __future__ import annotations

import base64
import io
import threading
import warnings

import pytest

from models.rules import validate_request
from tests.models.helpers import errors_of, load_sample

CYRILLIC_A = "\u0430"  # а, looks like Latin a


def refused(data: dict) -> set[tuple[str, str]]:
    result = validate_request(data)
    assert not result.ok
    assert result.normalized is None
    return errors_of(result)


# --- emails -------------------------------------------------------------------------------------


def test_lookalike_cyrillic_domain_is_refused():
    """Authorizer at 'cisss.exаmple.qc.ca' (Cyrillic а): the signed link would go to a domain
    the requester controls while reading as the real one."""
    data = load_sample()
    data["authorizer"]["email"] = f"jean.gagnon@cisss.ex{CYRILLIC_A}mple.qc.ca"
    assert refused(data) == {("authorizer.email", "confusable_email")}


def test_lookalike_domain_in_punycode_is_refused():
    """The same domain spelled as its A-label ('xn--...') is the same look-alike."""
    data = load_sample()
    data["authorizer"]["email"] = "jean.gagnon@cisss.xn--exmple-4nf.qc.ca"
    assert refused(data) == {("authorizer.email", "confusable_email")}


def test_lookalike_letter_in_local_part_is_refused():
    data = load_sample()
    data["authorizer"]["email"] = f"je{CYRILLIC_A}n.gagnon@cisss.example.qc.ca"
    assert refused(data) == {("authorizer.email", "confusable_email")}


def test_fullwidth_letter_does_not_pass_emails_must_differ():
    """'ｍarie' (fullwidth m) is the same mailbox as 'marie' once NFKC-normalized: the user
    cannot be their own authorizer by disguising their address."""
    data = load_sample()
    data["authorizer"]["email"] = "\uff4darie.tremblay@cisss.example.qc.ca"  # ｍarie
    assert data["user"]["email"] == "marie.tremblay@cisss.example.qc.ca"
    assert refused(data) == {("authorizer.email", "emails_must_differ")}


# --- invisible characters in names ---------------------------------------------------------------


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_bidi_or_zero_width_in_a_name_is_refused(char):
    """A bidi override or a zero-width character makes a name print differently from what it
    is, and lets it slip past a comparison with the real name."""
    data = load_sample()
    data["authorizer"]["last_name"] = f"Gag{char}non"
    assert refused(data) == {("authorizer.last_name", "invisible_character")}


# --- links ---------------------------------------------------------------------------------------


def test_url_in_a_name_is_refused():
    """The names are printed in the email sent to the authorizer: the form is not a mailer."""
    data = load_sample()
    data["user"]["first_name"] = "Marie https://evil.example.com/login"
    assert refused(data) == {("user.first_name", "link_not_allowed")}


def test_domain_in_the_establishment_name_is_refused():
    data = load_sample()
    data["user"]["establishment_name"] = "Voir bit.ly/cisss-paie"
    assert refused(data) == {("user.establishment_name", "link_not_allowed")}


# --- the warnings race ---------------------------------------------------------------------------


def _signature_png() -> str:
    from PIL import Image, ImageDraw

    img = Image.new("L", (1200, 400), 255)
    draw = ImageDraw.Draw(img)
    for x in range(0, 1200, 7):
        draw.line([(x, 0), (1199 - x, 399)], fill=x % 256)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_concurrent_validations_leave_the_warnings_filters_alone():
    """Streamlit sessions are threads: validating signatures side by side must not leave a
    process-wide 'error' filter behind (which would turn every later warning into a crash)."""
    data = load_sample()
    data["user"]["signature"] = {"method": "drawn", "image_png_base64": _signature_png()}
    before = list(warnings.filters)
    threads_count, rounds = 12, 6
    barrier = threading.Barrier(threads_count)
    failures: list[object] = []

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                result = validate_request(data)
                if not result.ok:
                    failures.append(result.errors)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    after = list(warnings.filters)
    if after != before:  # leave the process as it was for the other tests
        warnings.filters[:] = before
        warnings._filters_mutated()  # type: ignore[attr-defined]
    assert failures == []
    assert after == before
    with warnings.catch_warnings(record=True):
        warnings.warn("still only a warning", UserWarning, stacklevel=1)  # must not raise
