"""Form widgets shared by the screens, one module per concern:

- ``keys``: the widgets' keys and the canonical paths they stand for;
- ``errors``: the rules' errors, each under its field and summed up near the button;
- ``fields``: one labelled field with its errors (text, choice, commitments, phone row);
- ``signature``: the signature (pad or image) and its preview;
- ``request_form``: the request form (sections 1, 2, 5, the authorizer, the user's signature);
- ``authorization_form``: section 3 (the authorizer's part);
- ``summary``: the read-only summary of a request.

Every widget has a key ``"<prefix>:<path>"`` where ``path`` is the canonical request's path
(``user.email``, ``authorization.role``...), the same path a ``FieldError`` names: what was typed
stays on an error, and each error shows under its own field. The page builds the canonical
request from these keys and hands it to ``flows.api``; the rules live in ``models.rules``.
"""
