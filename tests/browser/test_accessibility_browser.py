"""axe-core on the key pages, in light and dark mode, on a desktop and at phone width (390×844):
zero serious or critical violations, and no page wider than the phone's screen."""

from __future__ import annotations

import pytest

from .tour import AXE, STOPS, axe_violations, build_world, log_in, overflow, settle

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
