"""`ramq-access simulate`: plays every person against the running stack, for demos and benchmarks.

Each simulated request is submitted through the API; the authorizer acts through the link found in
the Maildir message (as a person would), the respondent through the API, the SOES countersigns
through the API (sometimes returning the approval to the respondent once first, when
``RAMQ_COUNTERSIGN`` is on), the user corrects through the correction link. The time from each
decision to the next email is measured.
"""

from __future__ import annotations

import base64
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from sqlmodel import select

from flows import api
from models.accounts import AccountError, authenticate, create_staff
from models.db import session_scope
from models.enums import Outcome, RequestStatus, TaskKind, TaskStatus
from models.settings import get_settings
from models.tables import HumanTask, id_of
from notifications.maildir import MaildirReader
from notifications.templates import read_secret

SIM_RESPONDENT = "sim-repondant"
SIM_SOES = "sim-soes"
SIM_PASSWORD = "Simulation-2026!"
# Outcome mix: most requests are approved, some corrected first, some refused at either step.
# "returned": the SOES returns the first approval to the respondent, who approves again.
OUTCOMES = ("approved",) * 5 + ("returned", "corrected", "corrected", "refused_by_authorizer", "refused_by_ramq")

FIRST = ["Marie", "Jean", "Sophie", "Luc", "Élise", "François", "Nadia", "Olivier", "Chloé", "Hélène"]
LAST = ["Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Pelletier"]

def _signature_png(stroke: int = 3) -> str:
    """A small drawn-looking signature (PNG, base64) for the simulated people; another stroke
    width makes another signature (a corrected request is signed again)."""
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (160, 50), "white")
    ImageDraw.Draw(img).line([(8, 38), (30, 12), (52, 36), (80, 10), (104, 34), (150, 20)], fill="navy",
                             width=stroke)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


TINY_PNG = _signature_png()


@dataclass
class Trace:
    plan: str
    reference: str = ""
    outcome: str = ""
    error: str = ""
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def add(self, step: str, seconds: float, decided_by: str = "") -> None:
        """``decided_by``: the decision's kind (authorizer, respondent, countersign), also counted
        under "decision by <kind>": the time from a person's decision to what the next person
        sees (an email, or the task in a RAMQ queue)."""
        self.latencies.setdefault(step, []).append(seconds)
        if decided_by:
            self.latencies.setdefault(f"decision by {decided_by}", []).append(seconds)


def sample_request(rng: random.Random, n: int, run: str = "") -> dict:
    """A request of simulated people; ``run`` makes their mailboxes unique to one simulation (a
    second run with the same seed against the same stack must not read the first run's emails)."""
    org = rng.choice(["establishment", "establishment", "gmf", "optilab"])
    first, last = rng.choice(FIRST), rng.choice(LAST)
    scope = {"establishment": rng.choice(["some_installations", "all_installations"]),
             "gmf": "all_installations", "optilab": "optilab_cluster"}[org]
    numbers = [f"{rng.randint(10000, 99999)}"] if scope == "some_installations" else []
    uid = f"{run}{n}-{rng.randrange(10**8):08d}"
    return {
        "applications": ["online_payment_authorization"],
        "existing_username": None,
        "organization_type": org,
        "register_scope": scope,
        "additional_establishment_numbers": numbers,
        "user": {
            "first_name": first, "last_name": last, "sex": rng.choice("MF"),
            "function": "Agente administrative", "email": f"utilisateur.{uid}@cisss.example.qc.ca",
            "phone": "418 555-0123", "extension": None, "fax": None,
            "establishment_name": "CISSS de la Capitale", "establishment_number": f"{rng.randint(10000, 99999)}",
            "address": "1050, chemin Sainte-Foy, Québec (Québec)", "postal_code": "G1S 4L8",
            "commitments_accepted": True,
            "signature": {"method": "drawn", "image_png_base64": TINY_PNG},
        },
        "authorizer": {"first_name": "Jean", "last_name": "Gagnon",
                       "email": f"autorisateur.{uid}@cisss.example.qc.ca"},
        "authorization": None,
    }


def section3_for(request: dict) -> dict:
    role = {"establishment": "dsp", "gmf": "gmf_responsible_physician",
            "optilab": "optilab_representative"}[request["organization_type"]]
    board = {"number": "CA-2026-042", "date": "2026-01-15"} if role in ("dsp", "dg") else None
    return {"role": role, "sex": "M", "function": "Directeur des services professionnels",
            "phone": "418 555-0199", "extension": None, "fax": None,
            "organization_name": "CISSS de la Capitale", "address": "1050, chemin Sainte-Foy, Québec",
            "postal_code": "G1S 4L8", "commitments_accepted": True,
            "signature": {"method": "drawn", "image_png_base64": TINY_PNG}, "board_resolution": board}


class Simulation:
    def __init__(self, *, requests: int, seed: int = 1, timeout: float = 300, progress=print, people: int = 8):
        self.rng = random.Random(seed)
        self.run_id = uuid.uuid4().hex[:6]  # the seed repeats the plans, never the mailboxes
        self.count = requests
        self.people = people  # how many act at once (one thread each)
        self.timeout = timeout
        self.progress = progress
        self.maildir: Path = get_settings().maildir
        self._mail: MaildirReader | None = None
        self._lock = threading.Lock()
        self.traces: list[Trace] = []

    # -- waiting on what a person would see ---------------------------------------------------

    @property
    def mail(self) -> MaildirReader:
        """One reader of the Maildir for every thread: each message is parsed once, not at each
        look (a test may point ``maildir`` elsewhere after construction)."""
        if self._mail is None or self._mail.path != Path(self.maildir):
            self._mail = MaildirReader(self.maildir)
        return self._mail

    def wait_mail(self, *, to: str, contains: str, reference: str, since: float) -> tuple[object, float]:
        """The first message to ``to`` about ``reference`` whose subject has ``contains``."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            for m in self.mail.find(to=to):
                if reference in m.subject and contains.lower() in m.subject.lower():
                    return m, time.monotonic() - since
            time.sleep(0.05)
        raise TimeoutError(f"{reference}: no email '{contains}' for a participant")

    def wait_task(self, request_id: int, kind: TaskKind, round: int, since: float,
                  attempt: int = 1) -> tuple[int, float]:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            with session_scope() as s:
                t = s.exec(select(HumanTask).where(HumanTask.request_id == request_id, HumanTask.kind == kind.value,
                                                   HumanTask.round == round, HumanTask.attempt == attempt,
                                                   HumanTask.status == TaskStatus.open.value)).first()
                if t:
                    return id_of(t), time.monotonic() - since
            time.sleep(0.05)
        raise TimeoutError(f"request {request_id}: no {kind.value} task")

    @staticmethod
    def token_of(message) -> str:
        for link in message.links:
            q = parse_qs(urlparse(link).query)
            if "t" in q:
                return q["t"][0]
        raise LookupError("no signed link in the message")

    # -- one request, played end to end --------------------------------------------------------

    def play(self, n: int, plan: str) -> Trace:
        trace = Trace(plan)
        data = sample_request(random.Random(self.rng.random() + n), n, run=f"{self.run_id}.")
        user, authorizer = data["user"]["email"], data["authorizer"]["email"]
        try:
            t0 = time.monotonic()
            sub = api.submit_request(data, actor="simulation")
            trace.reference = ref = sub.reference
            self.wait_mail(to=user, contains="accusé de réception", reference=ref, since=t0)
            round, since = 1, t0  # since: the action that should bring the next authorizer email
            while True:
                if round == 1:
                    msg, dt = self.wait_mail(to=authorizer, contains="autorisation est requise",
                                             reference=ref, since=since)
                else:
                    msg, dt = self._round_mail(authorizer, ref, round, since)
                trace.add("submission→authorizer email" if round == 1 else "resubmission→authorizer email", dt)
                token = self.token_of(msg)
                api.open_link(token, purpose="authorize")
                if plan == "refused_by_authorizer":
                    t = time.monotonic()
                    api.authorizer_decide(token, outcome=Outcome.refuse, reason="Demande non justifiée.")
                    _, dt = self.wait_mail(to=user, contains="demande refusée", reference=ref, since=t)
                    trace.add("decision→next email", dt, "authorizer")
                    trace.outcome = RequestStatus.refused_by_authorizer.value
                    return trace
                t = time.monotonic()
                api.authorizer_decide(token, outcome=Outcome.authorize, section3=section3_for(data))
                task_id, dt = self.wait_task(sub.request_id, TaskKind.respondent, round, t)
                trace.add("authorization→RAMQ queue", dt, "authorizer")
                api.claim_task(task_id, staff=SIM_RESPONDENT)
                if plan == "refused_by_ramq":
                    t = time.monotonic()
                    api.respondent_decide(task_id, staff=SIM_RESPONDENT, outcome=Outcome.refuse,
                                          reason="Dossier incomplet.")
                    _, dt = self.wait_mail(to=user, contains="refusée par la RAMQ", reference=ref, since=t)
                    trace.add("decision→next email", dt, "respondent")
                    trace.outcome = RequestStatus.refused_by_ramq.value
                    return trace
                if plan == "corrected" and round == 1:
                    t = time.monotonic()
                    api.respondent_decide(task_id, staff=SIM_RESPONDENT, outcome=Outcome.send_back,
                                          reason="Précisez votre fonction.")
                    msg, dt = self.wait_mail(to=user, contains="correction demandée", reference=ref, since=t)
                    trace.add("decision→next email", dt, "respondent")
                    data["user"]["function"] = "Technicienne en administration"
                    data["user"]["signature"] = {"method": "drawn", "image_png_base64": _signature_png(stroke=2)}
                    since = time.monotonic()
                    api.resubmit_correction(self.token_of(msg), data)
                    round += 1
                    continue
                section4 = api.proposed_section4(task_id)
                section4["username"] = f"{section4['username']}{self.run_id}{n}"[:40]  # unique across runs and threads
                t = self._approve(trace, sub.request_id, round, task_id, section4, returned=plan == "returned")
                pw_msg, dt = self.wait_mail(to=user, contains="mot de passe temporaire", reference=ref, since=t)
                trace.add("decision→next email", dt, "countersign" if get_settings().countersign else "respondent")
                un_msg, _ = self.wait_mail(to=authorizer, contains="nom d'utilisateur à transmettre",
                                           reference=ref, since=t)
                self._check_credentials(pw_msg, un_msg, section4["username"])
                trace.outcome = RequestStatus.completed.value
                return trace
        except Exception as exc:  # reported in the summary, the other requests go on
            trace.error = f"{type(exc).__name__}: {exc}"
            return trace

    def _approve(self, trace: Trace, request_id: int, round: int, task_id: int, section4: dict,
                 returned: bool) -> float:
        """The respondent approves and the SOES countersigns (when this stack asks for it),
        returning the first approval to the respondent once if ``returned``; the time of the
        last decision, the one that should bring the credentials."""
        attempt = 1
        while True:
            t = time.monotonic()
            api.respondent_decide(task_id, staff=SIM_RESPONDENT, outcome=Outcome.approve, section4=section4)
            if not get_settings().countersign:
                return t
            cs_task, dt = self.wait_task(request_id, TaskKind.countersign, round, t, attempt)
            trace.add("approval→countersign queue", dt, "respondent")
            api.claim_task(cs_task, staff=SIM_SOES)
            t = time.monotonic()
            if returned and attempt == 1:
                api.countersign_decide(cs_task, staff=SIM_SOES, outcome=Outcome.refuse,
                                       reason="Vérifiez la période de validité.")
                attempt += 1
                task_id, dt = self.wait_task(request_id, TaskKind.respondent, round, t, attempt)
                trace.add("decision→RAMQ queue", dt, "countersign")
                api.claim_task(task_id, staff=SIM_RESPONDENT)
                continue
            api.countersign_decide(cs_task, staff=SIM_SOES, outcome=Outcome.countersign)
            return t

    def _round_mail(self, authorizer: str, ref: str, round: int, since: float):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msgs = [m for m in self.mail.find(to=authorizer)
                    if ref in m.subject and "autorisation est requise" in m.subject]
            if len(msgs) >= round:
                return msgs[0], time.monotonic() - since  # newest first
            time.sleep(0.05)
        raise TimeoutError(f"{ref}: no new authorization email")

    @staticmethod
    def _check_credentials(pw_msg, un_msg, username: str) -> None:
        if username in pw_msg.text or username not in un_msg.text:
            raise AssertionError("credential emails mixed up")
        password = read_secret(pw_msg.text)
        with session_scope() as s:
            if not password or authenticate(s, username=username, password=password) is None:
                raise AssertionError("the emailed password does not open the account")

    def run(self) -> dict:
        for username, role, name, email in (
                (SIM_RESPONDENT, "respondent", "Répondant simulé", "sim.repondant@ramq.example.qc.ca"),
                (SIM_SOES, "soes", "SOES simulée", "sim.soes@ramq.example.qc.ca")):
            with session_scope() as s:
                try:
                    create_staff(s, username=username, role=role, password=SIM_PASSWORD, display_name=name,
                                 email=email)
                except AccountError:
                    pass  # made by an earlier simulation
        plans = [OUTCOMES[i % len(OUTCOMES)] for i in range(self.count)]
        self.rng.shuffle(plans)
        started = time.monotonic()
        traces: list[Trace] = []
        with ThreadPoolExecutor(max_workers=min(self.people, self.count) or 1) as pool:
            futures = [pool.submit(self.play, i, plan) for i, plan in enumerate(plans)]
            for done, fut in enumerate(as_completed(futures), 1):
                trace = fut.result()
                traces.append(trace)
                self.progress(f"[{done}/{self.count}] {trace.reference or '—'} {trace.plan}: "
                              f"{trace.outcome or 'ÉCHEC ' + trace.error}")
        self.traces = traces
        return summarize(traces, time.monotonic() - started)


def _expected(plan: str) -> str:
    return {"approved": "completed", "corrected": "completed", "returned": "completed"}.get(plan, plan)


def summarize(traces: list[Trace], elapsed: float) -> dict:
    steps: dict[str, list[float]] = {}
    for t in traces:
        for step, values in t.latencies.items():
            steps.setdefault(step, []).extend(values)

    def pct(values: list[float], p: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]

    return {
        "requests": len(traces),
        "as_expected": sum(1 for t in traces if t.outcome == _expected(t.plan)),
        "outcomes": dict(Counter(t.outcome or "error" for t in traces)),
        "errors": [f"{t.reference}: {t.error}" for t in traces if t.error],
        "elapsed_seconds": round(elapsed, 1),
        "latency_seconds": {
            step: {"n": len(v), "p50": round(statistics.median(v), 3), "p95": round(pct(v, 0.95), 3),
                   "max": round(max(v), 3)}
            for step, v in sorted(steps.items())
        },
    }
