"""The attack suite reuses the screens' AppTest fixture (``app``)."""

from tests.ui.conftest import app  # noqa: F401  (a fixture, offered to every attack test)
