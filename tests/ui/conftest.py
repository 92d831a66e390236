"""Fixtures for the screens: the real app (``ui/app.py``) under Streamlit's AppTest, on the test
database, and helpers that prepare requests, human tasks, links and accounts through the real
API and tables (no mocks). Prefect is not needed: a decision is stored by the API and its
resume returns at once when no flow run is attached."""

from __future__ import annotations

import base64
import copy
import io
import itertools
import json
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from flows import api
from models.accounts import create_staff, hash_password
from models.db import session_scope
from models.enums import AccountKind, TaskKind
from models.tables import AccessRequest, Account, HumanTask, quebec_today, utcnow
from notifications.links import make_link_token

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "ui" / "app.py"
SCREENS = ROOT / "ui" / "screens"  # one page script per screen
DATA = ROOT / "tests" / "data"
STAFF_PASSWORD = "Mot-de-passe-2026!"
TIMEOUT = 60

_n = itertools.count(1)


def png_bytes(width: int = 120, height: int = 40) -> bytes:
    """A small real PNG with a stroke on it (a signature image)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(img).line([(5, height - 10), (width // 2, 8), (width - 5, height - 12)],
                             fill="black", width=3)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


PNG = png_bytes()
PNG_B64 = base64.b64encode(PNG).decode("ascii")


def unique_number() -> str:
    """A 5-digit establishment number no other test uses (the database lives for the session)."""
    return f"{(uuid.uuid4().int % 90000) + 10000:05d}"


def request_data(kind: str = "establishment", **user_overrides) -> dict:
    """A valid canonical request from tests/data, with unique addresses and establishment."""
    data = json.loads((DATA / f"request-{kind}.json").read_text(encoding="utf-8"))
    n = next(_n)
    tag = uuid.uuid4().hex[:6]
    data["user"]["email"] = f"marie.tremblay.{tag}{n}@cisss.example.qc.ca"
    data["authorizer"]["email"] = f"jean.gagnon.{tag}{n}@cisss.example.qc.ca"
    data["user"]["establishment_number"] = unique_number()
    data["user"].update(user_overrides)
    data["authorization"] = None  # section 3 is the authorizer's, through the link
    return data


def section3(role: str = "dsp", *, board_resolution: bool = True) -> dict:
    return {
        "role": role, "sex": "M", "function": "Directeur des services professionnels",
        "phone": "418 555-0199", "extension": None, "fax": None,
        "organization_name": "CISSS de la Capitale", "address": "1050, chemin Sainte-Foy, Québec",
        "postal_code": "G1S 4L8", "commitments_accepted": True,
        "signature": {"method": "image", "image_png_base64": PNG_B64},
        "board_resolution": {"number": "CA-2024-031", "date": "2024-01-15"} if board_resolution else None,
    }


def submit(data: dict | None = None) -> api.Submitted:
    """Stores a request through the API (no flow run is started)."""
    return api.submit_request(copy.deepcopy(data or request_data()), start=False)


def open_task(request_id: int, kind: TaskKind, round: int = 1, *, due_in_days: float = 10,
              created_days_ago: float = 0) -> int:
    with session_scope() as s:
        task = HumanTask(request_id=request_id, kind=kind.value, round=round,
                         due_at=utcnow() + timedelta(days=due_in_days),
                         created_at=utcnow() - timedelta(days=created_days_ago))
        s.add(task)
        s.flush()
        return task.id


def token(request_id: int, purpose: str = "authorize", revision: int = 1, **kw) -> str:
    return make_link_token(request_id=request_id, purpose=purpose, revision=revision, **kw).token


def authorized_request(kind: str = "establishment", *, due_in_days: float = 10,
                       created_days_ago: float = 0, **user_overrides) -> tuple[api.Submitted, int]:
    """A request authorized through the API, waiting in the respondents' queue: (submitted,
    respondent task id)."""
    sub = submit(request_data(kind, **user_overrides))
    open_task(sub.request_id, TaskKind.authorizer)
    role = {"establishment": "dsp", "gmf": "gmf_responsible_physician",
            "optilab": "optilab_representative"}[kind]
    api.authorizer_decide(token(sub.request_id), outcome="authorize",
                          section3=section3(role, board_resolution=(role == "dsp")))
    task_id = open_task(sub.request_id, TaskKind.respondent, due_in_days=due_in_days,
                        created_days_ago=created_days_ago)
    return sub, task_id


def approved_request(kind: str = "establishment", **user_overrides) -> tuple[api.Submitted, int, dict]:
    """A request a respondent approved (section 4 signed), waiting for the SOES: (submitted,
    countersign task id, the respondent's account)."""
    sub, task_id = authorized_request(kind, **user_overrides)
    respondent = staff_account("respondent")
    api.claim_task(task_id, staff=respondent["username"])
    section4 = api.proposed_section4(task_id)
    section4["username"] = f"u{uuid.uuid4().hex[:10]}"
    api.respondent_decide(task_id, staff=respondent["username"], outcome="approve", section4=section4)
    return sub, open_task(sub.request_id, TaskKind.countersign), respondent


def staff_account(role: str = "respondent", *, email: str | None = None,
                  display_name: str = "") -> dict:
    username = f"{role[:4]}{uuid.uuid4().hex[:8]}"
    with session_scope() as s:
        account = create_staff(s, username=username, role=role, password=STAFF_PASSWORD,
                               display_name=display_name or username.upper(),
                               email=email or f"{username}@ramq.example.qc.ca")
        return {"id": account.id, "username": username}


def issued_account(request_id: int, password: str, *, must_change: bool = True,
                   valid_from: date | None = None, valid_until: date | None = None) -> dict:
    username = f"u{uuid.uuid4().hex[:10]}"
    today = quebec_today()
    with session_scope() as s:
        account = Account(username=username, kind=AccountKind.issued.value, role="user",
                          display_name="MARIE TREMBLAY", password_hash=hash_password(password),
                          must_change_password=must_change, request_id=request_id,
                          valid_from=valid_from or today,
                          valid_until=valid_until or today + timedelta(days=365))
        s.add(account)
        s.flush()
        return {"id": account.id, "username": username}


def request_row(request_id: int) -> AccessRequest:
    with session_scope() as s:
        return s.get(AccessRequest, request_id)


def count_requests() -> int:
    with session_scope() as s:
        return len(s.exec(select(AccessRequest.id)).all())


@pytest.fixture
def app(app_env):
    """Factory: the real app, run once (on its default page), with optional session state and
    query parameters (``?t=…``)."""

    def make(*, state: dict | None = None, query: dict | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        for name, value in (state or {}).items():
            at.session_state[name] = value
        if query:
            at.query_params.update(query)
        return at.run()

    return make


def screen(page: str) -> str:
    """A screen's script as AppTest names it, relative to ``ui/app.py``: ``"runs.py"`` →
    ``"screens/runs.py"``."""
    return page if "/" in page else f"{SCREENS.name}/{page}"


def goto(at: AppTest, page: str, query: dict | None = None) -> AppTest:
    """Opens a page of the navigation (``"authorization.py"``), with its query parameters."""
    if query:
        at.query_params.update(query)
    return at.switch_page(screen(page)).run()


def texts(at: AppTest) -> str:
    """Everything the page says (markdown, alerts, captions, titles), for assertions."""
    parts: list[str] = []
    for group in (at.title, at.header, at.subheader, at.markdown, at.caption, at.error, at.warning, at.info,
                  at.success):
        parts.extend(str(el.value) for el in group)
    return "\n".join(parts)


def errors(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error]


def fill(at: AppTest, values: dict) -> AppTest:
    """Sets widgets by key (text inputs, radios, checkboxes, date inputs...) without running."""
    for k, v in values.items():
        _find(at, k).set_value(v)
    return at


def _find(at: AppTest, k: str):
    for group in (at.text_input, at.radio, at.checkbox, at.date_input, at.text_area, at.selectbox,
                  at.multiselect, at.number_input):
        try:
            return group(key=k)
        except KeyError:
            continue
    raise KeyError(k)


def elements(at: AppTest) -> list:
    """The main area's elements in display order (columns and containers flattened)."""
    out: list = []

    def walk(node) -> None:
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for index in sorted(children):
                walk(children[index])
        else:
            out.append(node)

    walk(at.main)
    return out


def errors_under(at: AppTest, key: str) -> list[str]:
    """The error messages shown right under the widget ``key`` (before the next widget)."""
    from streamlit.testing.v1.element_tree import Error, Widget

    seq = elements(at)
    for i, el in enumerate(seq):
        if getattr(el, "key", None) == key:
            found = []
            for nxt in seq[i + 1:]:
                if isinstance(nxt, Widget):
                    break
                if isinstance(nxt, Error):
                    found.append(str(nxt.value))
            return found
    raise KeyError(key)


def nav_error(at: AppTest, page: str) -> bool:
    """True when ``page`` is not in the navigation built for this session (cannot be opened)."""
    try:
        at.switch_page(screen(page))
    except ValueError:
        return True
    return False


def sent_back(comments: str = "Le numéro de l'établissement est erroné.", kind: str = "establishment"):
    """A request a respondent sent back for correction (round 1): (submitted, correction task
    id, correction link token)."""
    sub, task_id = authorized_request(kind)
    staff = staff_account("respondent")
    api.claim_task(task_id, staff=staff["username"])
    api.respondent_decide(task_id, staff=staff["username"], outcome="send_back", reason=comments)
    correction_task = open_task(sub.request_id, TaskKind.correction)
    return sub, correction_task, token(sub.request_id, purpose="correct")
