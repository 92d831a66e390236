"""The RAMQ's seal on the printed record: a PAdES baseline signature (pyHanko) over the whole PDF.

Why a seal: the PDF leaves the product (printed, emailed, archived); whoever holds it can check
that it is the RAMQ's and that not one byte changed since, with any PAdES-aware reader.

The signing certificate and key come from a PKCS#12 file (``RAMQ_SEAL_PKCS12_PATH``,
``RAMQ_SEAL_PKCS12_PASSPHRASE``). In development and tests a self-signed certificate is made on
first use (:func:`ensure_dev_certificate`); in production a missing certificate is an error
(:class:`SealError`), never a silent development one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

from models.settings import Settings, get_settings

DEV_COMMON_NAME = "RAMQ — certificat de développement (local)"
SEAL_FIELD = "SceauRAMQ"
_DEV_VALIDITY_DAYS = 5 * 365
_T = TypeVar("_T")


class SealError(RuntimeError):
    """The seal cannot be applied: one line, French then English, naming the setting to fix."""


def ensure_dev_certificate(path: Path, passphrase: str = "") -> Path:
    """A self-signed development certificate at ``path`` (PKCS#12, mode 0600), made only when the
    file does not exist yet. Its name says it is a local development one: never the RAMQ's."""
    if path.exists():
        return path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CA"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Québec"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Régie de l'assurance maladie du Québec (développement)"),
        x509.NameAttribute(NameOID.COMMON_NAME, DEV_COMMON_NAME),
    ])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_DEV_VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    blob = pkcs12.serialize_key_and_certificates(b"ramq-dev-seal", key, cert, None, encryption)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside, then renamed: two processes starting at once never read half a file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(blob)
    os.replace(tmp, path)
    return path


def seal_certificate(settings: Settings | None = None) -> Path:
    """The PKCS#12 file of the seal. Development and tests: made when missing. Production: it
    must be configured and exist, else :class:`SealError`."""
    settings = settings or get_settings()
    path = settings.seal_pkcs12_file
    if settings.is_dev:
        return ensure_dev_certificate(path, settings.seal_pkcs12_passphrase.get_secret_value())
    if settings.seal_pkcs12_path is None or not path.is_file():
        raise SealError(
            "Scellement impossible : RAMQ_SEAL_PKCS12_PATH doit désigner le certificat de signature "
            "(PKCS#12) de la RAMQ. / Cannot seal: RAMQ_SEAL_PKCS12_PATH must name the RAMQ's "
            "signing certificate (PKCS#12).")
    return path


def _signer(settings: Settings | None = None) -> Any:
    from pyhanko.sign import signers

    settings = settings or get_settings()
    path = seal_certificate(settings)
    passphrase = settings.seal_pkcs12_passphrase.get_secret_value().encode() or None
    signer = signers.SimpleSigner.load_pkcs12(str(path), passphrase=passphrase)
    if signer is None:  # pyHanko logs the cause and returns None
        raise SealError(
            "Scellement impossible : le fichier RAMQ_SEAL_PKCS12_PATH est illisible ou "
            "RAMQ_SEAL_PKCS12_PASSPHRASE est erronée. / Cannot seal: the RAMQ_SEAL_PKCS12_PATH file "
            "is unreadable or RAMQ_SEAL_PKCS12_PASSPHRASE is wrong.")
    return signer


def _off_the_event_loop(fn: Callable[[], _T]) -> _T:
    """Runs ``fn`` where pyHanko can work: its synchronous calls start their own asyncio loop,
    which fails ("cannot be called from a running event loop") in a thread that already runs one
    (an async caller, a Playwright script). There, ``fn`` runs in a short-lived worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def seal_pdf(pdf: bytes) -> bytes:
    """``pdf`` with the RAMQ's PAdES baseline signature (B-B) appended as an incremental update
    covering the whole file."""
    return _off_the_event_loop(lambda: _seal(pdf))


def _seal(pdf: bytes) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
        reason="Sceau de la RAMQ — Demande d'accès aux services en ligne", location="Québec",
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    out = signers.sign_pdf(writer, meta, signer=_signer())
    return out.getvalue()


def verify_seal(pdf: bytes) -> dict[str, Any]:
    """Whether ``pdf`` carries an intact seal: ``intact`` (the signed bytes are unchanged, the
    signature is mathematically valid and covers the whole file), ``trusted`` (made with the
    configured certificate, taken as the trust root), ``signer`` (subject), ``signed_at`` (ISO
    8601, UTC) and ``problem`` (a short reason when not intact, else ``None``)."""
    return _off_the_event_loop(lambda: _verify(pdf))


def _verify(pdf: bytes) -> dict[str, Any]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    result: dict[str, Any] = {"intact": False, "trusted": False, "signer": None, "signed_at": None,
                              "problem": None}
    try:
        root = _signer().signing_cert
        signatures = PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures
        if not signatures:
            result["problem"] = "no_signature"
            return result
        embedded = signatures[-1]
        status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[root]))
    except SealError:
        raise
    except Exception as exc:  # a damaged file is "not intact", with the kind of damage
        result["problem"] = type(exc).__name__
        return result
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    result["intact"] = bool(status.intact and status.valid and whole)
    result["trusted"] = bool(result["intact"] and status.trusted)
    result["signer"] = status.signing_cert.subject.human_friendly
    when = status.signer_reported_dt or embedded.self_reported_timestamp
    result["signed_at"] = when.astimezone(dt.UTC).isoformat() if when else None
    if not result["intact"]:
        result["problem"] = ("content_changed" if not status.intact else
                             "bad_signature" if not status.valid else "not_whole_file")
    return result
