"""Sample requests and small helpers shared by the model and CLI tests."""

from __future__ import annotations

import base64
import copy
import io
import json
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def load_sample(name: str = "establishment") -> dict:
    """A fresh copy of tests/data/request-<name>.json (establishment, gmf, optilab)."""
    return json.loads((DATA_DIR / f"request-{name}.json").read_text(encoding="utf-8"))


def png_b64() -> str:
    return load_sample()["user"]["signature"]["image_png_base64"]


def image_b64(fmt: str = "PNG", size: tuple[int, int] = (24, 8)) -> str:
    from PIL import Image, ImageDraw

    img = Image.new("L", size, 255)
    ImageDraw.Draw(img).line([(0, 0), (size[0] - 1, size[1] - 1)], fill=0)
    buf = io.BytesIO()
    img.save(buf, fmt)
    return base64.b64encode(buf.getvalue()).decode()


_resign = iter(range(1, 10**6))


def resigned(data: dict) -> dict:
    """``data`` signed again by its user (a fresh image no earlier signature has): a changed
    request cannot keep its former signature."""
    data["user"]["signature"] = {"method": "drawn", "image_png_base64": image_b64(size=(24 + next(_resign), 8))}
    return data


def establishment_with_authorization() -> dict:
    """The establishment sample signed on paper by its DSP, with the board resolution."""
    data = load_sample()
    data["authorization"] = {
        "role": "dsp", "sex": "M", "function": "Directeur des services professionnels",
        "phone": "418 555-0100", "extension": None, "fax": None,
        "organization_name": "CISSS de la Capitale",
        "address": "1050, chemin Sainte-Foy, Québec (Québec)", "postal_code": "G1S 4L8",
        "commitments_accepted": True,
        "signature": {"method": "drawn", "image_png_base64": png_b64()},
        "board_resolution": {"number": "CA-2025-117", "date": "2025-03-14"},
    }
    return copy.deepcopy(data)


def errors_of(result) -> set[tuple[str, str]]:
    return {(e.path, e.code) for e in result.errors}


def bare_request():
    """An access-request row with the fewest fields the table requires (no form behind it)."""
    from models.tables import AccessRequest

    return AccessRequest(
        organization_type="establishment", register_scope="all_installations",
        user_first_name="A", user_last_name="B", user_sex="F", user_function="F",
        user_email="a@b.example", user_phone="418 555-0123", establishment_name="E",
        establishment_number="01234", user_address="X", user_postal_code="G1S 4L8",
        authorizer_first_name="C", authorizer_last_name="D", authorizer_email="c@d.example",
    )
