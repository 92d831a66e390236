"""The signature: drawn on a pad or an uploaded image of a handwritten one (or the one already
given, on a correction), its preview, and the canonical value the buttons' callbacks send."""

from __future__ import annotations

import base64

import streamlit as st

from ui.formatting import bold
from ui.i18n import t
from ui.widgets.errors import show_errors
from ui.widgets.keys import key


def decode_image(b64: str | None) -> bytes | None:
    if not b64:
        return None
    try:
        return base64.b64decode(b64, validate=False)
    except Exception:
        return None


def signature_from_canvas(json_data: dict | None, png: bytes | None) -> dict | None:
    """The canonical signature of a drawn pad, or None while nothing was drawn."""
    if not json_data or not json_data.get("objects") or not png:
        return None
    return {"method": "drawn", "image_png_base64": base64.b64encode(png).decode("ascii")}


def signature_from_upload(raw: bytes | None) -> dict | None:
    if not raw:
        return None
    return {"method": "image", "image_png_base64": base64.b64encode(raw).decode("ascii")}


def _signature_pad(prefix: str, path: str) -> dict | None:
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception:  # the component could not load: the image upload still works
        st.info(t("signature_pad_unavailable"))
        return None
    st.markdown(bold(t("signature_pad_label")))
    st.caption(t("signature_pad_help"))
    result = st_canvas(stroke_width=3, stroke_color="#0b1f44", background_color="#ffffff",
                       height=170, width=560, drawing_mode="freedraw", return_image_data=True,
                       key=key(prefix, path + ".pad"))
    try:
        value = signature_from_canvas(result.json_data, result.image_bytes)
    except Exception:
        return None
    if value is not None:  # the signer sees that the pad's drawing reached the form
        st.caption(t("signature_captured"))
    return value


def _pad_now(prefix: str, path: str) -> dict | None:
    """The drawn signature as the pad's widget state holds it now. A button's callback runs
    before the script, so the value the previous run derived from the pad can miss a drawing
    that reached the server with the click (sign, then click at once)."""
    state = st.session_state.get(key(prefix, path + ".pad"))
    try:
        drawing = state.get("drawing") or {}
        data_url = drawing.get("data")
        png = base64.b64decode(data_url.split(";base64,", 1)[1]) if data_url else None
        return signature_from_canvas(drawing.get("raw"), png)
    except Exception:
        return None


def current_signature(prefix: str, path: str) -> dict | None:
    """The canonical signature from the widgets' current state (for the buttons' callbacks)."""
    ss = st.session_state
    stored = ss.get(key(prefix, path + ".value"))
    choice = ss.get(key(prefix, path + ".choice"))
    if choice == "drawn" and key(prefix, path + ".pad") in ss:
        return _pad_now(prefix, path)
    if choice == "image":
        upload = ss.get(key(prefix, path + ".upload"))
        try:
            return signature_from_upload(upload.getvalue()) if upload is not None else None
        except Exception:
            return stored
    return stored


def show_signature(signature: dict | None, caption: str) -> None:
    raw = decode_image((signature or {}).get("image_png_base64"))
    if raw:
        try:
            st.image(raw, caption=caption, width=280)
            return
        except Exception:
            pass
    st.caption(f"{caption} : {t('no_signature_image')}")


def signature_input(prefix: str, path: str, *, existing: dict | None = None) -> None:
    """Sign on the pad, or upload an image of a handwritten signature (or keep the existing one).
    The canonical value is kept in ``<prefix>:<path>.value`` for the button's callback."""
    st.markdown(bold(t("signature")))
    options = (["keep"] if existing else []) + ["drawn", "image"]
    names = {"keep": t("sign_keep"), "drawn": t("sign_drawn"), "image": t("sign_image")}
    choice = st.radio(t("signature_method"), options, key=key(prefix, path + ".choice"),
                      format_func=names.get)
    value: dict | None = None
    if choice == "keep":
        show_signature(existing, t("signature_preview"))
        value = existing
    elif choice == "drawn":
        value = _signature_pad(prefix, path)
    else:
        upload = st.file_uploader(t("signature_upload"), type=["png", "jpg", "jpeg"],
                                  key=key(prefix, path + ".upload"))
        if upload is not None:
            raw = upload.getvalue()
            value = signature_from_upload(raw)
            show_signature(value, t("signature_preview"))
    st.session_state[key(prefix, path + ".value")] = value
    st.caption(t("signature_date_note"))
    show_errors(prefix, path, nested=True)
