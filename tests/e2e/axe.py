"""axe-core, injected into the page the browser shows, for the WCAG 2.x A and AA rules (the level
the Québec standard SGQRI 008 asks for), and a check that the headings are in order.

axe-core comes from the ``axe-playwright-python`` package, which ships ``axe.min.js`` (axe-core's
own build, MPL-2.0): nothing is fetched at run time. Only its script is used; the run is ours, to
pass the tags and the exclusions below.

Exclusions: only markup that Streamlit draws and our code cannot change, each one rule on one
selector, with the reason (docs/accessibility.md lists them too). No rule is turned off for the
whole page.
"""

from __future__ import annotations

from dataclasses import dataclass

from axe_playwright_python.base import AXE_SCRIPT

# WCAG 2.0, 2.1 and 2.2, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SERIOUS = ("serious", "critical")

# (rule, CSS selector of the nodes it may fail on, why it is Streamlit's and not fixable here)
EXCLUDED: list[tuple[str, str, str]] = [
    ("list", '[data-testid="stSidebarNavItems"]',
     "Streamlit's page menu puts each section's <div> (its header and items) directly in the <ul>; "
     "the menu is built by st.navigation, whose markup no option changes."),
    ("listitem", '[data-testid="stSidebarNavItems"] li',
     "the same menu: its <li> sit in a <div> of a section, not directly in the <ul>."),
]


@dataclass
class Violation:
    rule: str
    impact: str
    help: str
    targets: list[str]

    def __str__(self) -> str:
        nodes = "\n      ".join(self.targets)
        return f"{self.rule} ({self.impact}): {self.help}\n      {nodes}"


def _excluded(rule: str, node: dict, page) -> bool:
    selectors = [sel for r, sel, _ in EXCLUDED if r == rule]
    if not selectors:
        return False
    target = node["target"][0] if node.get("target") else None
    if not isinstance(target, str):
        return False
    return bool(page.evaluate(
        "([target, selectors]) => { const el = document.querySelector(target);"
        " return !!el && selectors.some(s => el.matches(s)); }", [target, selectors]))


def serious_violations(page) -> list[Violation]:
    """The serious and critical WCAG 2.x A/AA violations axe-core finds on the page as shown,
    less the exclusions above."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    results = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS)
    found = []
    for v in results["violations"]:
        if v.get("impact") not in SERIOUS:
            continue
        nodes = [n for n in v["nodes"] if not _excluded(v["id"], n, page)]
        if nodes:
            found.append(Violation(v["id"], v["impact"], v["help"],
                                   [" ".join(map(str, n["target"])) + f"  {n['html'][:120]}" for n in nodes]))
    return found


def heading_problems(page) -> list[str]:
    """The main area's headings must form an outline: exactly one h1, and no level skipped
    on the way down (h1 → h3). Empty list when they do."""
    levels = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"] h1, [data-testid="stMain"] h2,'
                 + '[data-testid="stMain"] h3, [data-testid="stMain"] h4, [data-testid="stMain"] h5,'
                 + '[data-testid="stMain"] h6')]
                 .filter(h => h.offsetParent !== null)
                 .map(h => [Number(h.tagName[1]), h.textContent.trim().slice(0, 60)])""")
    problems = []
    h1 = [text for level, text in levels if level == 1]
    if len(h1) != 1:
        problems.append(f"{len(h1)} h1 ({h1})")
    previous = 0
    for level, text in levels:
        if level > previous + 1:
            problems.append(f"h{level} « {text} » after h{previous}")
        previous = level
    return problems


def settle(page, timeout_ms: int = 60_000) -> None:
    """Waits until the page is as its person sees it at rest: the script run over, no element
    faded as stale (Streamlit fades the previous run's elements while it reruns, which would read
    as low contrast) and no placeholder still drawn where a widget is coming."""
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
                && !document.querySelector('[data-stale="true"]')
                && !document.querySelector('[data-testid="stSkeleton"]');
        }""", timeout=timeout_ms)


def assert_accessible(page, where: str) -> None:
    """Fails with each violation's rule, help and nodes, and the headings out of order."""
    settle(page)
    violations = serious_violations(page)
    headings = heading_problems(page)
    report = [str(v) for v in violations] + [f"headings: {p}" for p in headings]
    assert not report, f"accessibility on « {where} »:\n  " + "\n  ".join(report)
