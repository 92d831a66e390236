"""The English texts of Streamlit and of its components that must never show on a French screen,
and the look for them: the visible text and what screen readers read (aria-label, placeholder,
title, alt, descriptions, components' shadow roots). Used by the French-screens test and by the
every-screen journey (each screen it audits)."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

# Streamlit's (and the signature pad's) own English texts, as whole words or phrases.
ENGLISH = [
    "Drag and drop", "Browse files", "Upload", "Limit", "per file", "Undo", "Redo", "Reset canvas",
    "Update the app", "Send to Streamlit", "Press Enter", "Choose an option", "No options", "No results",
    "Select all", "Clear all", "Clear value", "Deploy", "Rerun", "Settings", "Record a screencast",
    "Print", "Show password", "Hide password", "Delete", "Remove", "Decrement", "Increment",
    "yyyy", "YYYY", "mm/dd", "Download", "Fullscreen", "Close", "Open", "Edit", "Bring forward",
    "Send backward", "Delete selected", "must be", "or smaller", "not allowed", "Running", "Stop",
    "KB", "MB", "GB", "Skip to main content", "Link to heading", "Help for", "Help",
    # the date fields and their calendar
    "Choose date", "Previous month", "Next month", "Selected Date", "Use arrow keys", "Clear date",
    "Today", "Empty", "start date", "end date", "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December", "Sunday", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday", "Quick select", "Past", "Dismiss", "Click to",
    "Select...", "Date range", "selected",
]
ENGLISH_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w in ENGLISH) + r")\b")
# Texts screen readers read besides the visible text, in the page and inside components' shadow roots.
READ_ALOUD = """() => {
    const out = [];
    const walk = (root) => {
        for (const el of root.querySelectorAll('*')) {
            for (const a of ['aria-label', 'placeholder', 'title', 'alt', 'aria-description']) {
                const v = el.getAttribute(a);
                if (v) out.push(`${a}=${v}`);
            }
            for (const id of (el.getAttribute('aria-describedby') || '').split(' ').filter(Boolean)) {
                const described = (root.getElementById ? root : document).getElementById(id);
                if (described) out.push(`aria-describedby=${described.textContent}`);
            }
            if (el.shadowRoot) { out.push(el.shadowRoot.textContent || ''); walk(el.shadowRoot); }
        }
    };
    walk(document);
    return out;
}"""


def english_on(page: Page, settle: float = 10.0) -> list[str]:
    """Every English word of the list found on the page: visible text, then what is read aloud.
    Streamlit draws a page in steps and the script rewrites each step on the next frame, so the
    page is looked at again until nothing English is left, for ``settle`` seconds at most."""
    expect(page.locator('[data-stale="true"]')).to_have_count(0)
    deadline = time.monotonic() + settle
    while True:
        found = [f"text: {m}" for m in ENGLISH_RE.findall(page.inner_text("body"))]
        for text in page.evaluate(READ_ALOUD):
            found += [f"{text[:60]!r}: {m}" for m in ENGLISH_RE.findall(text)]
        if not found or time.monotonic() > deadline:
            return found
        page.wait_for_timeout(250)  # the next look
