"""axe-core on the key pages, in light and dark mode, on a desktop and at phone width (390×844):
zero serious or critical violations, and no page wider than the phone's screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .tour import AXE, LEARNER, STOPS, axe_violations, build_world, log_in, overflow, settle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_key_pages_pass_axe_and_fit_the_screen(live_server, browser, tmp_path, device, scheme):
    world = build_world(tmp_path)
    problems: list[str] = []
    for account in {stop.account for stop in STOPS}:
        context = browser.new_context(viewport=VIEWPORTS[device], color_scheme=scheme)
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        log_in(page, live_server.url, account)
        for stop in (stop for stop in STOPS if stop.account == account):
            stop.visit(page, live_server.url, world)
            settle(page)
            problems += [f"{stop.name}: {line}" for line in axe_violations(page)]
            if device == "phone" and (wider := overflow(page)):
                problems.append(f"{stop.name}: {wider}")
        context.close()
    assert not problems, "\n".join(problems)


FOCUS_CHECK = """() => {
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    const style = getComputedStyle(element);
    const box = element.getBoundingClientRect();
    // Focus on a date field's own picker button leaves the field itself not :focus; that
    // button's ring comes from site.css (::-webkit-calendar-picker-indicator:focus).
    const picker = element.type === "date" && !element.matches(":focus");
    const ring = picker || (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
        || style.boxShadow !== "none";
    const name = element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
        + " " + (element.textContent || element.value || "").trim().slice(0, 30);
    return {name, ring, visible: box.width > 0 && box.height > 0};
}"""


def test_the_keyboard_reaches_every_control_with_a_visible_focus_ring(
    live_server, browser, tmp_path
):
    world = build_world(tmp_path)
    problems: list[str] = []
    for account in {stop.account for stop in STOPS}:
        context = browser.new_context(viewport=VIEWPORTS["desktop"])
        page = context.new_page()
        log_in(page, live_server.url, account)
        for stop in (stop for stop in STOPS if stop.account == account):
            stop.visit(page, live_server.url, world)
            settle(page)
            page.evaluate("document.activeElement && document.activeElement.blur()")
            seen = []
            for _ in range(25):
                page.keyboard.press("Tab")
                focused = page.evaluate(FOCUS_CHECK)
                if focused is None:
                    break
                seen.append(focused["name"])
                if not (focused["ring"] and focused["visible"]):
                    problems.append(f"{stop.name}: {focused['name']!r} has no visible focus")
            if len(set(seen)) < min(len(seen), 3):
                problems.append(f"{stop.name}: focus is stuck on {seen[-1]!r}")
        context.close()
    assert not problems, "\n".join(problems)


LAYOUT_SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__shifts.push(entry.value);
}).observe({type: "layout-shift", buffered: true});
"""


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_answering_cards_does_not_shift_the_page_when_htmx_swaps(
    live_server, browser, tmp_path, device
):
    """Cumulative layout shift over three answer → feedback → next cycles, counting shifts
    right after input too (browsers leave those out of CLS): under 0.1, the "good" bar."""
    build_world(tmp_path)
    context = browser.new_context(viewport=VIEWPORTS[device])
    context.add_init_script(LAYOUT_SHIFTS)
    page = context.new_page()
    log_in(page, live_server.url, LEARNER)
    page.goto(live_server.url + "/review/")
    card = page.locator("#review-card")
    for _ in range(3):
        expect(card).to_have_attribute("data-mode", "question")
        card.locator('input[name="choice"]').first.check()
        page.keyboard.press("Enter")
        expect(card).to_have_attribute("data-mode", "feedback")
        page.keyboard.press("Space")
    expect(card).to_have_attribute("data-mode", "question")
    settle(page)
    shift = page.evaluate("window.__shifts.reduce((sum, value) => sum + value, 0)")
    context.close()
    assert shift < 0.1, f"cumulative layout shift {shift:.3f}"
