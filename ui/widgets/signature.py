"""The signature: drawn on a pad, an uploaded image of a handwritten one, or a name typed with
an attestation (the keyboard path; or the one already given, on a correction), its preview, and
the canonical value the buttons' callbacks send.

The pad's own toolbar (English, shown on hover) is removed (``ui.streamlit_texts``, on every
page); « Effacer la signature » is ours, always visible: it draws a new, empty pad (a new key).
The uploader's limit is ours, 1 Mo (``models.rules.MAX_SIGNATURE_BYTES``): the browser refuses a
larger file before sending it, and the server refuses it again, both in the page's language."""

from __future__ import annotations

import base64

import streamlit as st

from models.rules import MAX_SIGNATURE_BYTES, TYPED_NAME_MAX
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
    if not raw or len(raw) > MAX_SIGNATURE_BYTES:
        return None
    return {"method": "image", "image_png_base64": base64.b64encode(raw).decode("ascii")}


def signature_from_typed(name: str | None, attested: bool) -> dict | None:
    """The canonical typed signature, or None while no name is typed; an unticked attestation
    is sent as is, so the rules name the box that is missing."""
    if not name or not name.strip():
        return None
    return {"method": "typed", "typed_name": name, "attested": bool(attested)}


def _pad_key(prefix: str, path: str) -> str:
    """The pad's widget key: « Effacer » counts up, which draws a new, empty pad."""
    return key(prefix, f"{path}.pad") + str(st.session_state.get(key(prefix, path + ".pad_round"), 0) or "")


def clear_pad(prefix: str, path: str) -> None:
    """« Effacer la signature » (a callback): a new pad, the old drawing forgotten."""
    ss = st.session_state
    old = _pad_key(prefix, path)
    ss[key(prefix, path + ".pad_round")] = ss.get(key(prefix, path + ".pad_round"), 0) + 1
    ss.pop(old, None)
    ss[key(prefix, path + ".value")] = None


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
                       key=_pad_key(prefix, path))
    st.button(t("signature_clear"), key=key(prefix, path + ".clear"), icon=":material/ink_eraser:",
              on_click=clear_pad, args=(prefix, path))
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
    state = st.session_state.get(_pad_key(prefix, path))
    try:
        drawing = state.get("drawing") or {}
        data_url = drawing.get("data")
        png = base64.b64decode(data_url.split(";base64,", 1)[1]) if data_url else None
        return signature_from_canvas(drawing.get("raw"), png)
    except Exception:
        return None


def _uploaded_signature(prefix: str, path: str) -> dict | None:
    """The uploader, its limit ours (1 Mo), stated in our caption: Streamlit's own line is hidden."""
    upload = st.file_uploader(t("signature_upload"), type=["png", "jpg", "jpeg"],
                              key=key(prefix, path + ".upload"),
                              max_upload_size=max(1, MAX_SIGNATURE_BYTES // (1024 * 1024)))
    st.caption(t("signature_upload_limit"))
    if upload is None:
        return None
    raw = upload.getvalue()
    if len(raw) > MAX_SIGNATURE_BYTES:  # the browser's check bypassed: refused here too
        st.error(t("signature_upload_too_big"), icon="⚠️")
        return None
    value = signature_from_upload(raw)
    show_signature(value, t("signature_preview"))
    return value


def _typed_signature(prefix: str, path: str) -> dict | None:
    """The keyboard path: the name typed, and the box attesting it is a signature."""
    st.caption(t("signature_typed_help"))
    name = st.text_input(t("signature_typed_name"), key=key(prefix, path + ".typed_name"),
                         max_chars=TYPED_NAME_MAX, autocomplete="name")
    attested = st.checkbox(t("signature_typed_attest"), key=key(prefix, path + ".attested"))
    value = signature_from_typed(name, attested)
    if value is not None and attested:
        show_signature(value, t("signature_preview"))
    return value


def current_signature(prefix: str, path: str) -> dict | None:
    """The canonical signature from the widgets' current state (for the buttons' callbacks)."""
    ss = st.session_state
    stored = ss.get(key(prefix, path + ".value"))
    choice = ss.get(key(prefix, path + ".choice"))
    if choice == "drawn" and _pad_key(prefix, path) in ss:
        return _pad_now(prefix, path)
    if choice == "image":
        upload = ss.get(key(prefix, path + ".upload"))
        try:
            return signature_from_upload(upload.getvalue()) if upload is not None else None
        except Exception:
            return stored
    if choice == "typed":
        return signature_from_typed(ss.get(key(prefix, path + ".typed_name")),
                                    bool(ss.get(key(prefix, path + ".attested"))))
    return stored


def show_signature(signature: dict | None, caption: str) -> None:
    typed = (signature or {}).get("typed_name")
    if (signature or {}).get("method") == "typed" and typed:
        st.caption(f"{caption} : {t('signature_typed_preview', name=typed)}")
        return
    raw = decode_image((signature or {}).get("image_png_base64"))
    if raw:
        try:
            st.image(raw, caption=caption, width=280, alt=caption)
            return
        except Exception:
            pass
    st.caption(f"{caption} : {t('no_signature_image')}")


def signature_input(prefix: str, path: str, *, existing: dict | None = None) -> None:
    """Sign on the pad, upload an image of a handwritten signature, type one's name with the
    attestation (or keep the existing one). The canonical value is kept in
    ``<prefix>:<path>.value`` for the button's callback."""
    st.markdown(bold(t("signature")))
    # A typed signature is never kept: its attestation is ticked again, on what is shown now.
    keep = existing is not None and existing.get("method") != "typed"
    options = (["keep"] if keep else []) + ["drawn", "image", "typed"]
    names = {"keep": t("sign_keep"), "drawn": t("sign_drawn"), "image": t("sign_image"),
             "typed": t("sign_typed")}
    choice = st.radio(t("signature_method"), options, key=key(prefix, path + ".choice"),
                      format_func=names.get)
    value: dict | None = None
    if choice == "keep":
        show_signature(existing, t("signature_preview"))
        value = existing
    elif choice == "drawn":
        value = _signature_pad(prefix, path)
    elif choice == "typed":
        value = _typed_signature(prefix, path)
    else:
        value = _uploaded_signature(prefix, path)
    st.session_state[key(prefix, path + ".value")] = value
    st.caption(t("signature_date_note"))
    show_errors(prefix, path, nested=True)
