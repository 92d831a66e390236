"""Streamlit's own English texts, in the page's language where Streamlit offers no option.

Streamlit 1.67 has no translation of its widgets' texts: « Press Enter to apply » under a text
box, « No options to select. » and « No results » in the lists, the uploader's « Upload » button,
« Drag and drop a file here », « 200MB per file », its refusals (« File must be 1.0MB or
smaller. », « 1.0MB »), and the signature pad's hover toolbar (« Undo », « Reset canvas & history »...,
inside the component's shadow root, out of reach of the page's CSS). One small script, added once
per page (``st.html`` with JavaScript), watches the page and:

- removes the pad's toolbar (our own French buttons replace it: ``ui.widgets.signature``);
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
                  '[data-baseweb="popover"]'].join(', ');
  const relabel = (root) => {
    const T = window.__ramqTexts;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.nodeValue.trim();
      for (const [pattern, name] of rules) {
        if (text && pattern.test(text) && node.nodeValue !== T[name]) node.nodeValue = T[name];
      }
      const size = /^(\d+(?:\.\d+)?)\s?(B|KB|MB|GB)$/.exec(text);  // « 1.0MB » → « 1,0 Mo »
      if (size) node.nodeValue = `${size[1].replace('.', T.decimal)}\u00a0${T.units[size[2]]}`;
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
  // Streamlit's own accessibility texts: the skip link, the headings' anchors, the help buttons.
  const relabelPage = () => {
    const T = window.__ramqTexts;
    for (const el of document.querySelectorAll('[data-testid="stSkipToContent"]'))
      if (el.textContent !== T.skip_to_content) el.textContent = T.skip_to_content;
    for (const el of document.querySelectorAll('[aria-label]')) {
      const label = el.getAttribute('aria-label');
      if (label === 'Link to heading') el.setAttribute('aria-label', T.heading_link);
      else if (label === 'Help') el.setAttribute('aria-label', T.help_button);
      else if (label.startsWith('Help for '))
        el.setAttribute('aria-label', T.help_for.replace('{label}', label.slice(9)));
    }
  };
  const run = () => {
    relabelPage();
    for (const place of document.querySelectorAll(places)) relabel(place);
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


def streamlit_texts() -> None:
    """Adds the script (every run, from ``ui/app.py``; the browser keeps one observer per page)."""
    texts = {"choose": t("signature_upload_choose"), "drop": t("signature_upload_drop"),
             "too_big": t("signature_upload_too_big"), "wrong_type": t("signature_upload_wrong_type"),
             "remove": t("signature_upload_remove"),
             "enter_apply": t("press_enter_apply"), "enter_submit": t("press_enter_submit"),
             "ctrl_enter_apply": t("press_ctrl_enter_apply"), "ctrl_enter_submit": t("press_ctrl_enter_submit"),
             "no_options": t("no_options"), "no_results": t("no_results"), "choose_option": t("choose"),
             "decimal": t("decimal_separator"),
             "skip_to_content": t("skip_to_content"), "heading_link": t("heading_link"),
             "help_button": t("help_button"), "help_for": t("help_for", label="{label}"),
             "units": {"B": t("unit_bytes"), "KB": t("unit_kilobytes"), "MB": t("unit_megabytes"),
                       "GB": t("unit_gigabytes")}}
    st.html(_SCRIPT % {"texts": json.dumps(texts, ensure_ascii=False)}, unsafe_allow_javascript=True)
