"""The screens: one Streamlit page script per page, run by the navigation that ``ui/app.py``
builds (they are scripts, never imported). A screen reads through ``models.queries``, acts
through ``flows.api`` and draws with ``ui.widgets``; it holds no business rule.

(Not named ``pages``: Streamlit treats a ``pages`` folder next to the entry script as the old
automatic navigation, which would list every file in it for anyone on a server's first run.)
"""
