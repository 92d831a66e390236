"""Every wording of the screens, in French (default) and English.

The language lives in ``st.session_state["lang"]`` (the sidebar toggle). The wordings of the
form's rules and of its enumerated values come from :mod:`models.messages`, so the screens, the
CLI and the emails say the same thing; refusals of the human-step API come from
:class:`flows.errors.ActionError`.
"""

from __future__ import annotations

from typing import Any

from models import messages

LANGUAGES = ("fr", "en")
DEFAULT = "fr"
LANG_KEY = "lang"

STRINGS: dict[str, dict[str, str]] = {
    # --- Shell, navigation
    "app_title": {"fr": "Services en ligne de la RAMQ — Demande d'accès",
                  "en": "RAMQ online services — Access request"},
    "form_title": {"fr": "Demande d'accès aux services en ligne",
                   "en": "Request for access to online services"},
    "form_subtitle": {"fr": "À l'usage de la RAMQ — Établissements du réseau de la santé",
                      "en": "For RAMQ use — Health network establishments"},
    "language": {"fr": "Langue / Language", "en": "Langue / Language"},
    "nav_public": {"fr": "Demande d'accès", "en": "Access request"},
    "nav_staff": {"fr": "RAMQ", "en": "RAMQ"},
    "nav_dev": {"fr": "Développement", "en": "Development"},
    "page_submission": {"fr": "Nouvelle demande", "en": "New request"},
    "page_authorization": {"fr": "Autoriser une demande", "en": "Authorize a request"},
    "page_correction": {"fr": "Corriger une demande", "en": "Correct a request"},
    "page_my_access": {"fr": "Mon accès", "en": "My access"},
    "page_staff_login": {"fr": "Connexion RAMQ", "en": "RAMQ sign-in"},
    "page_queue": {"fr": "File de travail", "en": "Work queue"},
    "page_runs": {"fr": "Suivi des demandes", "en": "Request tracking"},
    "page_emails": {"fr": "Courriels", "en": "Emails"},
    "signed_in_as": {"fr": "Connecté : {name} ({role})", "en": "Signed in: {name} ({role})"},
    "role_respondent": {"fr": "répondant", "en": "respondent"},
    "role_manager": {"fr": "gestionnaire", "en": "manager"},
    "role_operator": {"fr": "exploitation", "en": "operator"},
    "logout": {"fr": "Se déconnecter", "en": "Sign out"},
    "unexpected_error": {
        "fr": "Une erreur inattendue est survenue. Rien n'a été enregistré. Réessayez dans un "
              "moment; si le problème persiste, communiquez avec la RAMQ.",
        "en": "An unexpected error occurred. Nothing was saved. Try again in a moment; if the "
              "problem persists, contact the RAMQ.",
    },
    "dev_mode": {"fr": "Mode développement", "en": "Development mode"},
    "dev_banner": {
        "fr": "Instance de développement : les liens sont signés avec une clé publiée (celle du "
              "dépôt) et les courriels vont dans une boîte aux lettres locale, pas chez leurs "
              "destinataires. N'y saisissez aucune donnée réelle.",
        "en": "Development instance: links are signed with a published key (the repository's) "
              "and emails go to a local mailbox, not to their recipients. Do not enter any real "
              "data.",
    },

    # --- Sections of the paper form
    "section1": {"fr": "1. Description des services en ligne demandés",
                 "en": "1. Online services requested"},
    "section2": {"fr": "2. Utilisateur", "en": "2. User"},
    "section3": {"fr": "3. Autorisation", "en": "3. Authorization"},
    "section4": {"fr": "4. Privilèges d'accès créés et éléments d'identification remis "
                       "(à l'usage de la RAMQ)",
                 "en": "4. Access privileges created and credentials issued (RAMQ use)"},
    "section5": {"fr": "5. Numéros d'établissement supplémentaires",
                 "en": "5. Additional establishment numbers"},
    "section_authorizer": {"fr": "Personne qui autorise la demande",
                           "en": "Person who authorizes the request"},
    "section_user_signature": {"fr": "Engagements et signature de l'utilisateur",
                               "en": "User's commitments and signature"},
    "directives": {
        "fr": "Remplissez toutes les sections. Les sections 2 et 3 sont enregistrées en lettres "
              "majuscules. Les champs marqués d'un astérisque (*) sont obligatoires.",
        "en": "Fill in every section. Sections 2 and 3 are stored in capital letters. Fields "
              "marked with an asterisk (*) are required.",
    },
    "section2_help": {
        "fr": "Cette section doit être remplie par la personne désignée pour utiliser le service "
              "en ligne demandé.",
        "en": "This section must be completed by the person designated to use the online "
              "service requested.",
    },
    "section3_help": {
        "fr": "Cette section doit être remplie par le directeur des services professionnels, le "
              "directeur général de l'établissement concerné, le représentant autorisé de la "
              "grappe de services (OPTILAB) ou le médecin responsable ou coresponsable du GMF.",
        "en": "This section must be completed by the director of professional services, the "
              "executive director of the establishment, the authorized representative of the "
              "service cluster (OPTILAB) or the GMF's responsible or co-responsible physician.",
    },

    # --- Section 1
    "applications": {"fr": "Applications *", "en": "Applications *"},
    "applications_help": {"fr": "Cochez la ou les applications auxquelles vous souhaitez accéder.",
                          "en": "Check the application(s) you wish to access."},
    "payment_note": {
        "fr": "Pour l'application Autorisation des demandes de paiement en ligne, l'utilisateur "
              "doit avoir été désigné comme signataire autorisé par une résolution du conseil "
              "d'administration de l'établissement. Cette règle ne s'applique pas au représentant "
              "autorisé d'une grappe de services (OPTILAB) ni au représentant autorisé d'un GMF.",
        "en": "For the Online payment request authorization application, the user must have been "
              "designated as authorized signatory by a resolution of the establishment's board of "
              "directors. This rule does not apply to the authorized representative of a service "
              "cluster (OPTILAB) nor to a GMF's authorized representative.",
    },
    "has_existing_access": {"fr": "Possédez-vous un accès pour d'autres services en ligne de la RAMQ?",
                            "en": "Do you already have access to other RAMQ online services?"},
    "yes": {"fr": "Oui", "en": "Yes"},
    "no": {"fr": "Non", "en": "No"},
    "existing_username": {"fr": "Si oui, donnez votre nom d'utilisateur",
                          "en": "If so, give your username"},
    "existing_username_summary": {"fr": "Accès à d'autres services en ligne (nom d'utilisateur)",
                                  "en": "Access to other online services (username)"},
    "choose": {"fr": "Choisir…", "en": "Choose…"},
    "organization_type": {"fr": "Type d'organisation *", "en": "Type of organization *"},
    "register_scope": {"fr": "L'objet de la demande s'applique aux registres : *",
                       "en": "The request applies to the registers: *"},
    "scope_hint_some_installations": {
        "fr": "Spécifiez le ou les numéros d'établissement à la section 5.",
        "en": "Give the establishment number(s) in section 5."},
    "scope_hint_all_installations": {"fr": "Ne joignez pas de liste.",
                                     "en": "Do not attach a list."},
    "scope_hint_optilab_cluster": {"fr": "Ne joignez pas de liste.", "en": "Do not attach a list."},

    # --- Section 2 and 3 fields
    "first_name": {"fr": "Prénom *", "en": "First name *"},
    "last_name": {"fr": "Nom *", "en": "Last name *"},
    "sex": {"fr": "Sexe *", "en": "Sex *"},
    "function": {"fr": "Fonction *", "en": "Function *"},
    "function_help": {
        "fr": "Le nom de la fonction que vous assumez (par exemple, secrétaire administratif, "
              "coordonnateur du projet, directeur), qui vous oblige à communiquer avec la RAMQ.",
        "en": "The function you hold (e.g. administrative secretary, project coordinator, "
              "director) that requires you to communicate with the RAMQ.",
    },
    "email": {"fr": "Adresse électronique *", "en": "Email address *"},
    "email_help": {
        "fr": "Une adresse personnelle ou professionnelle (p. ex. jacques.untel@xx.com), pas une "
              "boîte courriel partagée (p. ex. information@xx.com).",
        "en": "A personal or professional address (e.g. jacques.untel@xx.com), not a shared "
              "mailbox (e.g. information@xx.com).",
    },
    "phone": {"fr": "Téléphone *", "en": "Telephone *"},
    "phone_help": {"fr": "10 chiffres, p. ex. 418 555-0123.", "en": "10 digits, e.g. 418 555-0123."},
    "postal_code_help": {"fr": "P. ex. G1S 4L8.", "en": "E.g. G1S 4L8."},
    "extension": {"fr": "Poste", "en": "Extension"},
    "fax": {"fr": "Télécopieur", "en": "Fax"},
    "establishment_name": {
        "fr": "Nom de l'établissement, de l'installation, de la grappe de services (OPTILAB), du "
              "GMF ou du point de service *",
        "en": "Name of the establishment, installation, service cluster (OPTILAB), GMF or service "
              "point *",
    },
    "establishment_number": {"fr": "Numéro de l'établissement *", "en": "Establishment number *"},
    "establishment_number_help": {"fr": "5 chiffres, p. ex. 01234.", "en": "5 digits, e.g. 01234."},
    "address": {"fr": "Adresse de correspondance (lieu de travail) *",
                "en": "Mailing address (workplace) *"},
    "postal_code": {"fr": "Code postal *", "en": "Postal code *"},
    "organization_name": {
        "fr": "Nom de l'établissement, de l'installation, de la grappe de services (OPTILAB) ou "
              "du GMF *",
        "en": "Name of the establishment, installation, service cluster (OPTILAB) or GMF *",
    },
    "role": {"fr": "Vous êtes *", "en": "You are *"},
    "board_resolution": {"fr": "Résolution du conseil d'administration",
                         "en": "Board of directors resolution"},
    "board_resolution_help": {
        "fr": "Résolution désignant l'utilisateur comme signataire autorisé (exigée pour "
              "l'application Autorisation des demandes de paiement en ligne).",
        "en": "Resolution designating the user as authorized signatory (required for the Online "
              "payment request authorization application).",
    },
    "board_resolution_number": {"fr": "Numéro de la résolution *", "en": "Resolution number *"},
    "board_resolution_date": {"fr": "Date de la résolution *", "en": "Resolution date *"},

    # --- Section 5
    "section5_help": {
        "fr": "Si la demande s'applique à certaines installations de l'établissement, inscrivez "
              "le numéro (5 chiffres) de chacune. Laissez les cases vides sinon.",
        "en": "If the request applies to some installations of the establishment, enter the "
              "number (5 digits) of each. Otherwise leave the boxes empty.",
    },
    "number_n": {"fr": "Numéro {n}", "en": "Number {n}"},
    "more_numbers": {"fr": "Ajouter des cases", "en": "Add boxes"},

    # --- Authorizer named by the user
    "authorizer_help": {
        "fr": "Cette personne recevra un courriel pour remplir et signer la section 3. Son adresse "
              "doit être différente de la vôtre, même si vous êtes à la fois l'utilisateur et la "
              "personne qui autorise.",
        "en": "This person will receive an email to fill in and sign section 3. Their address must "
              "differ from yours, even if you are both the user and the person who authorizes.",
    },
    "authorizer_first_name": {"fr": "Prénom de la personne qui autorise *",
                              "en": "First name of the person who authorizes *"},
    "authorizer_last_name": {"fr": "Nom de la personne qui autorise *",
                             "en": "Last name of the person who authorizes *"},
    "authorizer_email": {"fr": "Adresse électronique de la personne qui autorise *",
                         "en": "Email address of the person who authorizes *"},

    # --- Commitments (the form's text)
    "user_commitments": {
        "fr": "Je m'engage :\n"
              "- à ne pas divulguer les éléments d'identification qui seront délivrés à mon nom "
              "afin de me permettre d'avoir accès aux services en ligne de la RAMQ dans le cadre "
              "de la présente demande;\n"
              "- à n'utiliser ces éléments d'identification que pour les fins pour lesquelles ils "
              "seront délivrés.",
        "en": "I undertake:\n"
              "- not to disclose the credentials that will be issued in my name to give me access "
              "to the RAMQ online services under this request;\n"
              "- to use these credentials only for the purposes for which they are issued.",
    },
    "commitments_note": {
        "fr": "Note : Advenant le non-respect d'un des engagements décrits ci-dessus, la RAMQ se "
              "réserve le droit de retirer en tout temps et sans préavis l'accès aux services en "
              "ligne accordé dans le cadre de la présente demande.",
        "en": "Note: Should any of the above commitments not be respected, the RAMQ reserves the "
              "right to withdraw at any time and without notice the access to online services "
              "granted under this request.",
    },
    "authorizer_commitments": {
        "fr": "J'autorise l'utilisateur ci-dessus à se servir des formulaires électroniques prévus "
              "pour les applications précisées à la section 1.\n\n"
              "Je m'engage :\n"
              "- à ne pas divulguer les éléments d'identification délivrés au nom de l'utilisateur "
              "mentionné ci-dessus dont je pourrais prendre connaissance;\n"
              "- à transmettre à cet utilisateur, en toute sécurité, les éléments d'identification "
              "qui seront délivrés à son nom dans le cadre de la présente demande.",
        "en": "I authorize the above user to use the electronic forms provided for the "
              "applications specified in section 1.\n\n"
              "I undertake:\n"
              "- not to disclose the credentials issued in the name of the above user that I may "
              "come to know;\n"
              "- to transmit securely to this user the credentials that will be issued in their "
              "name under this request.",
    },
    "accept_commitments": {"fr": "J'accepte ces engagements *", "en": "I accept these commitments *"},

    # --- Signature
    "signature": {"fr": "Signature *", "en": "Signature *"},
    "signature_method": {"fr": "Comment signez-vous? *", "en": "How do you sign? *"},
    "sign_drawn": {"fr": "Signer à l'écran (stylet, écran tactile ou souris)",
                   "en": "Sign on screen (stylus, touch screen or mouse)"},
    "sign_image": {"fr": "Joindre l'image de ma signature manuscrite (PNG ou JPEG)",
                   "en": "Attach an image of my handwritten signature (PNG or JPEG)"},
    "sign_keep": {"fr": "Conserver la signature déjà apposée", "en": "Keep the signature already given"},
    "signature_pad_label": {"fr": "Signez dans le cadre ci-dessous",
                            "en": "Sign in the box below"},
    "signature_pad_help": {
        "fr": "Utilisez la souris, le doigt ou un stylet. Les boutons du cadre permettent "
              "d'annuler ou d'effacer.",
        "en": "Use the mouse, your finger or a stylus. The box's buttons undo or clear.",
    },
    "signature_pad_unavailable": {
        "fr": "La signature à l'écran n'est pas disponible ici : joignez l'image de votre signature.",
        "en": "Signing on screen is not available here: attach an image of your signature.",
    },
    "signature_upload": {"fr": "Image de la signature (PNG ou JPEG, 1 Mo au maximum)",
                         "en": "Signature image (PNG or JPEG, 1 MB at most)"},
    "signature_preview": {"fr": "Aperçu de la signature", "en": "Signature preview"},
    "signature_captured": {"fr": "Signature captée.", "en": "Signature captured."},
    "signature_date_note": {"fr": "La date de la signature est celle de l'envoi du formulaire.",
                            "en": "The signature date is the date the form is sent."},
    "signed_on": {"fr": "Signé le {date}", "en": "Signed on {date}"},

    # --- Submission
    "submit": {"fr": "Soumettre la demande", "en": "Submit the request"},
    "form_has_errors": {"fr": "Le formulaire contient {n} erreur(s). Corrigez les champs indiqués.",
                        "en": "The form contains {n} error(s). Correct the fields shown."},
    "errors_summary": {"fr": "Erreurs à corriger", "en": "Errors to correct"},
    "submitted_title": {"fr": "Demande reçue", "en": "Request received"},
    "submitted_reference": {"fr": "Votre numéro de référence : **{reference}**",
                            "en": "Your reference number: **{reference}**"},
    "submitted_next": {
        "fr": "Et maintenant?\n\n"
              "1. Un courriel de confirmation vous est envoyé avec ce numéro de référence.\n"
              "2. La personne qui autorise la demande reçoit un courriel pour remplir et signer la "
              "section 3.\n"
              "3. La RAMQ analyse ensuite la demande; elle peut vous la renvoyer pour correction.\n"
              "4. Si la demande est acceptée, vous recevez votre mot de passe temporaire par "
              "courriel et la personne qui autorise reçoit votre nom d'utilisateur, qu'elle doit "
              "vous transmettre en toute sécurité. Vous pourrez alors vous connecter à la page "
              "« Mon accès ».",
        "en": "What happens next?\n\n"
              "1. A confirmation email with this reference number is sent to you.\n"
              "2. The person who authorizes the request receives an email to fill in and sign "
              "section 3.\n"
              "3. The RAMQ then reviews the request; it may send it back to you for correction.\n"
              "4. If the request is approved, you receive your temporary password by email and the "
              "person who authorizes receives your username, which they must transmit to you "
              "securely. You can then sign in on the \"My access\" page.",
    },
    "new_request": {"fr": "Remplir une nouvelle demande", "en": "Fill in a new request"},

    # --- Links (authorization, correction)
    "link_missing": {
        "fr": "Cette page s'ouvre à partir du lien reçu par courriel. Utilisez ce lien, sans le "
              "modifier.",
        "en": "This page opens from the link you received by email. Use that link, unchanged.",
    },
    "request_reference": {"fr": "Demande {reference}", "en": "Request {reference}"},
    "summary_title": {"fr": "La demande à autoriser", "en": "The request to authorize"},
    "authorize": {"fr": "Autoriser", "en": "Authorize"},
    "refuse": {"fr": "Refuser", "en": "Refuse"},
    "decision": {"fr": "Votre décision", "en": "Your decision"},
    "refuse_reason": {"fr": "Motif du refus *", "en": "Reason for refusal *"},
    "refuse_help": {"fr": "Le motif est transmis à l'utilisateur.",
                    "en": "The reason is sent to the user."},
    "authorize_title": {"fr": "Autoriser la demande", "en": "Authorize the request"},
    "refuse_title": {"fr": "Refuser la demande", "en": "Refuse the request"},
    "authorized_done": {
        "fr": "Merci. Votre autorisation est enregistrée pour la demande {reference}. La RAMQ va "
              "maintenant l'analyser. Si elle est acceptée, vous recevrez par courriel le nom "
              "d'utilisateur, à transmettre en toute sécurité à l'utilisateur.",
        "en": "Thank you. Your authorization is recorded for request {reference}. The RAMQ will "
              "now review it. If it is approved, you will receive the username by email, to "
              "transmit securely to the user.",
    },
    "refused_done": {
        "fr": "Votre refus est enregistré pour la demande {reference}. L'utilisateur en est "
              "informé par courriel.",
        "en": "Your refusal is recorded for request {reference}. The user is informed by email.",
    },
    "opening_decides_nothing": {
        "fr": "Rien n'est décidé tant que vous n'avez pas cliqué sur « Autoriser » ou « Refuser ».",
        "en": "Nothing is decided until you click \"Authorize\" or \"Refuse\".",
    },
    "correction_intro": {
        "fr": "La RAMQ vous renvoie la demande {reference} pour correction. Corrigez-la, signez-la "
              "et renvoyez-la : la personne qui autorise devra la signer de nouveau.",
        "en": "The RAMQ sends request {reference} back to you for correction. Correct it, sign it "
              "and send it again: the person who authorizes will have to sign it again.",
    },
    "respondent_comments": {"fr": "Corrections demandées par la RAMQ",
                            "en": "Corrections requested by the RAMQ"},
    "resubmit": {"fr": "Renvoyer la demande corrigée", "en": "Send the corrected request"},
    "resubmitted_done": {
        "fr": "Votre demande corrigée {reference} est enregistrée. La personne qui autorise reçoit "
              "un nouveau courriel pour la signer.",
        "en": "Your corrected request {reference} is recorded. The person who authorizes receives "
              "a new email to sign it.",
    },

    # --- Summary of a request
    "none": {"fr": "—", "en": "—"},
    "existing_access_none": {"fr": "Aucun autre accès", "en": "No other access"},
    "user_signature": {"fr": "Signature de l'utilisateur", "en": "User's signature"},
    "authorizer_signature": {"fr": "Signature de la personne qui autorise",
                             "en": "Signature of the person who authorizes"},
    "no_signature_image": {"fr": "Signature numérique (aucune image)",
                           "en": "Digital signature (no image)"},
    "commitments_accepted": {"fr": "Engagements acceptés", "en": "Commitments accepted"},
    "not_yet_authorized": {"fr": "La section 3 n'est pas encore remplie.",
                           "en": "Section 3 is not filled in yet."},
    "field": {"fr": "Champ", "en": "Field"},
    "value": {"fr": "Valeur", "en": "Value"},

    # --- Staff login
    "staff_login_intro": {"fr": "Accès réservé au personnel de la RAMQ.",
                          "en": "For RAMQ staff only."},
    "username": {"fr": "Nom d'utilisateur", "en": "Username"},
    "password": {"fr": "Mot de passe", "en": "Password"},
    "sign_in": {"fr": "Se connecter", "en": "Sign in"},
    "bad_credentials": {
        "fr": "Nom d'utilisateur ou mot de passe incorrect, ou accès expiré.",
        "en": "Wrong username or password, or expired access.",
    },
    "not_staff": {"fr": "Ce compte n'est pas un compte du personnel de la RAMQ.",
                  "en": "This account is not a RAMQ staff account."},
    "staff_only": {"fr": "Cette page est réservée au personnel de la RAMQ autorisé. Connectez-vous.",
                   "en": "This page is for authorized RAMQ staff. Please sign in."},
    "already_signed_in": {"fr": "Vous êtes connecté en tant que {name}.",
                          "en": "You are signed in as {name}."},
    "sign_in_throttled": {
        "fr": "Trop de tentatives de connexion. Réessayez dans {wait}.",
        "en": "Too many sign-in attempts. Try again in {wait}.",
    },
    "temp_password_expired": {
        "fr": "Votre mot de passe temporaire est expiré : il n'a pas été changé dans les {days} "
              "jours suivant son envoi. Demandez un nouveau mot de passe temporaire à la RAMQ.",
        "en": "Your temporary password has expired: it was not changed within {days} days of "
              "being sent. Ask the RAMQ for a new temporary password.",
    },
    "staff_session_expired": {
        "fr": "Votre session a pris fin après {minutes} minutes d'inactivité. Reconnectez-vous.",
        "en": "Your session ended after {minutes} minutes without activity. Please sign in again.",
    },

    # --- Queue
    "queue_intro": {"fr": "Demandes autorisées qui attendent l'analyse d'un répondant.",
                    "en": "Authorized requests waiting for a respondent's review."},
    "filters": {"fr": "Filtres et tri", "en": "Filters and sorting"},
    "filter_org": {"fr": "Type d'organisation", "en": "Type of organization"},
    "filter_establishment": {"fr": "Numéro d'établissement", "en": "Establishment number"},
    "filter_min_age": {"fr": "En attente depuis au moins (jours)",
                       "en": "Waiting for at least (days)"},
    "filter_overdue": {"fr": "En retard seulement", "en": "Overdue only"},
    "filter_claim": {"fr": "Prise en charge", "en": "Claimed"},
    "claim_any": {"fr": "Toutes", "en": "All"},
    "claim_mine": {"fr": "Les miennes", "en": "Mine"},
    "claim_unclaimed": {"fr": "Non prises en charge", "en": "Unclaimed"},
    "sort_by": {"fr": "Trier par", "en": "Sort by"},
    "sort_due_at": {"fr": "Échéance", "en": "Due date"},
    "sort_created_at": {"fr": "Date d'arrivée", "en": "Arrival date"},
    "sort_reference": {"fr": "Référence", "en": "Reference"},
    "sort_establishment_number": {"fr": "Numéro d'établissement", "en": "Establishment number"},
    "descending": {"fr": "Ordre décroissant", "en": "Descending"},
    "queue_empty": {"fr": "Aucune tâche ne correspond aux filtres.",
                    "en": "No task matches the filters."},
    "queue_count": {"fr": "{n} tâche(s)", "en": "{n} task(s)"},
    "col_reference": {"fr": "Référence", "en": "Reference"},
    "col_org": {"fr": "Organisation", "en": "Organization"},
    "col_establishment": {"fr": "Établissement", "en": "Establishment"},
    "col_user": {"fr": "Utilisateur", "en": "User"},
    "col_arrived": {"fr": "Arrivée", "en": "Arrived"},
    "col_due": {"fr": "Échéance", "en": "Due"},
    "col_overdue": {"fr": "En retard", "en": "Overdue"},
    "col_claimed_by": {"fr": "Pris en charge par", "en": "Claimed by"},
    "col_round": {"fr": "Tour", "en": "Round"},
    "col_age_days": {"fr": "Attente (jours)", "en": "Waiting (days)"},
    "open_task": {"fr": "Ouvrir la demande", "en": "Open the request"},
    "back_to_queue": {"fr": "Retour à la file", "en": "Back to the queue"},
    "claim": {"fr": "Prendre en charge", "en": "Claim"},
    "unclaim": {"fr": "Libérer la tâche", "en": "Release the task"},
    "claimed_by_you": {"fr": "Vous avez pris cette tâche en charge.", "en": "You claimed this task."},
    "claimed_by_other": {"fr": "Tâche prise en charge par {who}.", "en": "Task claimed by {who}."},
    "claim_first": {"fr": "Prenez la tâche en charge pour remplir la section 4 et décider.",
                    "en": "Claim the task to fill in section 4 and decide."},
    "task_due": {"fr": "Échéance : {due}", "en": "Due: {due}"},
    "task_overdue": {"fr": "En retard — échéance dépassée : {due}", "en": "Overdue — was due {due}"},
    "task_not_open": {"fr": "Cette tâche n'est plus ouverte.", "en": "This task is no longer open."},
    "registration_date": {"fr": "Date d'inscription", "en": "Registration date"},
    "reference_number": {"fr": "Numéro de référence", "en": "Reference number"},
    "s4_username": {"fr": "Nom d'utilisateur *", "en": "Username *"},
    "s4_username_help": {"fr": "Proposé par le système; vous pouvez le modifier.",
                         "en": "Proposed by the system; you may change it."},
    "valid_from": {"fr": "Début de la validité *", "en": "Valid from *"},
    "valid_until": {"fr": "Fin de la validité *", "en": "Valid until *"},
    "respondent_id": {"fr": "Identifiant du répondant", "en": "Respondent identifier"},
    "respondent_decision": {"fr": "Décision", "en": "Decision"},
    "outcome_approve": {"fr": "Approuver (section 4 remplie)", "en": "Approve (section 4 completed)"},
    "outcome_refuse": {"fr": "Refuser", "en": "Refuse"},
    "outcome_send_back": {"fr": "Renvoyer pour correction", "en": "Send back for correction"},
    "send_back_comments": {"fr": "Corrections demandées *", "en": "Corrections needed *"},
    "send_back_help": {"fr": "Ces commentaires sont transmis à l'utilisateur avec le lien de "
                             "correction.",
                       "en": "These comments are sent to the user with the correction link."},
    "confirm_decision": {"fr": "Confirmer la décision", "en": "Confirm the decision"},
    "decision_recorded": {"fr": "Décision enregistrée pour la demande {reference}.",
                          "en": "Decision recorded for request {reference}."},
    "history": {"fr": "Historique", "en": "History"},
    "previous_comments": {"fr": "Commentaires des tours précédents",
                          "en": "Comments from previous rounds"},
    "request_status": {"fr": "État : {status}", "en": "Status: {status}"},
    "task_missing": {"fr": "Tâche introuvable.", "en": "Task not found."},

    # --- Manager
    "runs_intro": {"fr": "Vue en lecture seule des demandes et de leurs exécutions.",
                   "en": "Read-only view of the requests and their runs."},
    "filter_status": {"fr": "État", "en": "Status"},
    "filter_reference": {"fr": "Référence contient", "en": "Reference contains"},
    "col_status": {"fr": "État", "en": "Status"},
    "col_created": {"fr": "Créée", "en": "Created"},
    "col_last_step": {"fr": "Dernière étape", "en": "Last step"},
    "col_last_at": {"fr": "Le", "en": "At"},
    "col_prefect": {"fr": "Exécution Prefect", "en": "Prefect run"},
    "open_tasks": {"fr": "Tâches ouvertes", "en": "Open tasks"},
    "overdue_tasks": {"fr": "Tâches en retard", "en": "Overdue tasks"},
    "requests_total": {"fr": "Demandes", "en": "Requests"},
    "by_status": {"fr": "Demandes par état", "en": "Requests by status"},
    "timeline": {"fr": "Chronologie d'une demande", "en": "Timeline of a request"},
    "timeline_pick": {"fr": "Demande", "en": "Request"},
    "col_event": {"fr": "Étape", "en": "Step"},
    "col_actor": {"fr": "Par", "en": "By"},
    "no_requests": {"fr": "Aucune demande.", "en": "No request."},
    "showing_n": {"fr": "{n} demande(s) affichée(s) (les plus récentes).",
                  "en": "{n} request(s) shown (most recent)."},
    "prefect_link": {"fr": "Voir l'exécution dans Prefect", "en": "View the run in Prefect"},
    "queue_by_kind": {"fr": "Tâches ouvertes par étape", "en": "Open tasks by step"},
    "task_kind_authorizer": {"fr": "Autorisation (section 3)", "en": "Authorization (section 3)"},
    "task_kind_respondent": {"fr": "Analyse RAMQ (section 4)", "en": "RAMQ review (section 4)"},
    "task_kind_correction": {"fr": "Correction par l'utilisateur", "en": "Correction by the user"},
    "col_run_state": {"fr": "Exécution", "en": "Run"},
    "col_problem": {"fr": "Problème", "en": "Problem"},
    "col_restarts": {"fr": "Redémarrages", "en": "Restarts"},
    "col_stuck_at": {"fr": "Signalée le", "en": "Flagged at"},
    "runs_attention": {"fr": "{n} demande(s) ouverte(s) en mauvais état : intervention requise.",
                       "en": "{n} open request(s) in a bad state: action required."},
    "runs_attention_help": {
        "fr": "Demandes non fermées dont l'exécution Prefect est plantée, échouée ou annulée, ou "
              "que le balayeur n'a pas pu relancer. Signalez-les à l'équipe d'exploitation.",
        "en": "Open requests whose Prefect run crashed, failed or was cancelled, or that the "
              "sweeper could not restart. Report them to the operations team.",
    },
    "run_stuck": {"fr": "Bloquée — intervention requise", "en": "Stuck — action required"},
    "run_bad_state": {"fr": "Exécution « {state} » alors que la demande est ouverte",
                      "en": "Run \"{state}\" while the request is open"},
    "run_state_SCHEDULED": {"fr": "Planifiée", "en": "Scheduled"},
    "run_state_PENDING": {"fr": "En attente de démarrage", "en": "Pending"},
    "run_state_RUNNING": {"fr": "En cours", "en": "Running"},
    "run_state_PAUSED": {"fr": "En pause (attend une décision)", "en": "Paused (awaiting a decision)"},
    "run_state_COMPLETED": {"fr": "Terminée", "en": "Completed"},
    "run_state_FAILED": {"fr": "Échouée", "en": "Failed"},
    "run_state_CRASHED": {"fr": "Plantée", "en": "Crashed"},
    "run_state_CANCELLED": {"fr": "Annulée", "en": "Cancelled"},
    "run_state_CANCELLING": {"fr": "Annulation en cours", "en": "Cancelling"},
    "run_state_UNKNOWN": {"fr": "inconnu", "en": "unknown"},
    "run_state_none": {"fr": "non démarrée", "en": "not started"},

    # --- Mon accès
    "my_access_intro": {
        "fr": "Connectez-vous avec le nom d'utilisateur transmis par la personne qui a autorisé "
              "votre demande et le mot de passe temporaire reçu par courriel.",
        "en": "Sign in with the username given by the person who authorized your request and the "
              "temporary password you received by email.",
    },
    "must_change_password": {
        "fr": "Première connexion : choisissez votre propre mot de passe pour continuer.",
        "en": "First sign-in: choose your own password to continue.",
    },
    "current_password": {"fr": "Mot de passe temporaire (ou actuel) *",
                         "en": "Temporary (or current) password *"},
    "new_password": {"fr": "Nouveau mot de passe *", "en": "New password *"},
    "new_password_help": {
        "fr": "Au moins {n} caractères, dont au moins une lettre et un chiffre ou symbole; sans "
              "votre nom d'utilisateur.",
        "en": "At least {n} characters, with at least one letter and one digit or symbol; without "
              "your username.",
    },
    "confirm_password": {"fr": "Confirmez le nouveau mot de passe *",
                         "en": "Confirm the new password *"},
    "change_password": {"fr": "Changer le mot de passe", "en": "Change the password"},
    "passwords_differ": {"fr": "Les deux mots de passe ne sont pas identiques.",
                         "en": "The two passwords do not match."},
    "password_changed": {"fr": "Votre mot de passe est changé.", "en": "Your password is changed."},
    "access_granted": {"fr": "Accès accordé", "en": "Access granted"},
    "validity": {"fr": "Période de validité", "en": "Validity period"},
    "validity_value": {"fr": "du {start} au {end}", "en": "from {start} to {end}"},
    "registers": {"fr": "Registres", "en": "Registers"},
    "establishment": {"fr": "Établissement", "en": "Establishment"},
    "additional_numbers": {"fr": "Numéros d'établissement supplémentaires",
                           "en": "Additional establishment numbers"},
    "no_access_details": {"fr": "Aucun accès n'est associé à ce compte.",
                          "en": "No access is associated with this account."},
    "wrong_password": {"fr": "Le mot de passe actuel est incorrect.",
                       "en": "The current password is wrong."},
    "password_unchanged": {"fr": "Le nouveau mot de passe doit être différent de l'actuel.",
                           "en": "The new password must differ from the current one."},
    "password_too_short": {"fr": "Le mot de passe doit compter au moins {n} caractères.",
                           "en": "The password must have at least {n} characters."},
    "password_too_simple": {
        "fr": "Le mot de passe doit contenir au moins une lettre et un chiffre ou un symbole.",
        "en": "The password must contain at least one letter and one digit or symbol.",
    },
    "password_contains_username": {
        "fr": "Le mot de passe ne doit pas contenir votre nom d'utilisateur.",
        "en": "The password must not contain your username.",
    },

    # --- Emails (dev)
    "emails_intro": {
        "fr": "Courriels reçus par le serveur SMTP local (mode développement), du plus récent au "
              "plus ancien. Les liens s'ouvrent dans cette application.",
        "en": "Emails received by the local SMTP sink (development mode), newest first. Links "
              "open in this application.",
    },
    "emails_none": {"fr": "Aucun courriel pour le moment.", "en": "No email yet."},
    "emails_staff_only": {
        "fr": "Cette page montre des mots de passe temporaires : elle est réservée au personnel de "
              "la RAMQ connecté. Connectez-vous.",
        "en": "This page shows temporary passwords: it is for signed-in RAMQ staff only. "
              "Sign in.",
    },
    "emails_dev_only": {"fr": "Cette page n'existe qu'en mode développement.",
                        "en": "This page exists only in development mode."},
    "email_to": {"fr": "À : {to}", "en": "To: {to}"},
    "email_date": {"fr": "Date : {date}", "en": "Date: {date}"},
    "email_links": {"fr": "Liens", "en": "Links"},
    "email_filter": {"fr": "Destinataire contient", "en": "Recipient contains"},
    "refresh": {"fr": "Actualiser", "en": "Refresh"},
}

STATUS_LABELS: dict[str, dict[str, str]] = {
    "awaiting_authorizer": {"fr": "En attente d'autorisation", "en": "Awaiting authorization"},
    "awaiting_respondent": {"fr": "En analyse à la RAMQ", "en": "Under RAMQ review"},
    "correction_requested": {"fr": "Correction demandée", "en": "Correction requested"},
    "issuing_credentials": {"fr": "Émission des accès", "en": "Issuing credentials"},
    "completed": {"fr": "Terminée — accès délivré", "en": "Completed — access issued"},
    "refused_by_authorizer": {"fr": "Refusée par la personne qui autorise",
                              "en": "Refused by the authorizer"},
    "refused_by_ramq": {"fr": "Refusée par la RAMQ", "en": "Refused by the RAMQ"},
    "expired": {"fr": "Expirée", "en": "Expired"},
    "cancelled": {"fr": "Annulée", "en": "Cancelled"},
}


def lang() -> str:
    """The language of this browser session (French unless the toggle says English)."""
    try:
        import streamlit as st

        value = st.session_state.get(LANG_KEY, DEFAULT)
    except Exception:  # outside a Streamlit run
        value = DEFAULT
    return value if value in LANGUAGES else DEFAULT


def t(key: str, **params: Any) -> str:
    """The wording of ``key`` in the session's language (the key itself if unknown)."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry.get(lang()) or entry[DEFAULT]
    return text.format(**params) if params else text


def label(kind: str, value: str | None) -> str:
    """The label of an enumerated value of the form (application, role, organization_type...)."""
    if value is None:
        return t("none")
    return messages.label(kind, value, lang())


def labels(kind: str) -> dict[str, str]:
    return messages.labels(kind, lang())


def status_label(status: str | None) -> str:
    entry = STATUS_LABELS.get(status or "")
    return (entry.get(lang()) or entry[DEFAULT]) if entry else (status or t("none"))


def event_label(event: str) -> str:
    """A readable name for an audit event (the history of a request)."""
    return EVENT_LABELS.get(event, {}).get(lang()) or event


EVENT_LABELS: dict[str, dict[str, str]] = {
    "submitted": {"fr": "Demande soumise", "en": "Request submitted"},
    "flow_started": {"fr": "Traitement démarré", "en": "Processing started"},
    "authorizer_task_opened": {"fr": "En attente de l'autorisation", "en": "Awaiting authorization"},
    "authorizer_authorize": {"fr": "Autorisée (section 3 signée)", "en": "Authorized (section 3 signed)"},
    "authorizer_refuse": {"fr": "Refusée par la personne qui autorise", "en": "Refused by the authorizer"},
    "respondent_task_opened": {"fr": "Arrivée dans la file de la RAMQ", "en": "Entered the RAMQ queue"},
    "claimed": {"fr": "Prise en charge", "en": "Claimed"},
    "unclaimed": {"fr": "Libérée", "en": "Released"},
    "respondent_approve": {"fr": "Approuvée par la RAMQ", "en": "Approved by the RAMQ"},
    "respondent_refuse": {"fr": "Refusée par la RAMQ", "en": "Refused by the RAMQ"},
    "respondent_send_back": {"fr": "Renvoyée pour correction", "en": "Sent back for correction"},
    "correction_task_opened": {"fr": "En attente de correction", "en": "Awaiting correction"},
    "correction_resubmit": {"fr": "Correction renvoyée", "en": "Correction sent"},
    "resubmitted": {"fr": "Nouvelle version de la demande", "en": "New version of the request"},
    "password_sent": {"fr": "Mot de passe temporaire envoyé", "en": "Temporary password sent"},
    "completed": {"fr": "Terminée", "en": "Completed"},
    "closed": {"fr": "Fermée", "en": "Closed"},
    "authorizer_reminded": {"fr": "Rappel à la personne qui autorise", "en": "Authorizer reminded"},
    "authorizer_expire": {"fr": "Expirée (autorisation)", "en": "Expired (authorization)"},
    "correction_expire": {"fr": "Expirée (correction)", "en": "Expired (correction)"},
    "authorizer_changed": {"fr": "Personne qui autorise remplacée", "en": "Authorizer replaced"},
    "run_restarted": {"fr": "Traitement relancé", "en": "Processing restarted"},
    "recovery_abandoned": {"fr": "Bloquée — intervention requise", "en": "Stuck — action needed"},
}
