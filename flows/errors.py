"""Refusals of the human-step API: a stable code and a message in French (English available)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "link_invalid": {
        "fr": "Ce lien n'est pas valide. Utilisez le lien reçu par courriel, sans le modifier.",
        "en": "This link is not valid. Use the link you received by email, unchanged.",
    },
    "link_expired": {
        "fr": "Ce lien est expiré. Communiquez avec la RAMQ pour obtenir un nouveau lien.",
        "en": "This link has expired. Contact the RAMQ to get a new link.",
    },
    "link_used": {
        "fr": "Ce lien a déjà été utilisé : la décision est enregistrée.",
        "en": "This link has already been used: the decision is recorded.",
    },
    "link_void": {
        "fr": "Ce lien ne correspond plus à la demande : elle a été modifiée depuis son envoi. "
              "Utilisez le lien du courriel le plus récent.",
        "en": "This link no longer matches the request: it changed after the link was sent. "
              "Use the link in the most recent email.",
    },
    "wrong_purpose": {
        "fr": "Ce lien ne sert pas à cette page.",
        "en": "This link is not meant for this page.",
    },
    "request_not_found": {
        "fr": "Demande introuvable.",
        "en": "Request not found.",
    },
    "task_closed": {
        "fr": "Cette étape est terminée : une décision a déjà été prise.",
        "en": "This step is over: a decision has already been made.",
    },
    "task_not_found": {
        "fr": "Tâche introuvable.",
        "en": "Task not found.",
    },
    "already_claimed": {
        "fr": "Cette tâche vient d'être prise par un autre répondant.",
        "en": "Another respondent has just claimed this task.",
    },
    "not_claimed_by_you": {
        "fr": "Prenez d'abord la tâche en charge.",
        "en": "Claim the task first.",
    },
    "conflict_of_interest": {
        "fr": "Vous ne pouvez pas traiter une demande dont vous êtes l'utilisateur ou la personne "
              "qui autorise.",
        "en": "You cannot process a request in which you are the user or the authorizer.",
    },
    "not_allowed": {
        "fr": "Vous n'avez pas l'autorisation d'effectuer cette action.",
        "en": "You are not allowed to do this.",
    },
    "reason_required": {
        "fr": "Indiquez le motif.",
        "en": "Give the reason.",
    },
    "comments_required": {
        "fr": "Indiquez les corrections demandées.",
        "en": "Describe the corrections needed.",
    },
    "invalid_outcome": {
        "fr": "Décision inconnue.",
        "en": "Unknown decision.",
    },
    "username_taken": {
        "fr": "Ce nom d'utilisateur est déjà attribué ou réservé. Nom libre proposé : {suggestion}",
        "en": "This username is already taken or reserved. Free username suggested: {suggestion}",
    },
    "invalid_username": {
        "fr": "Nom d'utilisateur invalide : de 3 à 40 caractères, lettres minuscules, chiffres, "
              "point, tiret ou trait de soulignement, commençant par une lettre.",
        "en": "Invalid username: 3 to 40 characters, lowercase letters, digits, dot, dash or "
              "underscore, starting with a letter.",
    },
    "invalid_validity": {
        "fr": "La période de validité n'est pas valide (la fin doit suivre le début).",
        "en": "The validity period is not valid (the end must follow the start).",
    },
    "too_many_requests": {
        "fr": "Trop de demandes ont été présentées en peu de temps (depuis ce poste ou pour ces "
              "adresses courriel). Votre demande n'a pas été enregistrée : réessayez plus tard ou "
              "communiquez avec la RAMQ.",
        "en": "Too many requests were submitted in a short time (from this computer or for these "
              "email addresses). Your request was not recorded: try again later or contact the "
              "RAMQ.",
    },
    "invalid_form": {
        "fr": "Le formulaire contient des erreurs.",
        "en": "The form contains errors.",
    },
    "staff_email_missing": {
        "fr": "Votre compte n'a pas d'adresse électronique professionnelle : sans elle, les "
              "conflits d'intérêts ne peuvent pas être vérifiés. Demandez à l'administrateur de "
              "l'ajouter avant de traiter une demande.",
        "en": "Your account has no professional email address: without it, conflicts of "
              "interest cannot be checked. Ask the administrator to add it before processing "
              "a request.",
    },
}


class ActionError(Exception):
    """A person's action that cannot be applied; nothing was changed."""

    def __init__(self, code: str, errors: list | None = None, **params: str):
        super().__init__(code)
        self.code = code
        self.errors = errors or []
        self.params = params

    def message(self, lang: str = "fr") -> str:
        entry = MESSAGES.get(self.code, {})
        text = entry.get(lang) or entry.get("fr") or self.code
        try:
            return text.format(**self.params) if self.params else text.replace("{suggestion}", "—")
        except (KeyError, IndexError):
            return text
