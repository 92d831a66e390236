"""The workflow: the access-request flow, its steps, the human-step API and the sweeper.

Importing this package points Prefect at the product's own server (settings) unless the
environment already says otherwise; it must happen before Prefect is first imported.
"""

import os as _os

from models.settings import load_settings_or_exit as _load_settings_or_exit


def _prefect_defaults() -> None:
    # Unsafe production settings stop every entry point here (CLI, runner, flow runs) with one
    # line that never repeats a secret.
    settings = _load_settings_or_exit()
    _os.environ.setdefault("PREFECT_API_URL", settings.prefect_api_url)
    _os.environ.setdefault("PREFECT_HOME", str(settings.var_dir / "prefect"))
    _os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    _os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", str(settings.var_dir / "prefect" / "storage"))
    # The Prefect server requires authentication: the setting, else the string `make run` keeps.
    if "PREFECT_API_AUTH_STRING" not in _os.environ:
        auth = settings.prefect_auth_string
        if not auth:
            try:
                auth = (settings.var_dir / "prefect-auth").read_text().strip()
            except OSError:
                auth = ""
        if auth:
            _os.environ["PREFECT_API_AUTH_STRING"] = auth


_prefect_defaults()
