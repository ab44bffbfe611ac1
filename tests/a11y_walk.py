"""Measuring a page in real Chromium the way WCAG 2.2 AA asks: axe-core's rules, the phone's width
and the size of every target. Used by tests/test_accessibility_browser.py.

axe-core is pinned in package.json (a dev dependency) and read from node_modules, never served by
the app. It is evaluated into the page through the DevTools protocol (``page.evaluate``), which the
page's Content-Security-Policy does not apply to: the real, strict policy stays on for the walk, so
it also proves no page needs an exception (``bypass_csp=True`` would have hidden that).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import expect

from tests.browser import ROOT

AXE_PATH = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 360, "height": 780}
DESKTOP = {"width": 1366, "height": 900}

_axe_source: str | None = None


def axe_source() -> str:
    global _axe_source
    if _axe_source is None:
        if not AXE_PATH.exists():
            raise AssertionError(f"{AXE_PATH} is missing: scripts/bootstrap test runs npm ci")
        _axe_source = AXE_PATH.read_text()
    return _axe_source


RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                          resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact,
    nodes: v.nodes.map(n => n.target.join(" ") + " :: " + (n.failureSummary || "").split("\\n")[1])
  }));
}"""

# Every link, button and form control a person can see. Inline links inside a sentence are the
# exception WCAG 2.5.8 makes ("the target is in a sentence"); so are the map's copyright links.
MEASURE_TARGETS = """() => {
  const inSentence = (el) => el.tagName === "A" && [...el.parentElement.childNodes].some(
    n => n !== el && n.nodeType === 3 && n.textContent.trim() !== "");
  const out = [];
  for (const el of document.querySelectorAll("a[href], button, input, select, textarea, summary")) {
    if (el.type === "hidden" || el.closest(".leaflet-control-attribution")) continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === "hidden") continue;
    if (inSentence(el)) continue;
    // Primary actions: the .button ones, submit buttons and the text fields of a form.
    const primary = el.classList.contains("button") || el.type === "submit" ||
      el.matches("select, textarea, input:not([type=radio]):not([type=checkbox])");
    const label = (el.id ? "#" + el.id : el.tagName.toLowerCase()) + " '" +
      (el.textContent || el.value || el.name || "").trim().slice(0, 30) + "'";
    out.push({label, width: Math.round(box.width), height: Math.round(box.height), primary});
  }
  return out;
}"""


# The outermost elements that stick out past the right edge: where an overflow starts.
WIDEST = """(limit) => [...document.body.querySelectorAll("*")].filter(el =>
    el.getBoundingClientRect().right > limit + 1 && el.parentElement.getBoundingClientRect().right <= limit + 1
  ).slice(0, 3).map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : ""))"""


@dataclass
class Findings:
    """What the walk found, by page and width: axe violations, overflow, small targets."""

    axe: list[str] = field(default_factory=list)
    width: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def report(self) -> str:
        parts = []
        for name, items in (("axe", self.axe), ("width", self.width), ("targets", self.targets)):
            if items:
                parts.append(f"{name}: {len(items)}\n  " + "\n  ".join(items))
        return "\n".join(parts)


def settle(page) -> None:
    """Wait until the page's own htmx loads (the account chip, device lists) have landed."""
    expect(page.locator("[hx-trigger='load']")).to_have_count(0)
    expect(page.locator(".htmx-request")).to_have_count(0)


def run_axe(page) -> list[dict]:
    if not page.evaluate("() => Boolean(window.axe)"):
        page.evaluate(axe_source())
    return page.evaluate(RUN_AXE, WCAG_TAGS)


def measure(page, where: str, found: Findings, *, widths=(PHONE, DESKTOP)) -> None:
    """Run axe at each width; at phone width also check the page fits and every target's size."""
    settle(page)
    for viewport in widths:
        page.set_viewport_size(viewport)
        label = f"{where} @{viewport['width']}"
        found.checked.append(label)
        for violation in run_axe(page):
            nodes = "; ".join(violation["nodes"][:3])
            found.axe.append(f"{label}: {violation['id']} ({violation['impact']}) {nodes}")
        if viewport["width"] == PHONE["width"]:
            scroll = page.evaluate("() => document.documentElement.scrollWidth")
            if scroll > PHONE["width"]:
                culprits = page.evaluate(WIDEST, PHONE["width"])
                found.width.append(f"{label}: {scroll} px wide, from {culprits}")
            for target in page.evaluate(MEASURE_TARGETS):
                least = 44 if target["primary"] else 24
                # 44 px for primary actions is about height: full-width buttons and fields are wide.
                if target["height"] < least or target["width"] < 24:
                    found.targets.append(
                        f"{label}: {target['label']} {target['width']}x{target['height']} "
                        f"(needs {least})"
                    )
    page.set_viewport_size(PHONE)
