"""``ramq-access``: the command line of the product (administrators, imports, scripts).

It fronts the same functions as the screens; no rule is written here. Exit codes: 0 success,
1 invalid request or unknown reference, 2 unreadable input (file missing, not UTF-8, not JSON),
3 unexpected failure (database down...). No command prints a traceback or personal data
beyond what was asked for.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import NoReturn

import typer

from models.i18n import translate

app = typer.Typer(
    name="ramq-access",
    help="Demandes d'accès aux services en ligne de la RAMQ.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Base de données de l'application.", no_args_is_help=True)
app.add_typer(db_app, name="db")

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE, EXIT_FAILURE = 0, 1, 2, 3


class Lang(StrEnum):
    fr = "fr"
    en = "en"


LANG_OPTION = typer.Option(Lang.fr, "--lang", help="Langue des messages (fr ou en).")


def _safe(text: str) -> str:
    """Text that any terminal encoding can print (file names may hold anything)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _fail(code: int, text: str) -> NoReturn:
    typer.echo(text, err=True)
    raise typer.Exit(code)


@app.callback()
def _main() -> None:
    """Demandes d'accès aux services en ligne de la RAMQ."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        except Exception:
            pass


class _Unreadable(Exception):
    pass


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _parse_int(text: str) -> int | float:
    # Python refuses to convert integers of more than 4300 digits: keep them as (inf) floats.
    return int(text) if len(text) <= 4000 else float(text)


def read_json_file(file: str, lang: Lang | str = "fr") -> object:
    """The JSON document of a file, or _Unreadable with a French (or English) reason."""
    path = Path(file)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _Unreadable(translate("cli.missing", lang)) from None
    except IsADirectoryError:
        raise _Unreadable(translate("cli.directory", lang)) from None
    except PermissionError:
        raise _Unreadable(translate("cli.denied", lang)) from None
    except (OSError, ValueError):
        raise _Unreadable(translate("cli.os_error", lang)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _Unreadable(translate("cli.not_utf8", lang)) from None
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise _Unreadable(translate("cli.not_json", lang, line=exc.lineno, column=exc.colno)) from None
    except (ValueError, RecursionError, MemoryError):
        raise _Unreadable(translate("cli.not_json_plain", lang)) from None


def _load_or_exit(file: str, lang: Lang) -> object:
    try:
        return read_json_file(file, lang)
    except _Unreadable as exc:
        _fail(EXIT_UNREADABLE, translate("cli.unreadable", lang, file=_safe(file), reason=str(exc)))


def _validate_or_exit(data: object, lang: Lang) -> dict:
    """The normalized request; otherwise every error printed, one per line, and exit 1."""
    from models.rules import validate_request

    result = validate_request(data, lang.value)
    if result.ok:
        return result.data
    for error in result.errors:
        typer.echo(f"{error.path}: {error.code}: {error.message}")
    raise typer.Exit(EXIT_INVALID)


def _upgrade_db() -> None:
    from models.db import upgrade

    upgrade()


@app.command()
def validate(
    file: str = typer.Argument(..., metavar="FILE", help="Demande au format JSON (UTF-8)."),
    lang: Lang = LANG_OPTION,
) -> None:
    """Vérifier une demande : code 0 si valide, 1 si invalide, 2 si le fichier est illisible."""
    data = _load_or_exit(file, lang)
    _validate_or_exit(data, lang)
    typer.echo(translate("cli.valid", lang))


@app.command()
def submit(
    file: str = typer.Argument(..., metavar="FILE", help="Demande au format JSON (UTF-8)."),
    lang: Lang = LANG_OPTION,
    actor: str = typer.Option("cli", help="Auteur inscrit au journal d'audit."),
    start: bool = typer.Option(True, "--start/--no-start", help="Démarrer le traitement (flux Prefect)."),
) -> None:
    """Vérifier puis enregistrer une demande, démarrer son traitement ; affiche sa référence."""
    data = _load_or_exit(file, lang)
    normalized = _validate_or_exit(data, lang)
    try:
        from flows.api import submit_request

        _upgrade_db()
        submitted = submit_request(normalized, actor=actor, lang=lang.value, start=start)
    except Exception as exc:  # database down, disk full...: no traceback, no personal data
        _fail(EXIT_FAILURE, translate("cli.failure", lang, kind=type(exc).__name__))
    typer.echo(translate("cli.submitted", lang, reference=submitted.reference))
    if start:
        started = "cli.flow_started" if submitted.flow_run_id else "cli.flow_deferred"
        typer.echo(translate(started, lang))


@app.command()
def export(
    reference: str = typer.Argument(..., metavar="REF", help="Numéro de référence, p. ex. SEL-2026-000123."),
    with_images: bool = typer.Option(False, "--with-images", help="Inclure les images des signatures."),
    lang: Lang = LANG_OPTION,
) -> None:
    """Afficher le dossier complet d'une demande en JSON : révisions, signatures (empreintes),
    section 4, décisions, dates et état."""
    from models.record import record_by_reference

    data = _read_record(reference, lang, lambda s: record_by_reference(s, reference, with_images=with_images))
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _quebec_time(when) -> str:
    from zoneinfo import ZoneInfo

    from models.settings import get_settings

    return when.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M:%S")


def _read_record(reference: str, lang: Lang, read):
    """What ``read(session)`` returns for a reference, or the CLI's refusal and exit code."""
    from models.seal import SealError

    try:
        from models.db import session_scope

        _upgrade_db()
        with session_scope() as session:
            data = read(session)
    except SealError as exc:  # no signing certificate in production: say so, in its own words
        _fail(EXIT_FAILURE, str(exc))
    except Exception as exc:
        _fail(EXIT_FAILURE, translate("cli.failure", lang, kind=type(exc).__name__))
    if data is None:
        _fail(EXIT_INVALID, translate("cli.unknown_reference", lang, reference=_safe(reference)))
    return data


@app.command()
def verify(
    reference: str = typer.Argument(..., metavar="REF", help="Numéro de référence, p. ex. SEL-2026-000123."),
    lang: Lang = LANG_OPTION,
) -> None:
    """Recalculer l'empreinte de chaque signature : intacte ou altérée (code de sortie 1 si une
    signature ou une révision a été altérée)."""
    from models.request_store import get_request_by_reference
    from models.signatures import verify_request

    def read(session):
        request = get_request_by_reference(session, reference)
        return None if request is None else verify_request(session, request)

    result = _read_record(reference, lang, read)
    typer.echo(translate("cli.verify_header", lang, reference=result.reference, revision=result.revision))
    if not result.checks:
        typer.echo(translate("cli.verify_none", lang))
    for check in result.checks:
        typer.echo(translate("cli.verify_line", lang, section=check.section,
                             role=translate(f"labels.signer_role.{check.role}", lang), signer=_safe(check.signer),
                             signed_at=_quebec_time(check.signed_at), revision=check.revision,
                             verdict=translate(f"labels.signature_verdict.{check.verdict}", lang),
                             sha256=check.sha256))
    if not result.revisions_intact:
        typer.echo(translate("cli.verify_revisions_altered", lang))
    if result.purged_at is not None and result.intact:
        typer.echo(translate("cli.verify_purged", lang, date=_quebec_time(result.purged_at)[:10]))
        raise typer.Exit(EXIT_OK)
    typer.echo(translate("cli.verify_intact" if result.intact else "cli.verify_altered", lang))
    raise typer.Exit(EXIT_OK if result.intact else EXIT_INVALID)


@app.command()
def pdf(
    reference: str = typer.Argument(..., metavar="REF", help="Numéro de référence, p. ex. SEL-2026-000123."),
    output: str = typer.Option("", "-o", "--output",
                               help="Fichier à écrire (par défaut REF.pdf ; - : sortie standard)."),
    lang: Lang = LANG_OPTION,
) -> None:
    """Produire le formulaire en PDF, comme le formulaire papier, scellé par le certificat de la
    RAMQ (signature PAdES : tout lecteur PDF montre s'il a été modifié)."""
    from models.record import sealed_pdf
    from models.request_store import get_request_by_reference

    def read(session):
        request = get_request_by_reference(session, reference)
        if request is not None and request.purged_at is not None:
            return request.reference, None, request.purged_at
        return None if request is None else (request.reference, sealed_pdf(session, request, lang=lang.value), None)

    name, document, purged_at = _read_record(reference, lang, read)
    if purged_at is not None:
        _fail(EXIT_INVALID, translate("cli.pdf_purged", lang, reference=name, date=_quebec_time(purged_at)[:10]))
    if output == "-":
        sys.stdout.buffer.write(document)
        sys.stdout.buffer.flush()
        return
    target = Path(output or f"{name}.pdf")
    try:
        target.write_bytes(document)
    except OSError:
        _fail(EXIT_UNREADABLE, translate("cli.pdf_unwritable", lang, file=_safe(str(target))))
    typer.echo(translate("cli.pdf_written", lang, file=_safe(str(target)), reference=name))


@app.command()
def audit(
    reference: str = typer.Argument(..., metavar="REF", help="Numéro de référence, p. ex. SEL-2026-000123."),
    lang: Lang = LANG_OPTION,
) -> None:
    """Afficher la chronologie d'une demande et vérifier la chaîne d'empreintes de son journal
    (code de sortie 1 si un événement a été modifié, retiré ou inséré)."""
    from models.audit_report import format_audit
    from models.request_store import get_request_by_reference

    def read(session):
        if get_request_by_reference(session, reference) is None:
            return None
        return format_audit(session, reference, lang.value)

    text, intact = _read_record(reference, lang, read)
    typer.echo(text)
    raise typer.Exit(EXIT_OK if intact else EXIT_INVALID)


@app.command()
def purge(
    older_than: int | None = typer.Option(None, "--older-than", metavar="DAYS", min=1, help=(
        "Purger les demandes fermées depuis plus de DAYS jours (par défaut RAMQ_RETENTION_DAYS).")),
    dry_run: bool = typer.Option(False, "--dry-run", help="Montrer ce qui serait purgé, sans rien modifier."),
    lang: Lang = LANG_OPTION,
) -> None:
    """Retirer les données personnelles des demandes fermées depuis plus longtemps que la durée
    de conservation ; les statistiques, les références et l'historique restent."""
    from models.retention import purge as run_purge

    try:
        _upgrade_db()
        result = run_purge(older_than_days=older_than, dry_run=dry_run, actor="ramq-access purge")
    except Exception as exc:
        _fail(EXIT_FAILURE, translate("cli.failure", lang, kind=type(exc).__name__))
    if dry_run:
        typer.echo(translate("cli.purge_header", lang, days=result.older_than_days,
                             cutoff=_quebec_time(result.cutoff)[:10], count=len(result.references)))
        for reference in result.references:
            typer.echo(translate("cli.purge_line", lang, reference=reference))
        typer.echo(translate("cli.purge_dry_run", lang))
        return
    typer.echo(translate("cli.purge_done", lang, count=len(result.references)))
    for reference in result.references:
        typer.echo(translate("cli.purge_line", lang, reference=reference))


@app.command()
def schema() -> None:
    """Afficher le schéma JSON de la demande canonique."""
    from models.canonical import json_schema

    typer.echo(json.dumps(json_schema(), ensure_ascii=False, indent=2))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Mettre le schéma de la base de données à jour (migrations Alembic)."""
    try:
        _upgrade_db()
    except Exception as exc:
        _fail(EXIT_FAILURE, translate("cli.failure", "fr", kind=type(exc).__name__))
    typer.echo(translate("cli.db_ready", "fr"))


staff_app = typer.Typer(help="Comptes du personnel de la RAMQ.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")


class StaffRole(StrEnum):
    respondent = "respondent"
    soes = "soes"
    manager = "manager"
    operator = "operator"


@staff_app.command("add")
def staff_add(
    username: str = typer.Argument(..., help="Nom d'utilisateur (minuscules)."),
    role: StaffRole = typer.Option(..., "--role", help=(
        "respondent (répondant), soes (contre-signature de la section 4), manager (gestionnaire) "
        "ou operator (exploitation : gestionnaire avec l'interface Prefect).")),
    name: str = typer.Option("", "--name", help="Nom affiché."),
    email: str = typer.Option("", "--email", help="Adresse électronique professionnelle de la "
                              "personne (obligatoire; pas une boîte partagée)."),
    password: str = typer.Option(..., prompt="Mot de passe", hide_input=True, confirmation_prompt=True,
                                 envvar="RAMQ_STAFF_PASSWORD", help="Demandé si absent."),
) -> None:
    """Créer un compte du personnel (répondant, SOES, gestionnaire ou exploitation), avec son adresse
    électronique."""
    from models.accounts import AccountError, create_staff, staff_email
    from models.db import session_scope

    try:
        staff_email(email)  # refused before touching the database
        _upgrade_db()
        with session_scope() as session:
            create_staff(session, username=username, role=role.value, password=password,
                         display_name=name, email=email)
    except AccountError as exc:  # a French sentence (errors.account.*)
        _fail(EXIT_INVALID, translate("cli.staff_refused", "fr", reason=str(exc)))
    typer.echo(translate("cli.staff_added", "fr", username=username.strip().lower(),
                         role=role.value))


@app.command()
def run() -> None:
    """Démarrer toute la pile locale : Prefect, exécuteur, SMTP local (Maildir), application."""
    from flows.stack import Stack, run_forever
    from models.settings import get_settings

    settings = get_settings()
    _upgrade_db()
    run_forever(Stack(var_dir=settings.var_dir, prefect_port=settings.prefect_port,
                      smtp_port=settings.smtp_port, ui_port=settings.ui_port))


@app.command("prefect-setup")
def prefect_setup() -> None:
    """Préparer le serveur Prefect (mise à l'échelle) : automatisation qui marque Crashed une
    exécution sans battement de cœur, pour que le balayeur la relance."""
    from flows.recovery import ensure_zombie_automation

    try:
        automation_id = ensure_zombie_automation()
    except Exception as exc:
        _fail(EXIT_FAILURE, translate("cli.failure", "fr", kind=type(exc).__name__))
    typer.echo(translate("cli.automation_ready", "fr", automation_id=automation_id))


@app.command()
def sweep() -> None:
    """Passer le balayeur une fois : rappels, échéances, reprises en attente."""
    from flows.sweeper import sweep as run_sweep

    _upgrade_db()
    report = run_sweep()
    typer.echo(json.dumps({k: len(v) for k, v in report.__dict__.items()}))


@app.command()
def simulate(
    requests: int = typer.Option(20, "--requests", "-n", min=1, help="Nombre de demandes."),
    seed: int = typer.Option(1, "--seed", help="Graine du hasard (répétable)."),
    timeout: float = typer.Option(300, "--timeout", help="Attente maximale par étape (s)."),
) -> None:
    """Jouer toutes les personnes contre la pile en marche (`make run`) et mesurer les délais."""
    from flows.simulate import Simulation

    _upgrade_db()
    summary = Simulation(requests=requests, seed=seed, timeout=timeout, progress=typer.echo).run()
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
    if summary["as_expected"] != summary["requests"]:
        raise typer.Exit(EXIT_INVALID)


if __name__ == "__main__":  # pragma: no cover
    app()
