"""Streamlit's own English texts, in the page's language where Streamlit offers no option.

Streamlit 1.67 has no translation of its widgets' texts: « Press Enter to apply » under a text
box, « No options to select. » and « No results » in the lists, the uploader's « Upload » button,
« Drag and drop a file here », « 200MB per file », its refusals (« File must be 1.0MB or
smaller. », « 1.0MB »), and the signature pad's hover toolbar (« Undo », « Reset canvas & history »...,
inside the component's shadow root, out of reach of the page's CSS). One small script, added once
per page (``st.html`` with JavaScript), watches the page and:

- removes the pad's toolbar (our own French buttons replace it: ``ui.widgets.signature``);
- rewrites the date fields and their calendar (React Aria), which speak the browser's language
  and, whatever it is, say « Choose date », « Previous month », « Selected Date: … », « Past Week »:
  dates and month and day names go through ``Intl`` in the page's language;
- names the lists' arrows, the number fields' steppers and the tables' hover toolbar;
- hides the uploader's instructions (our caption states our limit, 1 Mo) and puts our texts on
  its button and on its refusals, visible text and screen-reader name alike.

Only text nodes and attributes are changed, never React's elements, so a rerun simply redraws
Streamlit's text, which the script puts back in the page's language. Every text comes from the
catalogues (``ui.signature_upload_*``).
"""

from __future__ import annotations

import json

import streamlit as st

from ui.i18n import t

_SCRIPT = r"""
<script>
(() => {
  window.__ramqTexts = %(texts)s;
  if (window.__ramqStreamlitTexts) { window.__ramqStreamlitTexts(); return; }
  const rules = [
    [/^Upload( directories)?$/, 'choose'],
    [/^Drag and drop .* here$/, 'drop'],
    [/must be .* or smaller/, 'too_big'],
    [/files are not allowed|file type .* not allowed|not allowed/, 'wrong_type'],
    [/^Press Enter to apply$/, 'enter_apply'],
    [/^Press Enter to submit form$/, 'enter_submit'],
    [/^Press (⌘|Ctrl)\+Enter to apply$/, 'ctrl_enter_apply'],
    [/^Press (⌘|Ctrl)\+Enter to submit form$/, 'ctrl_enter_submit'],
    [/^No options to select\.$/, 'no_options'],
    [/^No results$/, 'no_results'],
    [/^Choose an option$|^Choose options$/, 'choose_option'],
  ];
  const places = ['[data-testid="stFileUploader"]', '[data-testid="InputInstructions"]',
                  '[data-testid="stSelectbox"]', '[data-testid="stMultiSelect"]',
                  '[data-baseweb="popover"]', '[data-testid="stDateInput"]',
                  '[data-testid="stDateInputCalendar"]', '#stFloatingOverlayPortal', '#portal',
                  '[data-testid="stDateInputQuickSelectPopover"]', '[id^="react-aria-description"]'].join(', ');
  // The date fields and their calendar (React Aria) speak the browser's language, and some of
  // their texts are English whatever it is: dates and names are rewritten through Intl in the
  // page's language; anything already in it matches no pattern and is left alone.
  const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
                  'September', 'October', 'November', 'December'];
  const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const M = `(${MONTHS.join('|')})`, D = `(?:(?:${DAYS.join('|')}), )?`;
  const intl = (options, date) => new Intl.DateTimeFormat(window.__ramqTexts.date_locale, options).format(date);
  const month = (name) => new Date(2026, MONTHS.indexOf(name), 1);
  // Built once per set of texts (a rerun in another language brings a new one), not per node.
  let fixedFor = null, fixedTexts = {};
  const fixedOf = (T) => {
    if (fixedFor !== T) {
      fixedFor = T;
      fixedTexts = {'Choose date': T.date_choose, 'Choose date range': T.date_choose_range,
                    'Previous month': T.date_previous_month, 'Next month': T.date_next_month,
                    'Next': T.date_next, 'Empty': T.date_empty, 'year': T.date_year,
                    'month': T.date_month, 'day': T.date_day, 'Clear date': T.date_clear,
                    'Clear dates': T.date_clear,
                    'Use arrow keys to navigate dates. Enter to select. Escape to close.': T.date_keys,
                    'Date range': T.date_quick, 'Quick select a date range': T.date_quick_choose,
                    'Select...': T.date_quick_placeholder, 'Past Week': T.date_past_week,
                    'Past Month': T.date_past_month, 'Past 3 Months': T.date_past_3_months,
                    'Past 6 Months': T.date_past_6_months, 'Past Year': T.date_past_year,
                    'Past 2 Years': T.date_past_2_years, 'Dismiss': T.date_dismiss,
                    'Click to start selecting date range': T.date_range_start_prompt,
                    'Click to finish selecting date range.': T.date_range_end_prompt};
    }
    return fixedTexts;
  };
  const RANGE = new RegExp(
    `^Selected Range: (${D}${M} \\d{1,2}(?:, \\d{4})?) to (${D}${M} \\d{1,2}, (\\d{4}))(?:, (.*))?$`);
  const LONG_DATE = new RegExp(`^${D}${M} (\\d{1,2}), (\\d{4})$`);
  const MONTH_YEAR = new RegExp(`^${M} (\\d{4})$`);
  const MONTH = new RegExp(`^${M}$`);
  const NUMBERED_MONTH = new RegExp(`^(\\d{2}) – ${M}$`);
  const dateText = (text) => {
    const T = window.__ramqTexts;
    const fixed = fixedOf(T);
    if (Object.hasOwn(fixed, text)) return fixed[text];
    let m;
    if ((m = /^Today, (.*)$/.exec(text))) return T.date_today.replace('{date}', dateText(m[1]) ?? m[1]);
    if ((m = /^(.*) selected$/.exec(text))) return T.date_day_selected.replace('{date}', dateText(m[1]) ?? m[1]);
    // « Selected Range: Tuesday, September 1 to Saturday, December 5, 2026[, the day selected] »:
    // the start has no year when it is the end's
    if ((m = RANGE.exec(text))) {
      const year = +m[5], endMonth = MONTHS.indexOf(m[4]), startMonth = MONTHS.indexOf(m[2]);
      const start = /, \d{4}$/.test(m[1]) ? m[1] : `${m[1]}, ${startMonth > endMonth ? year - 1 : year}`;
      const range = T.date_range_selected.replace('{start}', dateText(start) ?? start)
        .replace('{end}', dateText(m[3]) ?? m[3]);
      return m[6] ? `${range}, ${dateText(m[6]) ?? m[6]}` : range;
    }
    if ((m = /^Selected Date: (.*)$/.exec(text))) return T.date_selected.replace('{date}', dateText(m[1]) ?? m[1]);
    if ((m = /^(Choose date(?: range)?), (.*)$/.exec(text))) return `${fixed[m[1]]}, ${dateText(m[2]) ?? m[2]}`;
    if ((m = LONG_DATE.exec(text))) {
      const date = new Date(+m[3], MONTHS.indexOf(m[1]), +m[2]);
      return intl({weekday: /^[A-Z][a-z]+day, /.test(text) ? 'long' : undefined, day: 'numeric',
                   month: 'long', year: 'numeric'}, date);
    }
    if ((m = MONTH_YEAR.exec(text)))
      return intl({month: 'long', year: 'numeric'}, new Date(+m[2], MONTHS.indexOf(m[1]), 1));
    if ((m = MONTH.exec(text))) return intl({month: 'long'}, month(m[1]));
    if ((m = NUMBERED_MONTH.exec(text))) return `${m[1]} – ${intl({month: 'long'}, month(m[2]))}`;
    if ((m = /^(year|month|day), (.*)$/.exec(text)))
      return `${fixed[m[1]]}, ${dateText(m[2]) ?? m[2]}`;
    if ((m = /^(.*) (start|end) date$/.exec(text)))
      return T[m[2] === 'start' ? 'date_start' : 'date_end'].replace('{label}', m[1]);
    return null;
  };
  const placeholders = {year: 'date_placeholder_year', month: 'date_placeholder_month', day: 'date_placeholder_day'};
  // The calendar's weekday initials (S M T W T F S, from Sunday or another first day): the
  // rotation they show tells each column's day.
  const weekdays = (root) => {
    for (const row of root.querySelectorAll('[data-testid="stDateInputCalendar"] thead tr')) {
      const cells = [...row.querySelectorAll('th')];
      const shown = cells.map((c) => c.textContent).join('');
      const first = [0, 1, 2, 3, 4, 5, 6].find((k) => (('SMTWTFS' + 'SMTWTFS').slice(k, k + 7) === shown));
      if (first === undefined || cells.length !== 7) continue;
      cells.forEach((cell, i) => {
        const initial = intl({weekday: 'narrow'}, new Date(2026, 10, 29 + (first + i) % 7));
        if (cell.textContent !== initial) cell.textContent = initial;  // the same again would loop
      });
    }
  };
  const relabel = (root) => {
    const T = window.__ramqTexts;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.nodeValue.trim();
      for (const [pattern, name] of rules) {
        if (text && pattern.test(text) && node.nodeValue !== T[name]) node.nodeValue = T[name];
      }
      const size = /^(\d+(?:\.\d+)?)\s?(B|KB|MB|GB)$/.exec(text);  // « 1.0MB » → « 1,0 Mo »
      const sized = size && `${size[1].replace('.', T.decimal)}\u00a0${T.units[size[2]]}`;
      if (sized && node.nodeValue !== sized) node.nodeValue = sized;
      const segment = node.parentElement && node.parentElement.closest('[data-placeholder="true"][data-type]');
      const placeholder = segment && placeholders[segment.dataset.type];
      if (placeholder && /^(yyyy|mm|dd)$/.test(text)) {
        if (node.nodeValue !== T[placeholder]) node.nodeValue = T[placeholder];
        continue;
      }
      const date = text && dateText(text);
      if (date && date !== text) node.nodeValue = date;
    }
    weekdays(root);
    for (const attribute of ['aria-label', 'aria-valuetext']) {
      for (const el of root.querySelectorAll(`[${attribute}]`)) {
        const value = el.getAttribute(attribute), date = dateText(value);
        if (date && date !== value) el.setAttribute(attribute, date);
      }
    }
    for (const el of root.querySelectorAll('input[placeholder]')) {
      for (const [pattern, name] of rules) {
        const value = el.getAttribute('placeholder');
        if (pattern.test(value) && value !== T[name]) el.setAttribute('placeholder', T[name]);
      }
    }
    for (const el of root.querySelectorAll('[aria-label]')) {
      const label = el.getAttribute('aria-label');
      if (label === 'Add files') el.setAttribute('aria-label', T.choose);
      if (/^Delete|^Remove/.test(label)) el.setAttribute('aria-label', T.remove);
    }
    for (const button of root.querySelectorAll('button')) {
      if (!button.getAttribute('aria-label') && /^Upload/.test(button.textContent.replace(/^upload/, '').trim()))
        button.setAttribute('aria-label', T.choose);
    }
  };
  const toolbar = {'Download as CSV': 'toolbar_download_csv', 'Fullscreen': 'toolbar_fullscreen',
                   'Close fullscreen': 'toolbar_close_fullscreen', 'Search': 'toolbar_search',
                   'Show/hide columns': 'toolbar_columns', 'Show data': 'toolbar_show_data',
                   'Show chart': 'toolbar_show_chart', 'Download as PNG': 'toolbar_download_png',
                   'Copy Vega-Lite spec': 'toolbar_copy_spec', 'Copied!': 'toolbar_copied'};
  // The page's own name for one of Streamlit's English aria-labels, or undefined.
  const fixedLabels = {'Link to heading': 'heading_link', 'Help': 'help_button',
                       'Show password': 'password_show', 'Hide password': 'password_hide'};
  const pageLabel = (el, label, T) => {
    if (Object.hasOwn(fixedLabels, label)) return T[fixedLabels[label]];
    if (label.startsWith('Help for ')) return T.help_for.replace('{label}', label.slice(9));
    if (label.startsWith('Fullscreen: '))  // an image's button, named after its caption
      return T.image_fullscreen.replace('{label}', label.slice(12));
    if (el.getAttribute('aria-haspopup') === 'listbox' && (label === 'Open' || label === 'Close'))
      return label === 'Open' ? T.list_open : T.list_close;  // a list's arrow
    if (Object.hasOwn(toolbar, label) && el.closest('[data-testid="stElementToolbar"]'))
      return T[toolbar[label]];  // a table's or a chart's buttons, shown on hover
    if ((label === 'Decrement' || label === 'Increment') && el.closest('[data-testid="stNumberInput"]'))
      return label === 'Decrement' ? T.number_decrement : T.number_increment;
    return undefined;
  };
  // Streamlit's own accessibility texts: the skip link, the headings' anchors, the help buttons.
  const relabelPage = () => {
    const T = window.__ramqTexts;
    for (const el of document.querySelectorAll('[data-testid="stSkipToContent"]'))
      if (el.textContent !== T.skip_to_content) el.textContent = T.skip_to_content;
    for (const el of document.querySelectorAll('[aria-label]')) {
      const label = el.getAttribute('aria-label');
      const named = pageLabel(el, label, T);
      // Never the same text again: in English most names are already ours, and each write
      // would wake the observer for another.
      if (named !== undefined && named !== label) el.setAttribute('aria-label', named);
    }
  };
  const run = () => {
    relabelPage();
    // A place inside another (the calendar in the overlay's portal) is walked with it, once.
    for (const place of document.querySelectorAll(places))
      if (!place.parentElement || !place.parentElement.closest(places)) relabel(place);
    for (const host of document.querySelectorAll('*')) {
      const root = host.shadowRoot;
      if (!root) continue;
      if (!watched.has(root)) { watched.add(root); observer.observe(root, options); }
      // the pad's English toolbar: our own buttons replace it
      for (const bar of root.querySelectorAll('.dc-toolbar')) bar.remove();
    }
  };
  // A component attaches its shadow root without a mutation the page can see: after each
  // change, look again for ten seconds.
  let pending = false, timer = null, looks = 0;
  const poll = () => {
    looks = 0;
    if (!timer) timer = setInterval(() => { run(); if (++looks > 20) { clearInterval(timer); timer = null; } }, 500);
  };
  const later = () => {
    poll();
    if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; run(); }); }
  };
  const watched = new WeakSet();
  const options = {subtree: true, childList: true, characterData: true};
  const observer = new MutationObserver(later);
  window.__ramqStreamlitTexts = later;
  observer.observe(document.body, options);
  later();
})();
</script>
<style>
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
</style>
"""


# Texts the script takes as they are, under their own names.
_PLAIN_KEYS = ("date_locale", "date_choose", "date_choose_range", "date_previous_month",
               "date_next_month", "date_next", "date_year", "date_month", "date_day", "date_empty",
               "date_placeholder_year", "date_placeholder_month", "date_placeholder_day", "date_keys", "date_clear",
               "list_open", "list_close", "number_decrement", "number_increment", "date_quick",
               "date_quick_choose", "date_quick_placeholder", "date_past_week", "date_past_month",
               "date_past_3_months", "date_past_6_months", "date_past_year", "date_past_2_years",
               "date_dismiss", "date_range_start_prompt", "date_range_end_prompt", "toolbar_download_csv",
               "toolbar_fullscreen", "toolbar_close_fullscreen", "toolbar_search", "toolbar_columns",
               "toolbar_show_data", "toolbar_show_chart", "toolbar_download_png", "toolbar_copy_spec",
               "toolbar_copied")


def script_texts() -> dict:
    """The texts the script puts in the page, in the session's language."""
    return {"choose": t("signature_upload_choose"), "drop": t("signature_upload_drop"),
             "too_big": t("signature_upload_too_big"), "wrong_type": t("signature_upload_wrong_type"),
             "remove": t("signature_upload_remove"),
             "enter_apply": t("press_enter_apply"), "enter_submit": t("press_enter_submit"),
             "ctrl_enter_apply": t("press_ctrl_enter_apply"), "ctrl_enter_submit": t("press_ctrl_enter_submit"),
             "no_options": t("no_options"), "no_results": t("no_results"), "choose_option": t("choose"),
             "decimal": t("decimal_separator"),
             "skip_to_content": t("skip_to_content"), "heading_link": t("heading_link"),
             "help_button": t("help_button"), "help_for": t("help_for", label="{label}"),
             "image_fullscreen": t("image_fullscreen", label="{label}"),
             "password_show": t("password_show"), "password_hide": t("password_hide"),
             **{key: t(key) for key in _PLAIN_KEYS},
             "date_today": t("date_today", date="{date}"), "date_selected": t("date_selected", date="{date}"),
             "date_start": t("date_start", label="{label}"), "date_end": t("date_end", label="{label}"),
             "date_day_selected": t("date_day_selected", date="{date}"),
             "date_range_selected": t("date_range_selected", start="{start}", end="{end}"),
             "units": {"B": t("unit_bytes"), "KB": t("unit_kilobytes"), "MB": t("unit_megabytes"),
                       "GB": t("unit_gigabytes")}}


def script() -> str:
    """The script and its style, ready for ``st.html``."""
    return _SCRIPT.replace("%(texts)s", json.dumps(script_texts(), ensure_ascii=False))


def streamlit_texts() -> None:
    """Adds the script (every run, from ``ui/app.py``; the browser keeps one observer per page)."""
    st.html(script(), unsafe_allow_javascript=True)
